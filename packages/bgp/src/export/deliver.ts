import type { BgpMessage } from '@tabby/wire';
import type { OutSession, PeerOut } from './peer-out.js';

/** One packed batch of a group's flush and who gets it: one member only, or every member but a few. */
export interface Delivery {
  readonly only: PeerOut | undefined;
  readonly except: readonly PeerOut[];
  readonly messages: Uint8Array[];
  readonly withdrawn: number;
  readonly announced: number;
}

/**
 * Writes a flush's batches to the group's members with as few writes as it can. A reflector's
 * clients each announcing a route make one batch per source ("everyone but its source"): written
 * batch by batch that was a write per batch and member, clients squared small writes. Here the
 * batches for "everyone but" are concatenated once, and each member is written the slices of that
 * buffer between the batches it is left out of (zero-copy views: one write for most members, at
 * most one more per batch it is left out of), then its own batches. Members that get everything
 * are written the same bytes.
 */
export function deliver(members: readonly PeerOut[], batches: readonly Delivery[], outbox: Outbox): void {
  const shared = batches.filter((b) => !b.only && b.messages.length);
  // Byte offset, message count, withdrawn and announced prefixes before batch i (prefix sums).
  const n = shared.length;
  const at = new Float64Array(n + 1);
  const msgs = new Float64Array(n + 1);
  const wd = new Float64Array(n + 1);
  const an = new Float64Array(n + 1);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const b = shared[i]!;
    let len = 0;
    for (const m of b.messages) {
      parts.push(m);
      len += m.length;
    }
    at[i + 1] = at[i]! + len;
    msgs[i + 1] = msgs[i]! + b.messages.length;
    wd[i + 1] = wd[i]! + b.withdrawn;
    an[i + 1] = an[i]! + b.announced;
  }
  const all = parts.length === 1 ? parts[0]! : n ? Buffer.concat(parts) : new Uint8Array(0);
  const left = new Map<PeerOut, number[]>();
  for (let i = 0; i < n; i++) {
    for (const m of shared[i]!.except) {
      const l = left.get(m);
      if (l) l.push(i);
      else left.set(m, [i]);
    }
  }
  const write = (m: PeerOut, from: number, to: number) => {
    if (from >= to) return;
    const bytes = from === 0 && to === n ? all : all.subarray(at[from]!, at[to]!);
    outbox.post(m, bytes, msgs[to]! - msgs[from]!, wd[to]! - wd[from]!, an[to]! - an[from]!);
  };
  if (n) {
    for (const m of members) {
      let from = 0;
      for (const i of left.get(m) ?? []) {
        write(m, from, i);
        from = i + 1;
      }
      write(m, from, n);
    }
  }
  for (const b of batches) {
    if (!b.only || !b.messages.length) continue;
    const bytes = b.messages.length === 1 ? b.messages[0]! : Buffer.concat(b.messages);
    outbox.post(b.only, bytes, b.messages.length, b.withdrawn, b.announced);
  }
}

/** A write the outbox owes a member: encoded UPDATEs (and the prefixes they carry), or one message. */
interface Job {
  readonly out: PeerOut;
  /** The session it was meant for: a job outlives neither it nor the member's `out`. */
  readonly session: OutSession;
  readonly bytes: Uint8Array | null;
  readonly message: BgpMessage | null;
  readonly count: number;
  readonly withdrawn: number;
  readonly announced: number;
}

/**
 * The writes of the export stage's flushes, in order, made a few milliseconds' worth per turn of
 * the event loop. A socket write of a small UPDATE costs 10 to 20 µs (the kernel's TCP path), so
 * one flush to 10,000 members held the loop for a good part of a second; a member's keepalives
 * and every other session waited behind it. Nothing new is flushed until the outbox is empty, so
 * what it holds is at most one flush's output (the bytes are shared between members).
 */
export class Outbox {
  private jobs: Job[] = [];
  private head = 0;
  /** Writes made since the outbox was last empty, and the time they took (ms). */
  private round = { writes: 0, ms: 0 };

  /** `now`: the clock the `until` of `drain` is read on (`performance.now()`; tests give their own). */
  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Writes owed. */
  get size(): number {
    return this.jobs.length - this.head;
  }

  post(out: PeerOut, bytes: Uint8Array, count: number, withdrawn: number, announced: number): void {
    this.jobs.push({ out, session: out.peer.established!, bytes, message: null, count, withdrawn, announced });
  }

  /** One message after what is already owed (End-of-RIB after a transfer). */
  postMessage(out: PeerOut, message: BgpMessage): void {
    this.jobs.push({
      out,
      session: out.peer.established!,
      bytes: null,
      message,
      count: 1,
      withdrawn: 0,
      announced: 0,
    });
  }

  /** Writes what is owed until `until` (on `now`, ms); true once nothing is left. */
  drain(until: number): boolean {
    const jobs = this.jobs;
    let i = this.head;
    if (i === jobs.length) return true;
    const start = this.now();
    let t = start;
    while (i < jobs.length) {
      const j = jobs[i++]!;
      const peer = j.out.peer;
      if (peer.out === j.out && peer.established === j.session) {
        if (j.bytes) {
          peer.updates.withdrawalsSent += j.withdrawn;
          peer.updates.prefixesSent += j.announced;
          j.session.sendEncoded(j.bytes, j.count);
        } else j.session.send(j.message!);
      }
      // The clock is read after every write: a write of a transfer (tens of KB) to a busy
      // socket can take a millisecond, and reading the clock costs next to nothing beside it.
      t = this.now();
      if (t >= until) break;
    }
    this.round.writes += i - this.head;
    this.round.ms += t - start;
    if (i < jobs.length) {
      this.head = i;
      return false;
    }
    this.jobs = [];
    this.head = 0;
    return true;
  }

  /** Once everything is written: the writes made since the outbox was last empty and their time (then both 0). */
  takeRound(): { writes: number; ms: number } | null {
    if (this.size || !this.round.writes) return null;
    const r = this.round;
    this.round = { writes: 0, ms: 0 };
    return r;
  }
}
