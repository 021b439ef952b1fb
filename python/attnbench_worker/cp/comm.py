"""Communication steps of a plan: real (torch.distributed, one process per rank) or virtual (every
rank in one process, messages as device copies).

Both return a Pending from start(); the executor drives `yield from pending.wait_gen()` at the
step's `wait` (or at once for a step without a handle). Received buffers enter the rank's store
only when the wait completes, so a plan that reads one too early fails loudly.

Real mode, per step kind (shapes per buffer part, see logic.py):
  p2p             dist.batch_isend_irecv over the default group, every part its own op, as bytes
  all_to_all      per part: all_to_all_single over flattened bytes, uneven splits
                  [send chunk for member 0 | 1 | ...] -> [recv chunk from member 0 | 1 | ...]
  all_gather      per part: all_gather_into_tensor -> [n * T, ...] (gloo: all_gather into views)
  reduce_scatter  per part (gradients only): reduce_scatter_tensor [n * T, ...] -> [T, ...]
                  (gloo has no reduce-scatter: all_reduce of the whole input, then this rank's chunk)
torch orders a group's members by global rank; a plan's group lists them in its own order (ring
order, say), so chunks are permuted in and out (logic.torch_group_order).
On CUDA the collectives are issued from a dedicated communication stream that first waits for the
compute stream (their inputs are ready); `wait` makes the compute stream wait for them, so compute
placed between start and wait overlaps with the transfer.
"""

import torch

from .buffers import alloc, clone_buf
from .logic import GRAD_TENSORS, PlanError, buffer_heads, buffer_tokens, parts_of, torch_group_order
from .manifest import all_groups


def _bytes(t):
    return t.contiguous().view(torch.uint8).reshape(-1)


def _gather_dim(in_desc, out_desc, sizes, where):
    """All-gather concatenates tokens (usual; shards may differ in size) or heads (equal shards);
    which one follows from the descriptors. sizes: tokens of each member's input, plan order."""
    n = len(sizes)
    if buffer_tokens(out_desc) == sum(sizes) and buffer_heads(out_desc) == buffer_heads(in_desc):
        return 0
    if len(set(sizes)) == 1 and buffer_heads(out_desc) == n * buffer_heads(in_desc) and buffer_tokens(out_desc) == sizes[0]:
        return 1
    raise PlanError(f"{where}: all_gather output {out_desc['tokens']} x heads {out_desc['heads']} is not the concatenation of the inputs")


def _cat_chunks(chunks, dim, order):
    """Concatenate chunks (listed in torch order) in plan order along dim (0 tokens, 1 heads)."""
    return torch.cat([chunks[i] for i in order], dim).contiguous()


class Pending:
    """A started communication step: `wait_gen` completes it (a generator that may yield while it
    waits for other virtual ranks) and puts the received buffers into the store."""

    def __init__(self, works=(), finish=None, ready=None):
        self.works = list(works)
        self.finish = finish
        self.ready = ready or (lambda: True)
        self.done = False

    def wait_gen(self):
        while not self.ready():
            yield
        for w in self.works:
            w.wait()
        if self.finish is not None:
            self.finish()
        self.done = True


