#!/usr/bin/env node
// Adversarial probe of the built CLI (dist/cli/bin.js), as an outsider would try it: bad numbers,
// unknown ids, odd paths (fifo, /dev/zero, /proc/self/mem, unwritable folders), garbage files.
// Each case runs under a timeout in a scratch folder of its own; a case is flagged when it does not
// exit with its expected code, prints more than one line (or a stack trace) on stderr, writes into
// its folder or the fixtures on error, hangs, or grows past MAX_RSS_MB.
//   node scripts/probe-cli.mjs [filter-regex]      (not part of `npm test`: minutes, see test/drills for the fast table)
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const TIMEOUT_S = Number(process.env.PROBE_TIMEOUT_S ?? 60);
const MAX_RSS_MB = Number(process.env.PROBE_MAX_RSS_MB ?? 2048);
const POOL = Number(process.env.PROBE_POOL ?? 2);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'attnbench-probe-'));
fs.chmodSync(work, 0o755);
const fix = path.join(work, 'fix');
fs.mkdirSync(fix);
const F = {};
const put = (k, name, content) => {
  F[k] = path.join(fix, name);
  fs.writeFileSync(F[k], content);
};
// A simulated kernel-suite row (the file also holds CP rows, in an order a refit may change).
const goodRow = fs.readFileSync(path.join(ROOT, 'results/sim/validation.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((r) => r.suite === 'kernel');
if (!goodRow) throw new Error('results/sim/validation.jsonl holds no kernel row to build the probe fixtures from');
const calib = fs.readFileSync(path.join(ROOT, 'results/sim/calibration.json'), 'utf8');
put('garbage', 'garbage.jsonl', 'hello world\nthis is not json\n');
put('empty', 'empty.jsonl', '');
put('random', 'random.jsonl', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 2654435761) % 251)));
put('torn', 'torn.jsonl', `${JSON.stringify(goodRow)}\n{"schema":1,"id":"kern`);
put('rows', 'rows.jsonl', `${JSON.stringify(goodRow)}\n`);
put('nullrow', 'null.jsonl', 'null\n');
put('numrow', 'num.jsonl', '42\n');
put('arrrow', 'arr.jsonl', '[1,2,3]\n');
put('strrow', 'str.jsonl', '"x"\n');
put('wrongrow', 'wrong.jsonl', '{"schema":1,"id":5,"status":"ok"}\n');
put('okrow', 'okrow.jsonl', '{"id":"a","status":"ok"}\n');
put('hugeline', 'huge.jsonl', `{"x":"${'a'.repeat(64 * 2 ** 20)}"}\n`);
put('bom', 'bom.jsonl', `\ufeff${JSON.stringify(goodRow)}\n`);
put('crlf', 'crlf.jsonl', `${JSON.stringify(goodRow)}\r\n`);
// `kernels --resume --out {crlf}` may accept it and append: that one lives outside the watched fixtures
fs.mkdirSync(path.join(work, 'mutable'));
fs.renameSync(F.crlf, (F.crlf = path.join(work, 'mutable', 'crlf.jsonl')));
put('json-arr', 'arr.json', '[]');
put('json-null', 'null.json', 'null');
put('json-str', 'str.json', '"x"');
put('json-num', 'num.json', '1e999');
put('json-obj', 'obj.json', '{}');
put('json-bad', 'bad.json', '{"gpus": ');
put('hist-nan', 'hist-nan.json', '{"[0,32)": "NaN"}');
put('hist-inf', 'hist-inf.json', '{"[0,32)": 1e999}');
put('hist-big', 'hist-big.json', '{"[0,1e15)": 1}');
put('hist-rev', 'hist-rev.json', '{"[64,32)": 1}');
put('hist-zero', 'hist-zero.json', '{"[0,32)": 0}');
put('hist-empty', 'hist-empty.json', '{}');
put('hist-frac', 'hist-frac.json', '{"[0.5,32.5)": 1}');
put('hist-one', 'hist-one.json', '{"[1,2)": 1}');
put('hist-2p32', 'hist-2p32.json', '{"[1,5000000000)": 1}');
put('hist-sum', 'hist-sum.json', '{"[1,10)": 1e308, "[10,20)": 1e308}');
put('cal-inf', 'cal-inf.json', calib.replace(/"slots":\s*\d+/, '"slots": 1e999'));
put('cal-str', 'cal-str.json', calib.replace(/"c0Ms":\s*[\d.e-]+/, '"c0Ms": "x"'));
put('cal-neg', 'cal-neg.json', calib.replace(/"msPerProgram":\s*[\d.e-]+/, '"msPerProgram": -1'));
put('cal-empty', 'cal-empty.json', '{"schema":1,"curves":[]}');
put('cfg-neg', 'cfg-neg.json', '{"nvlink":{"bandwidthGBps":-1}}');
put('cfg-tiny', 'cfg-tiny.json', '{"nvlink":{"bandwidthGBps":1e-300},"ib":{"bandwidthGBps":1e-300}}');
put('cfg-inf', 'cfg-inf.json', '{"ib":{"bandwidthGBps":1e999}}');
put('cfg-gpu', 'cfg-gpu.json', '{"gpu":"x9","gpus":{"x9":{"peakTflops":{}}}}');
put('cfg-gpn', 'cfg-gpn.json', '{"gpusPerNode":1.5}');
put('cfg-nodes', 'cfg-nodes.json', '{"nodes":1}');
put('cfg-type', 'cfg-type.json', '{"gpusPerNode":"8"}');
put('trace-shape', 'trace.json', '{"traceEvents":"x"}');
put('trace-arr', 'trace-arr.json', '[{"ph":"X","ts":"a","dur":-1}]');
put('pyfile', 'k.py', 'raise SystemExit(3)\n');
put('pyerr', 'kerr.py', 'this is not python\n');
put('file', 'plain.txt', 'x\n');
F.dir = path.join(fix, 'a-folder');
fs.mkdirSync(F.dir);
F.missing = path.join(fix, 'missing.jsonl');
F.fifo = path.join(fix, 'fifo');
execFileSync('mkfifo', [F.fifo]);
F.ro = path.join(fix, 'ro');
fs.mkdirSync(F.ro);
fs.chmodSync(F.ro, 0o500);
F.loop = path.join(fix, 'loop'); // a symbolic link to itself (ELOOP)
fs.symlinkSync(F.loop, F.loop);
F.devzero = '/dev/zero';
F.devnull = '/dev/null';
F.devfull = '/dev/full';
F.procmem = '/proc/self/mem';
F.procstat = '/proc/self/status';
F.planbad = path.join(fix, 'plan-bad');
fs.mkdirSync(F.planbad);
fs.writeFileSync(path.join(F.planbad, 'jobs.jsonl'), 'garbage\n');
F.planempty = path.join(fix, 'plan-empty');
fs.mkdirSync(F.planempty);
F.dbgarbage = path.join(fix, 'garbage.duckdb');
fs.writeFileSync(F.dbgarbage, 'not a database\n');
// Rows of another command: goodRow is a simulator row (executor sim); a measured kernel row and a CP row.
put('kernrow', 'kernrow.jsonl', `${JSON.stringify({ ...goodRow, executor: 'torch', id: 'kernel:probe' })}\n`);
put('cprow', 'cprow.jsonl', `${JSON.stringify({ ...goodRow, executor: 'torch', suite: 'cp', scheme: 'ring_p2p', world: 2, id: 'cp:probe' })}\n`);
// A results file the user cannot write (read as nobody: root writes anywhere).
F.rofiles = path.join(fix, 'ro-files');
fs.mkdirSync(F.rofiles);
F.rorows = path.join(F.rofiles, 'rows.jsonl');
fs.writeFileSync(F.rorows, `${JSON.stringify({ ...goodRow, executor: 'cpu', id: 'kernel:ro' })}\n`);
fs.chmodSync(F.rorows, 0o444);
// Kernel plan folders cut short: cases.jsonl / jobs.jsonl torn mid-line, jobs.jsonl cut at a line end.
const planOf = (name) => {
  const d = path.join(fix, name);
  execFileSync(process.execPath, [BIN, 'kernels', '--executor', 'torch', '--kernel', 'sdpa_math', '--family', 'causal,causal_document', '--seqlen', '1k', '--plan-dir', d], { stdio: 'ignore' });
  return d;
};
const half = (f) => fs.writeFileSync(f, fs.readFileSync(f).subarray(0, Math.floor(fs.statSync(f).size / 2)));
F.plancut = planOf('plan-cut');
half(path.join(F.plancut, 'cases.jsonl'));
F.planjobscut = planOf('plan-jobs-cut');
half(path.join(F.planjobscut, 'jobs.jsonl'));
F.planjobsshort = planOf('plan-jobs-short');
fs.writeFileSync(path.join(F.planjobsshort, 'jobs.jsonl'), `${fs.readFileSync(path.join(F.planjobsshort, 'jobs.jsonl'), 'utf8').split('\n')[0]}\n`);

