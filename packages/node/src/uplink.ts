import { networkInterfaces } from 'node:os';
import { addressToBigInt } from '@tabby/bgp';

type Interfaces = ReturnType<typeof networkInterfaces>;

/**
 * The interface a node's address lives on, as the kernel would pick it to reach the other nodes:
 * the one holding the address itself, else the one whose connected subnet contains it (the longest
 * such subnet: 127.0.0.11 is reached through `lo`'s 127.0.0.0/8). Undefined when none does.
 * `address` may carry a prefix length (`198.18.0.1/24`, as a Node's `ipv4Address`).
 */
export function interfaceOf(address: string, interfaces: Interfaces = networkInterfaces()): string | undefined {
  const want = addressToBigInt(address.split('/')[0]!);
  if (!want) return undefined;
  let best: { name: string; len: number } | undefined;
  for (const [name, addrs] of Object.entries(interfaces)) {
    for (const a of addrs ?? []) {
      const have = addressToBigInt(a.address.split('%')[0]!);
      const len = Number(a.cidr?.split('/')[1]);
      if (!have || have.family !== want.family || !Number.isInteger(len)) continue;
      if (have.value === want.value) return name;
      const bits = want.family === 4 ? 32 : 128;
      const shift = BigInt(bits - len);
      if (have.value >> shift === want.value >> shift && len > (best?.len ?? -1)) best = { name, len };
    }
  }
  return best?.name;
}