class DistComm:
    """torch.distributed communication for one rank (this process)."""

    def __init__(self, backend, device):
        import torch.distributed as dist

        self.dist = dist
        self.rank = dist.get_rank()
        self.world = dist.get_world_size()
        self.gloo = backend == "gloo"
        self.device = device
        self.stream = torch.cuda.Stream(device=device) if device.type == "cuda" else None
        self.pgs = {}

    def prepare_groups(self, doc):
        """Create every group of the manifest (all ranks, same order; cached across manifests)."""
        for g in all_groups(doc):
            if g in self.pgs:
                continue
            self.pgs[g] = None if len(g) == self.world else self.dist.new_group(list(g))

    def _pg(self, group):
        key, perm = torch_group_order(group)
        if key not in self.pgs:
            raise PlanError(f"group {list(group)} was not created (not in the manifest)")
        return self.pgs[key], key, perm

    def _issue(self, fn):
        """Run fn() (which issues async collectives and returns works) on the comm stream."""
        if self.stream is None:
            return fn()
        self.stream.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(self.stream):
            return fn()

    def start(self, ex, step):
        k = step["kind"]
        return getattr(self, "_" + k)(ex, step)

    def _p2p(self, ex, step):
        dist = self.dist
        ops, recvs = [], []
        for op in step["ops"]:
            if op["peer"] == self.rank:
                raise PlanError(f"p2p with itself (rank {self.rank})")
            if op["op"] == "send":
                b = ex.get(op["buf"])
                for p in parts_of(ex.desc(op["buf"])["tensor"]):
                    ops.append(dist.P2POp(dist.isend, _bytes(b[p]), op["peer"]))
            else:
                b = ex.alloc(op["buf"])
                for p in parts_of(ex.desc(op["buf"])["tensor"]):
                    ops.append(dist.P2POp(dist.irecv, b[p].view(torch.uint8).reshape(-1), op["peer"]))
                recvs.append((op["buf"], b))
        works = self._issue(lambda: dist.batch_isend_irecv(ops)) if ops else []
        keep = [o.tensor for o in ops]

        def finish():
            keep.clear()
            for name, b in recvs:
                ex.put(name, b)

        return Pending(works, finish)

    def _all_to_all(self, ex, step):
        pg, key, perm = self._pg(step["group"])
        n = len(key)
        if len(step["send"]) != n or len(step["recv"]) != n:
            raise PlanError(f"all_to_all over {n} ranks needs {n} send and {n} recv buffers")
        sends = [ex.get(nm) for nm in step["send"]]
        recvs = [ex.alloc(nm) for nm in step["recv"]]
        tensor = ex.desc(step["send"][0])["tensor"]
        works, outs, keep = [], [], []
        for p in parts_of(tensor):
            ins = [_bytes(sends[perm[t]][p]) for t in range(n)]
            inp = torch.cat(ins)
            out = torch.empty(sum(recvs[perm[t]][p].numel() * recvs[perm[t]][p].element_size() for t in range(n)),
                              dtype=torch.uint8, device=inp.device)
            in_splits = [x.numel() for x in ins]
            out_splits = [recvs[perm[t]][p].numel() * recvs[perm[t]][p].element_size() for t in range(n)]
            keep += [inp, out]
            outs.append((p, out, out_splits))
            works.append(self._issue(lambda o=out, i=inp, os_=out_splits, is_=in_splits: self.dist.all_to_all_single(
                o, i, os_, is_, group=pg, async_op=True)))

        def finish():
            for p, out, splits in outs:
                off = 0
                for t in range(n):
                    b = recvs[perm[t]]
                    b[p] = out[off:off + splits[t]].view(b[p].dtype).reshape(b[p].shape)
                    off += splits[t]
            for nm, b in zip(step["recv"], recvs):
                ex.put(nm, b)
            keep.clear()

        return Pending(works, finish)

    def _all_gather(self, ex, step):
        pg, key, perm = self._pg(step["group"])
        n = len(key)
        group = list(step["group"])
        ind, outd = ex.desc(step["input"]), ex.desc(step["output"])
        sizes = [buffer_tokens(ex.peer_desc(r, step["input"])) for r in group]  # plan order
        dim = _gather_dim(ind, outd, sizes, f"rank {self.rank} all_gather")
        src = ex.get(step["input"])
        inv = [perm.index(c) for c in range(n)]  # plan position c -> torch rank
        t_max = max(sizes)
        works, gathered = [], []
        for p in parts_of(ind["tensor"]):
            s = src[p].contiguous()
            if s.shape[0] < t_max:  # uneven shards: pad to the largest, cut after
                s = torch.cat([s, s.new_zeros((t_max - s.shape[0],) + tuple(s.shape[1:]))], 0)
            buf = torch.empty((n,) + tuple(s.shape), dtype=s.dtype, device=s.device)
            if self.gloo:
                lst = [buf[t].view(torch.uint8) for t in range(n)]
                works.append(self._issue(lambda l=lst, x=s: self.dist.all_gather(l, x.view(torch.uint8), group=pg, async_op=True)))
            else:
                works.append(self._issue(lambda b=buf, x=s: self.dist.all_gather_into_tensor(
                    b.view(torch.uint8).reshape(-1), x.view(torch.uint8).reshape(-1), group=pg, async_op=True)))
            gathered.append((p, buf, s))

        def finish():
            out = {}
            for p, buf, _ in gathered:
                if dim == 0 and inv == list(range(n)) and len(set(sizes)) == 1:
                    out[p] = buf.reshape((n * buf.shape[1],) + tuple(buf.shape[2:]))
                else:
                    out[p] = _cat_chunks([buf[inv[c]][:sizes[c]] for c in range(n)], dim, range(n))
            gathered.clear()
            ex.put(step["output"], out)

        return Pending(works, finish)

    def _reduce_scatter(self, ex, step):
        pg, key, perm = self._pg(step["group"])
        n = len(key)
        group = list(step["group"])
        ind = ex.desc(step["input"])
        sizes = _scatter_sizes(ex, step, n)  # plan order
        src = ex.get(step["input"])
        me = key.index(self.rank)
        t_max = max(sizes)
        out = ex.alloc(step["output"])
        offs = [sum(sizes[:c]) for c in range(n)]
        works, posts = [], []
        for p in parts_of(ind["tensor"]):
            x = src[p]
            chunks = [x[offs[c]:offs[c] + sizes[c]] for c in range(n)]
            padded = [ch if ch.shape[0] == t_max else torch.cat([ch, ch.new_zeros((t_max - ch.shape[0],) + tuple(ch.shape[1:]))], 0)
                      for ch in chunks]
            x = torch.cat([padded[perm[t]] for t in range(n)], 0).contiguous()
            if self.gloo:
                works.append(self._issue(lambda x=x: self.dist.all_reduce(x, group=pg, async_op=True)))
                posts.append((p, x, None))
            else:
                o = torch.empty((t_max,) + tuple(x.shape[1:]), dtype=x.dtype, device=x.device)
                works.append(self._issue(lambda o=o, x=x: self.dist.reduce_scatter_tensor(o, x, group=pg, async_op=True)))
                posts.append((p, x, o))

        def finish():
            mine = sizes[group.index(self.rank)]
            for p, x, o in posts:
                res = x.chunk(n, 0)[me] if o is None else o
                out[p].copy_(res[:mine])
            posts.clear()
            ex.put(step["output"], out)

        return Pending(works, finish)


