// Message transports for the rank interpreter: ordered per pair of ranks, tagged, non-blocking
// sends. PortComm runs over worker-thread MessagePorts; LocalBus connects ranks inside one thread.
import type { Comm } from './rank.js';

interface Message {
  readonly tag: string;
  readonly data: Float32Array;
}

/** Per-peer inbox: arrived messages wait for receivers, receivers wait for messages. */
class Inbox {
  private readonly arrived: Message[] = [];
  private readonly waiting: { tag: string; resolve: (d: Float32Array) => void; reject: (e: Error) => void }[] = [];
  constructor(private readonly peer: number) {}

  deliver(m: Message): void {
    const w = this.waiting.shift();
    if (w) this.hand(m, w);
    else this.arrived.push(m);
  }

  take(tag: string): Promise<Float32Array> {
    return new Promise((resolve, reject) => {
      const m = this.arrived.shift();
      if (m) this.hand(m, { tag, resolve, reject });
      else this.waiting.push({ tag, resolve, reject });
    });
  }

  private hand(m: Message, w: { tag: string; resolve: (d: Float32Array) => void; reject: (e: Error) => void }): void {
    if (m.tag !== w.tag) w.reject(new Error(`expected a ${w.tag} message from rank ${this.peer}, got ${m.tag}`));
    else w.resolve(m.data);
  }
}

/** Minimal MessagePort surface (node:worker_threads), so this file imports nothing from node. */
export interface PortLike {
  postMessage(value: unknown): void;
  on(event: 'message', fn: (value: unknown) => void): unknown;
  close(): void;
}

export class PortComm implements Comm {
  private readonly inboxes: Inbox[];
  constructor(private readonly ports: readonly (PortLike | null)[]) {
    this.inboxes = ports.map((_, peer) => new Inbox(peer));
    ports.forEach((p, peer) => p?.on('message', (m) => this.inboxes[peer].deliver(m as Message)));
  }

  send(peer: number, tag: string, data: Float32Array): void {
    const p = this.ports[peer];
    if (!p) throw new Error(`no channel to rank ${peer}`);
    p.postMessage({ tag, data } satisfies Message); // structured clone: the sender keeps its copy
  }

  recv(peer: number, tag: string): Promise<Float32Array> {
    if (!this.ports[peer]) return Promise.reject(new Error(`no channel from rank ${peer}`));
    return this.inboxes[peer].take(tag);
  }

  close(): void {
    for (const p of this.ports) p?.close();
  }
}

/** In-process transport: rank r's Comm is bus.comm(r). Sends copy, like a real transport. */
export class LocalBus {
  private readonly inboxes: Inbox[][];
  constructor(readonly world: number) {
    this.inboxes = Array.from({ length: world }, () => Array.from({ length: world }, (_, peer) => new Inbox(peer)));
  }

  comm(rank: number): Comm {
    return {
      send: (peer, tag, data) => {
        if (!(peer >= 0 && peer < this.world) || peer === rank) throw new Error(`invalid peer ${peer}`);
        const copy = data.slice();
        queueMicrotask(() => this.inboxes[peer][rank].deliver({ tag, data: copy }));
      },
      recv: (peer, tag) => {
        if (!(peer >= 0 && peer < this.world) || peer === rank) return Promise.reject(new Error(`invalid peer ${peer}`));
        return this.inboxes[rank][peer].take(tag);
      },
    };
  }
}
