import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrTable } from './attr-table.js';
import { DEFAULT_DECISION } from './decision.js';
import { LocRib, NONE } from './loc-rib.js';
import type { PathSource } from './path.js';
import { v4Key } from './prefix-key.js';
import { v4Hash } from './v4-hash.js';

/** BIRD 2's hash of an IPv4 prefix (lib/net.h, net_hash_ip4), written out apart from the code under test. */
const birdHash = (addr: number, len: number) => (Math.imul(addr, 2902958171) ^ ((len << 26) >>> 0)) >>> 0;

const source: PathSource = {
  id: 1,
  name: 'bird',
  address: '198.18.0.1',
  addressKey: 1n,
  routerId: 1,
  asn: 64512,
  ibgp: true,
  rrClient: false,
  local: false,
};

describe('the IPv4 index hash in BIRD order (mode 1)', () => {
  it("puts prefixes in BIRD's hash order in slots that never go down, for any array size", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })), {
          minLength: 2,
          maxLength: 300,
        }),
        fc.integer({ min: 10, max: 26 }),
        (raw, bits) => {
          const prefixes = raw.map(([a, len]) => {
            const addr = len === 0 ? 0 : (a & (-1 << (32 - len))) >>> 0; // host bits zero, as BIRD keeps them
            return { addr, len, key: v4Key(addr, len) };
          });
          prefixes.sort((x, y) => birdHash(x.addr, x.len) - birdHash(y.addr, y.len));
          const mask = (1 << bits) - 1;
          const slots = prefixes.map((p) => v4Hash(p.key, 1, bits) & mask);
          for (let i = 1; i < slots.length; i++) expect(slots[i]).toBeGreaterThanOrEqual(slots[i - 1]!);
        },
      ),
    );
  });
});

describe("the RIB's IPv4 index and the order a table comes in", () => {
  const table = 60_000;
  /** The i-th /24 from 11.0.0.0 up. */
  const addrOf = (i: number) => ((11 << 24) + i * 256) >>> 0;

  function load(order: number[]) {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
    for (const i of order) rib.put(v4Key(addrOf(i), 24), source, 0, a, a, 0);
    return rib;
  }

  it("takes BIRD's order for a table BIRD sends, and finds and removes every prefix", () => {
    const order = Array.from({ length: table }, (_, i) => i);
    order.sort((x, y) => birdHash(addrOf(x), 24) - birdHash(addrOf(y), 24));
    const rib = load(order);
    expect(rib.v4IndexMode).toBe(1);
    for (let i = 0; i < table; i++) expect(rib.dest(v4Key(addrOf(i), 24))).not.toBe(NONE);
    expect(rib.dest(v4Key(addrOf(table), 24))).toBe(NONE);
    // Withdrawn in address order (not BIRD's): each found and removed.
    for (let i = 0; i < table; i++) rib.remove(rib.find(v4Key(addrOf(i), 24), source, 0));
    rib.process(1_000_000, () => {});
    for (let i = 0; i < table; i += 7) expect(rib.dest(v4Key(addrOf(i), 24))).toBe(NONE);
    expect(rib.size).toBe(0);
  });

  it('keeps its own hash for a table in address order (as FRR sends it)', () => {
    const rib = load(Array.from({ length: table }, (_, i) => i));
    expect(rib.v4IndexMode).toBe(0);
    for (let i = 0; i < table; i += 3) expect(rib.dest(v4Key(addrOf(i), 24))).not.toBe(NONE);
  });
});