def _scatter_sizes(ex, step, n):
    """Tokens each member's reduce-scatter output holds (plan order); they add up to the input."""
    ind = ex.desc(step["input"])
    if ind["tensor"] not in GRAD_TENSORS:
        raise PlanError(f"reduce_scatter of a {ind['tensor']!r} buffer: only gradients are summed")
    sizes = [buffer_tokens(ex.peer_desc(r, step["output"])) for r in step["group"]]
    if sum(sizes) != buffer_tokens(ind):
        raise PlanError(f"reduce_scatter input holds {buffer_tokens(ind)} tokens, not the {sum(sizes)} of the members' outputs")
    return sizes


class VirtualHub:
    """Shared state of the virtual ranks of one process: mailboxes and collective rendezvous."""

    def __init__(self):
        self.mail = {}  # (src, dst) -> {seq: buffer}
        self.sent = {}  # (src, dst) -> next send seq
        self.tickets = {}  # (src, dst) -> next recv seq
        self.colls = {}  # (group key, seq) -> dict
        self.coll_seq = {}  # (rank, group key) -> next seq
        self.progress = 0
        self.copy_bytes = 0

    def bump(self):
        self.progress += 1


class VirtualComm:
    """Communication of one virtual rank: sends are device copies posted at once, receives and
    collectives complete when the partners have reached them."""

    def __init__(self, hub, rank):
        self.hub = hub
        self.rank = rank

    def start(self, ex, step):
        return getattr(self, "_" + step["kind"])(ex, step)

    def _p2p(self, ex, step):
        hub = self.hub
        recvs = []
        for op in step["ops"]:
            if op["op"] == "send":
                key = (self.rank, op["peer"])
                seq = hub.sent.get(key, 0)
                hub.sent[key] = seq + 1
                b = clone_buf(ex.get(op["buf"]))
                hub.copy_bytes += sum(t.numel() * t.element_size() for t in b.values())
                hub.mail.setdefault(key, {})[seq] = b
                hub.bump()
            else:
                key = (op["peer"], self.rank)
                seq = hub.tickets.get(key, 0)
                hub.tickets[key] = seq + 1
                recvs.append((op["buf"], key, seq))

        def ready():
            return all(seq in hub.mail.get(key, {}) for _, key, seq in recvs)

        def finish():
            for name, key, seq in recvs:
                b = hub.mail[key].pop(seq)
                d = ex.desc(name)
                want = alloc(d, ex.dts, ex.head_dim, "meta")
                for p, t in b.items():
                    if p not in want or tuple(want[p].shape) != tuple(t.shape):
                        raise PlanError(f"rank {self.rank} receives {name!r} {tuple(want[p].shape) if p in want else p} "
                                        f"but rank {key[0]} sent {tuple(t.shape)}")
                ex.put(name, b)
            hub.bump()

        return Pending((), finish, ready)

    def _collective(self, ex, step, contribution, compute):
        """Rendezvous: post this rank's contribution; when the last member arrives, compute(all)
        returns {rank: {name: buffer}} for every member."""
        hub = self.hub
        key, _ = torch_group_order(step["group"])
        seq = hub.coll_seq.get((self.rank, key), 0)
        hub.coll_seq[(self.rank, key)] = seq + 1
        slot = hub.colls.setdefault((key, seq), {"kind": step["kind"], "posts": {}, "results": None})
        if slot["kind"] != step["kind"]:
            raise PlanError(f"ranks of group {list(key)} disagree at collective #{seq}: {slot['kind']} vs {step['kind']}")
        slot["posts"][self.rank] = (list(step["group"]), contribution)
        hub.bump()
        if len(slot["posts"]) == len(key):
            groups = {tuple(g) for g, _ in slot["posts"].values()}
            if len(groups) != 1:
                raise PlanError(f"ranks list group {list(key)} in different orders at one {step['kind']}")
            slot["results"] = compute(list(step["group"]), {r: c for r, (_, c) in slot["posts"].items()})
            hub.bump()

        def ready():
            return slot["results"] is not None

        def finish():
            for name, b in slot["results"].pop(self.rank).items():
                ex.put(name, b)
            if not slot["results"]:
                hub.colls.pop((key, seq), None)
            hub.bump()

        return Pending((), finish, ready)

    def _all_to_all(self, ex, step):
        n = len(step["group"])
        if len(step["send"]) != n or len(step["recv"]) != n:
            raise PlanError(f"all_to_all over {n} ranks needs {n} send and {n} recv buffers")
        contrib = ([ex.get(nm) for nm in step["send"]], list(step["recv"]))

        def compute(group, posts):
            res = {}
            for c, r in enumerate(group):
                names = posts[r][1]
                res[r] = {names[j]: clone_buf(posts[src][0][c]) for j, src in enumerate(group)}
                self.hub.copy_bytes += sum(sum(t.numel() * t.element_size() for t in b.values()) for b in res[r].values())
            return res

        return self._collective(ex, step, contrib, compute)

    def _all_gather(self, ex, step):
        n = len(step["group"])
        ind, outd = ex.desc(step["input"]), ex.desc(step["output"])
        sizes = [buffer_tokens(ex.peer_desc(r, step["input"])) for r in step["group"]]
        dim = _gather_dim(ind, outd, sizes, f"rank {self.rank} all_gather")
        contrib = (ex.get(step["input"]), step["output"])

        def compute(group, posts):
            first = posts[group[0]][0]
            out = {p: torch.cat([posts[r][0][p] for r in group], dim).contiguous() for p in first}
            self.hub.copy_bytes += sum(t.numel() * t.element_size() for t in out.values()) * n
            return {r: {posts[r][1]: (out if i == 0 else clone_buf(out))} for i, r in enumerate(group)}

        return self._collective(ex, step, contrib, compute)

    def _reduce_scatter(self, ex, step):
        n = len(step["group"])
        sizes = _scatter_sizes(ex, step, n)
        offs = [sum(sizes[:c]) for c in range(n)]
        contrib = (ex.get(step["input"]), step["output"])

        def compute(group, posts):
            res = {}
            for c, r in enumerate(group):
                b = {}
                a, e = offs[c], offs[c] + sizes[c]
                for p in posts[group[0]][0]:
                    acc = posts[group[0]][0][p][a:e].clone()
                    for src in group[1:]:
                        acc += posts[src][0][p][a:e]
                    b[p] = acc
                    self.hub.copy_bytes += acc.numel() * acc.element_size() * n
                res[r] = {posts[r][1]: b}
            return res

        return self._collective(ex, step, contrib, compute)
