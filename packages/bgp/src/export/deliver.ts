import type { PeerOut } from './peer-out.js';

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
export function deliver(members: readonly PeerOut[], batches: readonly Delivery[]): void {
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
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
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
    const s = m.peer.established!;
    m.peer.updates.withdrawalsSent += wd[to]! - wd[from]!;
    m.peer.updates.prefixesSent += an[to]! - an[from]!;
    const bytes = from === 0 && to === n ? all : all.subarray(at[from]!, at[to]!);
    s.sendEncoded(bytes, msgs[to]! - msgs[from]!);
  };
  for (const m of members) {
    if (n) {
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
    const m = b.only;
    m.peer.updates.withdrawalsSent += b.withdrawn;
    m.peer.updates.prefixesSent += b.announced;
    m.peer.established!.sendEncoded(
      b.messages.length === 1 ? b.messages[0]! : Buffer.concat(b.messages),
      b.messages.length,
    );
  }
}
