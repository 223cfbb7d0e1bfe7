import os from 'node:os';
import { addressToBigInt, parseCidr } from './config/cidr.js';

interface Subnet {
  family: 4 | 6;
  network: bigint;
  shift: bigint;
}

/** The host's connected subnets, from its interface addresses. */
export function connectedSubnets(interfaces = os.networkInterfaces()): Subnet[] {
  const out: Subnet[] = [];
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      const p = a.cidr ? parseCidr(a.cidr) : undefined;
      if (!p) continue;
      const shift = BigInt((p.family === 4 ? 32 : 128) - p.length);
      out.push({ family: p.family, network: addressToBigInt(p.address)!.value >> shift, shift });
    }
  }
  return out;
}

/** A next-hop check against connected subnets, re-read every `refreshMs` (calls `onChange` when they change). */
export function connectedResolver(
  refreshMs = 30_000,
  onChange?: () => void,
): { reachable: (nh: string) => boolean; stop: () => void } {
  let subnets = connectedSubnets();
  // Answers per next hop: the decision process asks once per path (a million for a full table).
  const known = new Map<string, boolean>();
  let signature = JSON.stringify(subnets, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const timer = setInterval(() => {
    const next = connectedSubnets();
    const sig = JSON.stringify(next, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
    if (sig === signature) return;
    subnets = next;
    signature = sig;
    known.clear();
    onChange?.();
  }, refreshMs);
  timer.unref();
  return {
    reachable(nh: string): boolean {
      let r = known.get(nh);
      if (r !== undefined) return r;
      const a = addressToBigInt(nh);
      r = !!a && a.value !== 0n && subnets.some((s) => s.family === a.family && a.value >> s.shift === s.network);
      if (known.size >= 100_000) known.clear();
      known.set(nh, r);
      return r;
    },
    stop: () => clearInterval(timer),
  };
}