// [expected exit code ('2', '0', '0|2' ...), ...args]; {out} = a path in the case's folder; {k} = fixture k.
// `nobody:` as first arg runs the case as uid 65534 (for unwritable-folder checks; root writes anywhere).
const C = [];
const add = (exp, ...args) => C.push({ exp, args });
/** A legitimate case that takes long on a busy machine (it must still end: 3 minutes at least). */
const addSlow = (exp, ...args) => C.push({ exp, args, timeoutS: Math.max(TIMEOUT_S, 180) });
const S = ['--seqlen', '1k'];
const K = ['kernels', '--executor', 'cpu', '--family', 'causal', '--seqlen', '256', '--no-progress'];
const KO = [...K, '--out', '{out}/k.jsonl'];
const CPL = ['cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S];
const CPR = ['cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S, '--out', '{out}/c.jsonl'];
const SB = ['cp', 'sbatch', '--nodes', '1', '--gpus-per-node', '2', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S];
const SR = ['sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p', '--direction', 'fwd', '--out', '{out}/s.jsonl'];
const NUMS = ['', '-1', '0', 'NaN', '1e309', '1.5', '0x10', '1e3', ' ', 'Infinity', '99999999999999999999', '-0', '+5', '0b11', '1_000'];

// ---- global flags
for (const v of NUMS) add('2', '--mem-budget', v, ...CPL);
for (const v of NUMS) add('2', '--time-budget', v, ...CPL);
add('2', '--mem-budget', '9'.repeat(400), ...CPL);
add('2', '--time-budget', '9'.repeat(400), ...CPL);
add('2', '--mem-budget', '2000T', ...CPL); // more memory than any machine: the guards would be off
add('0', '--mem-budget', '1024T', ...CPL);
for (const v of ['', '{missing}', '{dir}', '{devzero}', '{fifo}', '{pyfile}', '{pyerr}', 'no_such_module_xyz', '{file}'])
  add('2', '--kernel-module', v, ...K, '--executor', 'torch', '--python', '/usr/bin/python3', '--out', '{out}/k.jsonl');
add('2', '--nope');
add('2', 'masks', '--json', '--family');
add('2', 'kernels', '--executor');
add('2', 'sim', 'nope');
add('2', 'cp', 'nope');
add('0', 'cp', 'schemes');
add('2', 'cp', 'schemes', 'extra-arg');
add('2', 'masks', 'extra-arg', '--list');
add('2', 'doctor', 'extra');

// ---- masks
const M = ['masks', '--family', 'causal', '--json'];
for (const v of NUMS) add('2', ...M, '--seqlen', v);
for (const v of ['1e12', '1000000000000', '1T', '1G', '9007199254740993']) add('2', 'masks', '--family', 'causal_document', '--seqlen', v, '--json');
// 2^31 tokens of documents fits (about 1.2 GB, 250 MB of JSON streamed in 8 s): made or refused by the size guard, never a hang
addSlow('0|2', 'masks', '--family', 'causal_document', '--seqlen', '2097152k', '--json');
add('2', '--mem-budget', '256M', 'masks', '--family', 'causal_document', '--seqlen', '4096M', '--json'); // over the budget: refused at once
for (const v of ['1000000000000', '1T']) add('2', 'masks', '--family', 'causal', '--seqlen', v, '--out', '{out}/m');
for (const v of NUMS) if (v !== '0' && v !== '-0' && v !== '+5' && v !== '1e3') add('2', ...M, '--seed', v);
add('0|2', ...M, '--seed', '99999999999999999999');
for (const v of ['', ',', ',,', 'causal,,causal', 'CAUSAL', 'causal,nope', '__proto__', 'constructor', 'toString']) add('2', 'masks', '--family', v, '--json');
add('0', 'masks', '--family', ' causal', '--json'); // list items are trimmed ('causal, full' is a common way to write a list)
add('0', 'masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', 'w=-0', '--json'); // -0 is 0, a valid window (0 <= w < S: the diagonal)
for (const v of ['w=', '=5', 'w=5=6', 'w=NaN', 'w=1e309', 'w=1.5', '__proto__=1', 'w=0x10', 'w=0b11', 'w=0o7', 'w=1_0', 'w=Infinity', 'w=  ', 'w']) add('2', 'masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', v, '--json');
add('0|2', 'masks', '--family', 'sliding_window', '--seqlen', '4k', '--param', 'w=512', '--param', 'w=1024', '--json');
for (const v of ['{devzero}', '{procmem}', '{procstat}', '{fifo}', '{empty}', '{json-arr}', '{json-null}', '{json-str}', '{json-num}', '{json-obj}', '{hist-nan}', '{hist-inf}', '{hist-big}', '{hist-rev}', '{hist-zero}', '{hist-empty}', '{hist-frac}', '{hist-2p32}', '{hist-sum}', '{random}', '{devnull}', ''])
  add('2', 'masks', '--family', 'causal_document', ...S, '--doclens', v, '--json');
for (const c of [['kernels', '--executor', 'cpu', '--family', 'causal_document', '--seqlen', '512', '--out', '{out}/k.jsonl'], ['cp', 'run', '--executor', 'cpu', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal_document', '--seqlen', '1k', '--out', '{out}/c.jsonl'], ['sim', 'run', '--family', 'causal_document', '--gpus', '8', '--out', '{out}/s.jsonl']])
  add('2', ...c, '--doclens', '{hist-2p32}');
add('0', 'masks', '--family', 'causal_document', ...S, '--doclens', '{hist-one}', '--json');
for (const v of ['{devnull}', '{devzero}', '{devfull}', '{fifo}', '{procmem}', '{ro}/m', '{ro}', '']) add('2', 'masks', '--family', 'causal', ...S, '--out', v);

// ---- kernels
for (const f of ['--samples', '--warmup', '--iters', '--job-timeout', '--seed', '--head-dim'])
  for (const v of NUMS) if (!(f === '--warmup' && ['0', '-0', '+5', '1e3'].includes(v)) && !(f === '--seed' && ['0', '-0', '+5', '1e3'].includes(v)) && !(['+5', '1e3'].includes(v) && f !== '--job-timeout'))
    add(f === '--job-timeout' ? '0|2' : '2', ...KO, f, v);
for (const v of ['1e9', '1000000000']) add('2', ...KO, '--iters', v);
for (const v of ['1e9', '1000000000']) add('2', ...KO, '--samples', v);
add('2', ...KO, '--warmup', '1000000000');
for (const v of ['3', '1', '7']) add('0|2', ...KO, '--head-dim', v);
add('2', ...KO, '--head-dim', '100000');
add('2', ...KO, '--head-dim', '1025');
add('0', ...KO, '--seqlen', '256,256,0.25k'); // one seqlen (ids are written once; src/cli/robust-values.test.ts counts them)
// GPU file mode has no time budget: loop counts and samples are bounded where they are parsed
const KP = ['kernels', '--executor', 'torch', '--family', 'causal_document', '--seqlen', '1k', '--plan-dir', '{out}/p'];
for (const [f, v] of [['--iters', '1000000000'], ['--iters', '1e9'], ['--warmup', '1000000000'], ['--samples', '1000000000'], ['--samples', '1001'], ['--heads', '2048:8'], ['--head-dim', '2048']]) add('2', ...KP, f, v);
for (const v of ['0:0', ':', '1e309:1', '8:', ':8', '8:4:2', '1.5:1', 'NaN:1', '-8:-4', '100000:1', '', '4:8']) add('2', ...KO, '--heads', v);
for (const v of ['', 'nope', 'flex,,', 'cpu_naive,cpu_naive', '__proto__', 'toString']) add('2', ...KO, '--kernel', v);
for (const v of ['', ',', 'fwd,fwd', 'FWD', 'fwd,nope']) add('0|2', ...KO, '--direction', v);
for (const v of ['', 'float64', 'FLOAT32', 'bfloat']) add('2', ...KO, '--dtype', v);
add('0', ...KO, '--dtype', 'fp32'); // short spellings bf16 / fp16 / fp32 are documented (ids.ts parseDtype)
for (const v of ['', '__proto__', 'toString', 'paper,cpu']) add('2', 'kernels', '--executor', 'cpu', '--preset', v, '--out', '{out}/k.jsonl');
for (const v of ['', '1e309', '-1', '0', '1.3k', 'x', '0x100']) add('2', ...KO, '--check-up-to', v);
add('0', ...KO, '--check-up-to', '1.5k'); // 1536 tokens: 1.5k is a documented token count (util/parse.ts parseTokens)
for (const v of ['1e12', '1000000000000', '1T', '1G', '1M,1M,1M']) add('2', 'kernels', '--executor', 'cpu', '--family', 'causal', '--seqlen', v, '--out', '{out}/k.jsonl');
for (const v of ['', ',', 'ok', 'nope', 'error,,', 'error,ok']) add('2', ...KO, '--resume', '--retry', v);
for (const o of ['{devzero}', '{devfull}', '{fifo}', '{procmem}', '{ro}/k.jsonl', '{ro}', '{dir}/', '{dir}', '.', '..', '/']) add('2', ...K, '--out', o);
for (const o of ['{loop}', '{loop}/k.jsonl', `{out}/${'x'.repeat(300)}.jsonl`, `{out}/${'x'.repeat(300)}/k.jsonl`]) add('2', ...K, '--out', o); // were internal: ELOOP / ENAMETOOLONG
add('0', ...K, '--out', '{devnull}'); // /dev/null is the one device --out takes (rows thrown away on purpose: util/paths.ts)
add('0', ...K, '--out', '{out}/not/yet/k.jsonl'); // folders of --out are made
// a results file of another command (simulator rows, CP rows), one the user cannot write
for (const o of ['{rows}', '{cprow}', '{rorows}']) add('2', ...K, '--resume', '--out', o);
for (const o of ['{random}', '{nullrow}', '{numrow}', '{arrrow}', '{strrow}', '{wrongrow}', '{bom}', '{hugeline}']) add('2', ...K, '--resume', '--out', o);
add('0|2', ...K, '--resume', '--out', '{crlf}');
for (const i of ['{devzero}', '{fifo}', '{procmem}', '{random}', '{empty}', '{nullrow}', '{json-arr}', '{dir}'])
  add('2', 'kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--plan-dir', '{planbad}', '--ingest', i, '--out', '{out}/k.jsonl');
add('2', 'kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--plan-dir', '{planempty}', '--ingest', '{rows}', '--out', '{out}/k.jsonl');
add('2', 'kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--plan-dir', '{fifo}', '--out', '{out}/k.jsonl');
add('2', 'kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--plan-dir', '{ro}/p');
for (const py of ['/bin/false', '/dev/null', '{dir}', '{file}', '', '/bin/echo']) add('2', 'kernels', '--executor', 'torch', '--family', 'causal', '--seqlen', '1k', '--python', py, '--out', '{out}/k.jsonl');

// ---- cp plan
for (const v of [...NUMS, '10000000', '1e7', '2,,2', '2,x']) add('2', 'cp', 'plan', '--scheme', 'ring_p2p', '--world', v, '--family', 'causal', ...S);
add('2', 'cp', 'plan', '--scheme', 'ring_p2p', '--world', '10000000', '--family', 'causal', '--seqlen', '10000000');
for (const v of ['1e12', '1000000000000', '1T']) add('2', 'cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', v);
add('2', 'cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal_document', '--seqlen', '1000000000000');
add('0', 'cp', 'plan', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '2097152k'); // a causal plan is a few slices at any S
for (const v of ['0:0', '1e309:1', '8:', '64:7', '100000000:1', '1025:1', '1.5:1', '0x8:1']) add('2', ...CPL, '--heads', v);
add('0', ...CPL, '--heads', '3:3'); // ring_p2p shards tokens, not heads
add('2', 'cp', 'plan', '--scheme', 'ulysses', '--world', '2', '--family', 'causal', ...S, '--heads', '3:3'); // ulysses shards heads: 2 must divide 3
for (const v of [...NUMS.filter((x) => !['+5', '1e3'].includes(x)), '1000000000', '1025']) add('2', ...CPL, '--head-dim', v);
for (const v of ['', '__proto__', 'ring_p2p,ulysses', 'RING_P2P']) add('2', 'cp', 'plan', '--scheme', v, '--world', '2', '--family', 'causal', ...S);
for (const v of ['', '=', ',', 'ring=', '=2', 'ring=2,ring=4', 'ring=1e309', 'ring=0', 'ring=-1', 'ring=1.5', 'foo=1', '__proto__=1', 'ring', 'ulysses=3']) add('2', ...CPL, '--layout', v);
for (const v of ['', '-1', '0', 'NaN', '1e309', '1.5', 'x']) add('2', ...CPL, '--check', '--budget', v);
for (const v of ['', 'fp8', 'toString']) add('2', ...CPL, '--dtype', v);

// ---- cp run (cpu)
for (const f of ['--timeout', '--iters', '--warmup', '--virtual-ranks', '--tokens-per-rank', '--nnodes', '--node-rank', '--nproc-per-node'])
  for (const v of ['', '-1', 'NaN', '1e309', '1.5', 'x']) add('2', ...CPR, f, v);
for (const v of ['10000000', '1e7']) add('2', 'cp', 'run', '--scheme', 'ring_p2p', '--world', v, '--family', 'causal', ...S, '--out', '{out}/c.jsonl');
add('2', 'cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', '--seqlen', '1000000000000', '--out', '{out}/c.jsonl');
add('2', 'cp', 'run', '--scheme', 'ring_p2p', '--world', '64', '--family', 'causal', '--seqlen', '64', '--out', '{out}/c.jsonl');
for (const v of ['1e9', '1000000000']) add('2', ...CPR, '--iters', v);
for (const [f, v] of [['--iters', '1000000000'], ['--warmup', '1000000000'], ['--head-dim', '4096'], ['--heads', '4096:8']]) add('2', 'cp', 'run', '--executor', 'torch', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S, '--plan-dir', '{out}/p', f, v);
for (const o of ['{rows}', '{kernrow}', '{rorows}']) add('2', ...CPR.slice(0, -2), '--resume', '--out', o); // simulator / kernel rows, read-only
for (const o of ['{kernrow}', '{cprow}']) add('2', ...SR.slice(0, -2), '--out', o); // measured rows in a simulator file
for (const v of ['', 'nope']) add('2', ...CPR, '--backend', v);
for (const v of ['', 'nope']) add('2', ...CPR, '--device', v);
for (const v of ['', 'nope', ':', 'host:99999']) add('2', ...CPR, '--rdzv-endpoint', v);
for (const o of ['{devzero}', '{devfull}', '{fifo}', '{ro}/c.jsonl', '{ro}']) add('2', 'cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S, '--out', o);
for (const o of ['{random}', '{nullrow}', '{numrow}', '{arrrow}', '{strrow}', '{wrongrow}', '{bom}', '{okrow}']) add('2', 'cp', 'run', '--scheme', 'ring_p2p', '--world', '2', '--family', 'causal', ...S, '--resume', '--out', o);
for (const t of ['{fifo}', '{ro}/t', '{devnull}']) add('2', ...CPR, '--trace-dir', t);
for (const t of ['{fifo}', '{ro}/j', '{file}']) add('2', ...CPR, '--executor', 'torch', '--device', 'cpu', '--python', '/usr/bin/python3', '--job-dir', t);
add('2', ...CPR, '--executor', 'torch', '--device', 'cpu', '--python', '/usr/bin/python3', '--plan-dir', '{file}');
for (const py of ['/bin/false', '/dev/null', '{dir}', '', '/bin/echo']) add('2', ...CPR, '--executor', 'torch', '--device', 'cpu', '--backend', 'gloo', '--nproc-per-node', '2', '--python', py);
add('2', ...CPR, '--executor', 'torch', '--device', 'cpu', '--nnodes', '2', '--node-rank', '5', '--python', '/usr/bin/python3');

for (const c of ['{devzero}', '{fifo}', '{procmem}', '{json-arr}', '{cal-str}', '{empty}', '{dir}'])
  add('2', 'cp', 'run', '--executor', 'torch', '--device', 'cpu', '--scheme', 'dispatch', '--world', '2', '--family', 'causal', ...S, '--calibration', c, '--plan-dir', '{out}/plan');

// ---- cp sbatch
for (const v of ['', '-1', '0', '99-99:99:99', '1:2:3:4', '1.5', 'NaN', '1e309', '00:00:00']) add('2', ...SB, '--time', v, '--dir', '{out}/sb');
for (const v of ['', '0', '-1', '70000', '1.5', 'x']) add('2', ...SB, '--port', v, '--dir', '{out}/sb');
for (const v of ['', '0', '-1', '1.5', 'x']) add('2', ...SB, '--cpus-per-task', v, '--dir', '{out}/sb');
for (const f of ['--job-name', '--partition', '--account', '--log']) for (const v of ['a\nb', '']) add('2', ...SB, f, v, '--dir', '{out}/sb');
add('2', ...SB, '--dir', '{ro}/sb');
for (const c of ['{devzero}', '{fifo}', '{json-arr}', '{cal-inf}']) add('2', ...SB, '--scheme', 'dispatch', '--calibration', c, '--dir', '{out}/sb');
add('2', ...SB, '--dir', '{fifo}');
add('2', ...SB, '--dir', '{out}/sb', '--script', '{fifo}');
add('2', ...SB, '--dir', '{out}/sb', '--script', '{devzero}');
add('0|2', ...SB, '--dir', '{out}/sb', '--repo-root', '{file}'); // a path on the cluster: not checked here (src/cli/robust.test.ts NOT_CHECKED)
add('2', ...SB, '--dir', '{out}/sb', '--repo-root', '');
add('2', 'cp', 'sbatch', '--nodes', '1000000000', '--scheme', 'ring_p2p', '--family', 'causal', ...S, '--dir', '{out}/sb');

// ---- sim
for (const i of ['{devzero}', '{fifo}', '{procmem}', '{random}', '{nullrow}', '{numrow}', '{arrrow}', '{wrongrow}', '{okrow}', '{hugeline}', '{dir}', '', '{devnull}'])
  for (const sc of ['calibrate', 'validate', 'plots'])
    add('2', 'sim', sc, '--in', i, ...(sc === 'plots' ? ['--out', '{out}/p'] : sc === 'calibrate' ? ['--out', '{out}/c.json'] : []));
for (const c of ['{devzero}', '{fifo}', '{procmem}', '{json-arr}', '{json-null}', '{json-str}', '{json-num}', '{json-obj}', '{cal-inf}', '{cal-str}', '{cal-neg}', '{cal-empty}', '{empty}', '{random}'])
  add('2', ...SR, '--calibration', c);
for (const c of ['{devzero}', '{fifo}', '{json-arr}', '{json-null}', '{json-num}', '{cfg-neg}', '{cfg-inf}', '{cfg-gpu}', '{cfg-gpn}', '{cfg-type}', '{empty}']) add('2', ...SR, '--config', c);
add('0|2', ...SR, '--config', '{cfg-tiny}');
add('0|2', ...SR, '--config', '{cfg-nodes}');
for (const c of ['{devzero}', '{fifo}', '{json-arr}', '{cfg-neg}', '{empty}']) add('2', 'sim', 'network', '--config', c);
for (const v of [...NUMS.filter((x) => !['+5', '1e3'].includes(x)), '10000000', '2,,x']) add('2', 'sim', 'run', '--gpus', v, '--family', 'causal', '--scheme', 'ring_p2p', '--out', '{out}/s.jsonl');
for (const v of ['1e12', '1000000000000', '1T', '7']) add('2', ...SR, '--seqlen', v);
for (const v of ['', 'nope', '__proto__', 'toString']) add('2', ...SR, '--gpu', v);
add('0', ...SR, '--gpu', 'H100'); // GPU names are normalized (sim/hardware.ts normalizeGpu: 'NVIDIA H100 80GB HBM3' -> h100)
for (const v of ['', ',', 'fwd,nope']) add('2', ...SR, '--direction', v);
for (const v of ['', 'ring=0', 'nope=1', 'ring']) add('2', ...SR, '--layout', v);
for (const v of ['', 'nope', '__proto__']) add('2', ...SR, '--kernel', v);
for (const v of ['', '__proto__', 'toString', 'constructor']) add('2', 'sim', 'run', '--preset', v, '--out', '{out}/s.jsonl');
for (const o of ['{devzero}', '{devfull}', '{fifo}', '{ro}/s.jsonl', '{random}', '{nullrow}', '{arrrow}', '{hugeline}']) add('2', 'sim', 'run', '--gpus', '8', '--family', 'causal', '--scheme', 'ring_p2p', '--direction', 'fwd', '--out', o);
for (const t of ['{fifo}', '{ro}/t', '{devnull}']) add('2', ...SR, '--trace', t);
for (const t of ['{fifo}', '{ro}/p']) add('2', ...SR, '--plots', t);
for (const p of ['{missing}', '{file}', '{planempty}', '{planbad}', '{fifo}', '', '{procmem}', '{plancut}', '{planjobscut}', '{planjobsshort}']) add('2', 'sim', 'estimate', '--plan-dir', p);
for (const p of ['{plancut}']) add('2', 'kernels', '--executor', 'torch', '--kernel', 'sdpa_math', '--family', 'causal,causal_document', '--seqlen', '1k', '--plan-dir', p, '--ingest', '{empty}', '--out', '{out}/k.jsonl');
for (const v of NUMS.filter((x) => !['+5', '1e3'].includes(x))) add('2', 'sim', 'estimate', '--plan-dir', '{planbad}', '--budget-s', v);
for (const v of ['', 'nope']) add('2', 'sim', 'estimate', '--plan-dir', '{planbad}', '--gpu', v);
for (const o of ['{fifo}', '{devzero}', '{ro}/c.json', '{dir}']) add('2', 'sim', 'calibrate', '--in', '{rows}', '--out', o);
add('2', 'sim', 'calibrate', '--db', '{dbgarbage}', '--out', '{out}/c.json');
add('2', 'sim', 'calibrate', '--db', '{missing}', '--out', '{out}/c.json');

// ---- results / report / dashboard / doctor / run
for (const i of ['{devzero}', '{fifo}', '{procmem}', '{random}', '{nullrow}', '{numrow}', '{arrrow}', '{wrongrow}', '{okrow}', '{hugeline}', ''])
  add('2', 'results', '--db', '{out}/r.duckdb', '--ingest', i);
for (const d of ['{fifo}', '{devzero}', '{devnull}', '{ro}/r.duckdb', '{procmem}', '']) add('2', 'results', '--db', d, '--ingest', '{rows}');
// a --db that is no DuckDB database (DuckDB opened a .jsonl / .json / empty file as an empty in-memory one: the ingest said 'N row(s)', exit 0)
for (const d of ['{rows}', '{garbage}', '{empty}', '{json-obj}']) add('2', 'results', '--db', d, '--ingest', '{rows}');
for (const d of ['{rows}', '{empty}']) add('2', 'report', '--db', d, '--out', '{out}/rep');
for (const s of ['', 'SELEC garbage', 'SELECT * FROM nope']) add('2', 'results', '--db', '{out}/r.duckdb', '--ingest', '{rows}', '--sql', s);
// --sql is read-only: nothing that writes files or changes the database (the probe flags a write into the folder)
for (const s of ["COPY (SELECT 1) TO '{out}/x.csv'", "EXPORT DATABASE '{out}/exp'", "ATTACH '{out}/a.duckdb'", 'INSTALL httpfs', 'LOAD httpfs', 'DELETE FROM results', 'DROP TABLE results',
  "SELECT 1; COPY results TO '{out}/y.csv'", "SET profiling_output = '{out}/p.txt'", 'CHECKPOINT', 'CREATE TABLE t AS SELECT 1', ';', "SELECT * FROM read_csv('{rows}')"])
  add('2', 'results', '--db', '{out}/r.duckdb', '--ingest', '{rows}', '--sql', s);
add('2', 'results', '--db', '{out}/r.duckdb', '--ingest', '{rows}', '--sql', "SELECT 1) TO '{out}/inj.csv' (FORMAT csv); COPY (SELECT 1", '--export', '{out}/x.csv');
for (const v of ['', ',', '__proto__']) add('2', 'results', '--db', '{out}/r.duckdb', '--suite', v);
for (const e of ['{fifo}', '{devzero}', '{ro}/x.csv', '{out}/x', '']) add('2', 'results', '--db', '{out}/r.duckdb', '--ingest', '{rows}', '--export', e);
add('0', 'results', '--db', '{out}/r.duckdb', '--ingest', '{rows}', '--export', '{out}/x.CSV'); // extensions compare case-insensitively
for (const i of ['{devzero}', '{fifo}', '{procmem}', '{random}', '{nullrow}', '{numrow}', '{arrrow}', '{wrongrow}', '{okrow}', '{hugeline}', ''])
  add('2', 'report', '--in', i, '--out', '{out}/rep');
for (const t of ['{devzero}', '{fifo}', '{procmem}', '{trace-shape}', '{trace-arr}', '{json-null}', '{empty}', '{random}']) add('2', 'report', '--in', '{rows}', '--trace', t, '--out', '{out}/rep');
for (const o of ['{fifo}', '{ro}/rep', '{ro}', '{devnull}']) add('2', 'report', '--in', '{rows}', '--out', o);
add('2', 'report', '--db', '{fifo}', '--out', '{out}/rep');
add('2', 'report', '--db', '{devzero}', '--out', '{out}/rep');
add('2', 'report', '--out', '{out}/rep');
for (const v of ['', '-1', '1.5', 'NaN', '1e309', '65536', '0x50']) add('2', 'dashboard', '--db', '{rows}', '--port', v);
for (const d of ['{fifo}', '{devzero}', '{procmem}', '{random}', '{empty}']) add('2', 'dashboard', '--db', d, '--port', '0');
for (const py of ['/bin/false', '/dev/null', '{dir}', '{file}', '', '/bin/echo']) add('2', 'doctor', '--python', py);
for (const o of ['{fifo}', '{ro}/run', '{ro}', '{devnull}', '']) add('2', 'run', '--executor', 'cpu', '--quick', '--out', o);
for (const py of ['/bin/false', '/dev/null', '{dir}', '']) add('2', 'run', '--executor', 'torch', '--quick', '--python', py, '--out', '{out}/run');

// ---------------------------------------------------------------------------------------------------
if (process.env.PROBE_COUNT) {
  // Cases per command and per kind of input (for a report).
  const by = (f) => C.reduce((m, c) => ((m[f(c)] = (m[f(c)] ?? 0) + 1), m), {});
  const cmd = (c) => { const a = c.args.filter((x) => !x.startsWith('-') || x === '--nope'); const i = a.findIndex((x) => ['run', 'masks', 'kernels', 'cp', 'sim', 'results', 'report', 'dashboard', 'doctor'].includes(x)); return i < 0 ? 'global' : ['cp', 'sim'].includes(a[i]) ? `${a[i]} ${a[i + 1]}` : a[i]; };
  const kind = (c) => { const j = c.args.join(' '); return /\{(fifo|devzero|devnull|devfull|procmem|procstat|ro|rorows|dir|file|missing)\}/.test(j) ? 'paths' : /\{(random|nullrow|numrow|arrrow|strrow|wrongrow|okrow|kernrow|cprow|hugeline|bom|crlf|torn|garbage|empty|rows|json-[a-z]+|hist-[a-z]+|cal-[a-z]+|cfg-[a-z]+|trace-[a-z]+|plan[a-z]+|dbgarbage|py[a-z]*)\}/.test(j) ? 'files' : /__proto__|toString|constructor|nope|FLOAT|CAUSAL|RING|H100|bf16|fp8/.test(j) ? 'ids' : 'numbers/values'; };
  console.log(JSON.stringify({ total: C.length, byCommand: by(cmd), byKind: by(kind) }, null, 1));
  fs.chmodSync(F.ro, 0o700);
  fs.rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
const filter = process.argv[2] ? new RegExp(process.argv[2]) : null;
const cases = C.filter((c) => !filter || filter.test(c.args.join(' ')));

function tree(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}
function snap(dir) {
  return tree(dir)
    .map((f) => {
      const st = fs.lstatSync(path.join(dir, f));
      return `${f}:${st.size}:${st.mtimeMs}`;
    })
    .join('\n');
}
const before = snap(fix);

function run1(c, i) {
  const dir = path.join(work, `c${i}`);
  fs.mkdirSync(dir);
  fs.chmodSync(dir, 0o777);
  const args = c.args.map((a) => a.replace(/\{([a-z-]+)\}/g, (_, k) => (k === 'out' ? path.join(dir, 'out') : (F[k] ?? `{${k}}`))));
  // Unwritable folders only stop a non-root user: run those as nobody.
  const asNobody = process.getuid?.() === 0 && args.some((a) => a === F.ro || a.startsWith(`${F.ro}/`) || a.startsWith(`${F.rofiles}/`));
  const cmd = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/usr/bin/time', '-f', '%M', process.execPath, BIN, ...args]] : ['/usr/bin/time', ['-f', '%M', process.execPath, BIN, ...args]];
  const t0 = Date.now();
  // stdout is counted, not kept (2^31-token masks stream 250 MB of JSON); stderr is kept up to 1 MB.
  return new Promise((resolve) => {
    const child = spawn(cmd[0], cmd[1], { cwd: dir, env: { ...process.env, ATTNBENCH_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdoutBytes = 0;
    let stderr = '';
    child.stdout.on('data', (b) => (stdoutBytes += b.length));
    child.stderr.on('data', (b) => (stderr = (stderr + b).slice(-(1 << 20))));
    let timedOut = false;
    const timer = setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), (c.timeoutS ?? TIMEOUT_S) * 1000);
    child.on('close', (exit, signal) => {
      clearTimeout(timer);
      const lines = stderr.trimEnd().split('\n');
      const rssKb = Number(lines.at(-1));
      const errLines = Number.isFinite(rssKb) ? lines.slice(0, -1) : lines;
      // /usr/bin/time reports a signal of its child as 'Command terminated by signal N'
      const sig = signal ?? (timedOut ? 'SIGKILL (timeout)' : /Command terminated by signal (\d+)/.exec(stderr)?.[1]);
      const code = sig ? `signal ${sig}` : exit;
      resolve({ c, args, code, stderr: errLines.filter((l) => l.trim() && !l.startsWith('attnbench: warning: ') && !/^Command (exited|terminated)/.test(l)), stdoutBytes, ms: Date.now() - t0, rssMb: Math.round(rssKb / 1024), written: tree(dir) });
    });
  });
}

let bad = 0;
function judge(r) {
  const ok = r.c.exp.split('|').map(String).includes(String(r.code));
  const problems = [];
  if (!ok) problems.push(`exit ${r.code} (expected ${r.c.exp})`);
  if (r.code !== 0 && r.stderr.length !== 1) problems.push(`${r.stderr.length} stderr lines`);
  if (r.stderr.some((l) => /^\s+at |node:internal|Traceback/.test(l))) problems.push('stack trace');
  if (r.code !== 0 && r.written.length) problems.push(`wrote ${r.written.slice(0, 3).join(',')}`);
  if (r.rssMb > MAX_RSS_MB) problems.push(`rss ${r.rssMb} MB`);
  if (problems.length) {
    bad++;
    console.log(`BAD  ${r.c.args.join(' ').slice(0, 160)}\n     ${problems.join('; ')} (${r.ms} ms, ${r.rssMb} MB)\n     ${r.stderr.slice(0, 3).join('\n     ').slice(0, 400)}`);
  } else if (process.env.PROBE_VERBOSE) console.log(`ok   ${r.c.args.join(' ').slice(0, 120)} -> ${r.code}: ${(r.stderr[0] ?? '').slice(0, 120)}`);
}
let next = 0;
await Promise.all(Array.from({ length: POOL }, async () => {
  while (next < cases.length) {
    const i = next++;
    judge(await run1(cases[i], i));
  }
}));

const after = snap(fix);
if (after !== before) {
  bad++;
  const b = new Set(before.split('\n'));
  const a = new Set(after.split('\n'));
  console.log(`BAD  fixtures changed: ${[...a].filter((x) => !b.has(x)).join(' ')} (was: ${[...b].filter((x) => !a.has(x)).join(' ')})`);
}
console.log(`${cases.length} cases, ${bad} flagged (work folder ${work})`);
fs.chmodSync(F.ro, 0o700);
fs.chmodSync(F.rorows, 0o644);
if (!process.env.PROBE_KEEP) fs.rmSync(work, { recursive: true, force: true });
process.exitCode = bad ? 1 : 0;
