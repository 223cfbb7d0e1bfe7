import { Afi, PrefixList } from '@tabby/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AttrTable } from './attr-table.js';
import { DEFAULT_DECISION, selectBest } from './decision.js';
import { LocRib, NONE } from './loc-rib.js';
import type { AttrSet, PathSource } from './path.js';
import { type PrefixKey, v4Key } from './prefix-key.js';

const source = (id: number): PathSource => ({
  id,
  name: `p${id}`,
  address: `198.18.0.${id}`,
  addressKey: BigInt(id),
  routerId: id,
  asn: 64512,
  ibgp: true,
  rrClient: false,
  local: false,
});

/** The i-th /24 from 11.0.0.0 up. */
const key = (i: number) => v4Key(((11 << 24) + i * 256) >>> 0, 24);

/**
 * `put(i, s)` stores key(i) from `s` through 198.18.1.<s's id>, interning the set anew each time
 * (a set is freed with its last route).
 */
function freshPut(attrs: AttrTable, rib: LocRib) {
  return (i: number, s: PathSource) => {
    const a = attrs.intern({ origin: 'igp', asPath: [] }, `198.18.1.${s.id}`);
    return rib.put(key(i), s, 0, a, a, 0);
  };
}

/** An empty RIB and one attribute set in its table. */
function oneSetRib() {
  const attrs = new AttrTable();
  const rib = new LocRib(attrs, DEFAULT_DECISION);
  return { rib, a: attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1') };
}

describe('LocRib (columnar routes, one chain per prefix and per source)', () => {
  it('finds every prefix after its index doubled many times, with prefixes freed between', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const s1 = source(1);
    const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
    for (let i = 0; i < 3000; i++) rib.put(key(i), s1, 0, a, a, 0);
    for (let i = 0; i < 3000; i += 3) rib.remove(rib.find(key(i), s1, 0));
    rib.process(1_000_000, () => {}); // frees the emptied prefixes
    rib.put('20010db8000000000000000000000000/32', s1, 0, a, a, 0); // an IPv6 row among them
    for (let i = 3000; i < 20_000; i++) rib.put(key(i), s1, 0, a, a, 0);
    for (let i = 0; i < 20_000; i++) expect(rib.find(key(i), s1, 0) === NONE).toBe(i < 3000 && i % 3 === 0);
    expect(rib.size).toBe(20_000 - 1000 + 1);
  });

  it('decides with nobody to tell, as it does when told: the same best routes, nothing left dirty', () => {
    const ribs = [0, 1].map(() => {
      const attrs = new AttrTable();
      const rib = new LocRib(attrs, DEFAULT_DECISION);
      const short = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
      const long = attrs.intern({ origin: 'igp', asPath: [{ kind: 'sequence', asns: [65001] }] }, '198.18.1.2');
      const [s1, s2] = [source(1), source(2)];
      for (let i = 0; i < 100; i++) rib.put(key(i), s1, 0, short, short, 0);
      for (let i = 0; i < 100; i += 2) rib.put(key(i), s2, 0, long, long, 0); // a longer AS path
      for (let i = 0; i < 100; i += 5) rib.remove(rib.find(key(i), s1, 0));
      return rib;
    });
    const [told, silent] = ribs as [LocRib, LocRib];
    const changes: PrefixKey[] = [];
    expect(told.process(1_000, (c) => changes.push(c.key))).toBe(0);
    expect(silent.process(1_000)).toBe(0);
    const best = (rib: LocRib) => [...rib.keys()].map((k) => rib.source(rib.best(rib.dest(k))).id);
    expect(best(silent)).toEqual(best(told));
    expect(changes.length).toBe(90); // the 10 prefixes left with no route had none before either
    expect(best(told).filter((id) => id === 2).length).toBe(10); // where source 1's route went
  });

  it('takes a forgotten source back under a number of its own, apart from the one that took its old number', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const [s1, s2] = [source(1), source(2)];
    const put = freshPut(attrs, rib);
    const forget = (s: PathSource) => {
      for (const r of [...rib.routesOf(s)]) rib.remove(r);
      rib.process(100, () => {}); // nothing left of it: forgotten, its number free
    };
    put(0, s1);
    forget(s1);
    const r1 = put(1, s1); // at once again
    expect([rib.source(r1), rib.routeCount(s1)]).toEqual([s1, 1]);
    forget(s1);
    const r2 = put(2, s2); // s2 takes that number
    const r3 = put(3, s1);
    expect([rib.source(r2), rib.source(r3)]).toEqual([s2, s1]);
    expect([rib.routeCount(s1), rib.routeCount(s2)]).toEqual([1, 1]);
    expect([...rib.routesOf(s2)]).toEqual([r2]);
  });

  it('keeps ECMP sets per prefix, and a freed prefix row taken again starts with none', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const [s1, s2] = [source(1), source(2)];
    const put = freshPut(attrs, rib);
    put(0, s1);
    put(0, s2);
    put(1, s1);
    rib.process(100, () => {});
    const d0 = rib.dest(key(0));
    expect(rib.ecmpMembers(d0).length).toBe(2);
    expect(rib.ecmpRest(rib.dest(key(1)))).toEqual([]);
    // The partner goes: no set left.
    rib.remove(rib.find(key(0), s2, 0));
    rib.process(100, () => {});
    expect(rib.ecmpRest(d0)).toEqual([]);
    // A set again, then the prefix goes altogether and its row is taken by another.
    put(0, s2);
    rib.process(100, () => {});
    expect(rib.ecmpRest(d0).length).toBe(1);
    for (const s of [s1, s2]) rib.remove(rib.find(key(0), s, 0));
    rib.process(100, () => {});
    expect(rib.dest(key(0))).toBe(NONE);
    put(2, s1);
    expect(rib.dest(key(2))).toBe(d0);
    rib.process(100, () => {});
    expect(rib.ecmpMembers(d0)).toEqual([rib.find(key(2), s1, 0)]);
  });

  it('reports changes of paths that are neither best nor ECMP members apart (ADD-PATH select all)', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const put = (src: PathSource, localPref: number) => {
      const a = attrs.intern({ origin: 'igp', asPath: [], localPref }, `198.18.1.${src.id}`);
      return rib.put(42, src, 0, a, a, 0);
    };
    const [s1, s2] = [source(1), source(2)];
    const seen: string[] = [];
    const run = () =>
      rib.process(
        100,
        () => seen.push('best'),
        () => seen.push('other'),
      );
    put(s1, 200);
    run();
    put(s2, 100); // a worse path arrives
    run();
    put(s2, 90); // and changes
    run();
    rib.remove(rib.find(42, s2, 0)); // and goes
    run();
    expect(seen).toEqual(['best', 'other', 'other', 'other']);
  });

  it('adds, replaces and removes routes, and selects over one, two and three', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const set = (nh: string, localPref = 100) => attrs.intern({ origin: 'igp', asPath: [], localPref }, nh);
    const put = (src: PathSource, nh: string, localPref = 100) => {
      const a = set(nh, localPref);
      return rib.put(42, src, 0, a, a, 0);
    };
    const [s1, s2, s3] = [source(1), source(2), source(3)];
    const changes: number[] = [];
    const run = () => rib.process(100, (c) => changes.push(rib.view(c.dest).paths.length));
    put(s2, '198.18.1.2');
    run();
    expect(rib.get(42)!.paths.map((p) => p.source)).toEqual([s2]);
    expect(rib.get(42)!.best?.source).toBe(s2);
    put(s1, '198.18.1.1');
    const r3 = put(s3, '198.18.1.3', 200);
    run();
    expect(rib.get(42)!.paths).toHaveLength(3);
    expect(rib.paths).toBe(3);
    expect(rib.get(42)!.best?.source).toBe(s3);
    // Replacing keeps the count and reports the change; removing goes back to one route, then none.
    // A selected route is never changed in place: its replacement is a new route.
    const n = changes.length;
    const r3b = put(s3, '198.18.1.3', 50);
    expect(r3b).not.toBe(r3);
    expect(rib.find(42, s3, 0)).toBe(r3b);
    run();
    expect(changes.length).toBe(n + 1);
    expect(rib.paths).toBe(3);
    expect(rib.get(42)!.best?.source).toBe(s1);
    expect(rib.get(42)!.ecmpRest.map((p) => p.source)).toEqual([s2]);
    // A route that is not selected is replaced in place.
    expect(put(s3, '198.18.1.3', 40)).toBe(r3b);
    // The best's replacement is a change too, even with the same source.
    put(s1, '198.18.1.9');
    run();
    expect(changes.length).toBe(n + 2);
    rib.remove(rib.find(42, s1, 0));
    expect(rib.find(42, s1, 0)).toBe(NONE);
    rib.remove(rib.find(42, s2, 0));
    run();
    expect(rib.get(42)!.paths.map((p) => p.source)).toEqual([s3]);
    expect(rib.attrs(rib.find(42, s3, 0)).localPref).toBe(40);
    rib.remove(rib.find(42, s3, 0));
    run();
    expect(rib.get(42)).toBeUndefined();
    expect(rib.dest(42)).toBe(NONE);
    expect(rib.size).toBe(0);
    expect(rib.paths).toBe(0);
    expect(attrs.size).toBe(0);
    expect(changes.at(-1)).toBe(0);
  });

  it('keeps rejected routes (Adj-RIB-In) out of the Loc-RIB, and counts per source', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
    const s = source(1);
    const r = rib.put(7, s, 0, a, null, 5);
    rib.process(10, () => {});
    expect(rib.size).toBe(0);
    expect(rib.get(7)).toBeUndefined();
    expect([rib.routeCount(s), rib.acceptedCount(s)]).toEqual([1, 0]);
    rib.setImport(r, a, 6);
    rib.process(10, () => {});
    expect(rib.get(7)?.best?.route).toBe(r);
    expect([rib.routeCount(s), rib.acceptedCount(s), rib.since(r)]).toEqual([1, 1, 6]);
    rib.setStale(r, true);
    expect(rib.stale(r)).toBe(true);
    expect([...rib.routesOf(s)]).toEqual([r]);
    rib.remove(r);
    rib.process(10, () => {});
    expect([rib.routeCount(s), rib.size, attrs.size]).toEqual([0, 0, 0]);
  });
});

describe('LocRib: route rows', () => {
  it("a source's rows go back once its routes are gone, and the next source takes them", () => {
    const { rib, a } = oneSetRib();
    const [s1, s2, s3] = [source(1), source(2), source(3)];
    const first = Array.from({ length: 100 }, (_, i) => rib.put(key(i), s1, 0, a, a, 0));
    // A second source's routes interleaved: each source's routes are listed, in rows of its own.
    const other = Array.from({ length: 40 }, (_, i) => rib.put(key(i), s2, 0, a, a, 0));
    expect(new Set([...first, ...other]).size).toBe(140);
    expect([...rib.routesOf(s1)].sort((x, y) => x - y)).toEqual([...first].sort((x, y) => x - y));
    expect([...rib.routesOf(s2)].sort((x, y) => x - y)).toEqual([...other].sort((x, y) => x - y));
    rib.process(1000, () => {});
    for (const r of rib.routesOf(s1)) rib.remove(r);
    rib.process(1000, () => {});
    expect([rib.routeCount(s1), [...rib.routesOf(s1)].length, rib.routeCount(s2)]).toEqual([0, 0, 40]);
    const highest = Math.max(...first, ...other);
    const third = Array.from({ length: 100 }, (_, i) => rib.put(key(200 + i), s3, 0, a, a, 0));
    expect(Math.max(...third)).toBeLessThanOrEqual(highest);
    expect(third.every((r) => rib.source(r) === s3 && !other.includes(r))).toBe(true);
  });
});

describe('LocRib: listing a source while its routes go', () => {
  it('ends when the source is gone, though another source took its number and its rows', () => {
    const { rib, a } = oneSetRib();
    const [s1, s2] = [source(1), source(2)];
    rib.put(key(0), s1, 0, a, a, 0);
    rib.put(key(1), s1, 0, a, a, 0);
    rib.process(10, () => {});
    // A dropped session's routes are removed a slice at a time, its listing paused in between.
    const it = rib.routesOf(s1);
    for (let i = 0; i < 2; i++) rib.remove(it.next().value as number);
    rib.process(10, () => {}); // frees the retired routes: s1 is forgotten
    const theirs = Array.from({ length: 4 }, (_, i) => rib.put(key(5 + i), s2, 0, a, a, 0));
    expect(it.next().done).toBe(true);
    expect([rib.routeCount(s2), ...theirs.map((r) => rib.source(r) === s2)]).toEqual([4, true, true, true, true]);
  });
});

describe('LocRib: the FIB column', () => {
  it('holds any feed entry number, and a reused prefix number starts with none', () => {
    const { rib, a } = oneSetRib();
    const s = source(1);
    const r = rib.put(v4Key(0x0b000000, 24), s, 0, a, a, 0);
    rib.put(v4Key(0x0b000100, 24), s, 0, a, a, 0);
    const [d, e] = [rib.dest(v4Key(0x0b000000, 24)), rib.dest(v4Key(0x0b000100, 24))];
    for (const v of [65534, 65535, 70000, 5, 1 << 30]) {
      rib.setFib(d, v);
      rib.setFib(e, v + 1);
      expect([rib.fib(d), rib.fib(e)]).toEqual([v, v + 1]);
    }
    rib.process(10, () => {});
    rib.remove(r);
    rib.process(10, () => {});
    expect(rib.dest(v4Key(0x0b000000, 24))).toBe(NONE);
    rib.put(v4Key(0x0c000000, 24), s, 0, a, a, 0);
    expect(rib.dest(v4Key(0x0c000000, 24))).toBe(d);
    expect([rib.fib(d), rib.fib(e)]).toEqual([0, (1 << 30) + 1]);
  });
});

describe('LocRib: dirty prefixes', () => {
  it('decides each dirty prefix once, in the order marked, across growths of a wrapped ring', () => {
    const { rib, a } = oneSetRib();
    const s = source(1);
    const seen: PrefixKey[] = [];
    for (let i = 0; i < 1000; i++) rib.put(key(i), s, 0, a, a, 0);
    rib.process(700, (c) => seen.push(c.key));
    // The ring's head is past its start: what is marked now wraps, then the ring grows twice.
    for (let i = 1000; i < 5000; i++) rib.put(key(i), s, 0, a, a, 0);
    expect(rib.pending).toBe(4300);
    rib.process(1_000_000, (c) => seen.push(c.key));
    expect(seen).toEqual(Array.from({ length: 5000 }, (_, i) => key(i)));
  });
});

describe('LocRib: what was decided stays readable until the next decision', () => {
  it('a removed or replaced best route keeps its attributes for the exports until processed', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const a1 = attrs.intern({ origin: 'igp', asPath: [], localPref: 100 }, '198.18.1.1');
    const a2 = attrs.intern({ origin: 'igp', asPath: [], localPref: 100 }, '198.18.1.2');
    const s = source(1);
    const x = rib.put(10, s, 0, a1, a1, 0);
    rib.process(10, () => {});
    const dx = rib.dest(10);
    expect(rib.best(dx)).toBe(x);
    // Withdrawn, then another prefix arrives before the decision runs: the number is not reused
    // while X's best still names it, and X still reads as decided.
    rib.remove(x);
    const y = rib.put(20, s, 0, a2, a2, 0);
    expect(y).not.toBe(x);
    expect([rib.best(dx), rib.attrs(rib.best(dx)).nextHop, rib.source(rib.best(dx))]).toEqual([x, '198.18.1.1', s]);
    expect(rib.get(10)?.best?.attrs.nextHop).toBe('198.18.1.1');
    expect([rib.routeCount(s), rib.find(10, s, 0)]).toEqual([1, NONE]);
    const changed: PrefixKey[] = [];
    rib.process(10, (c) => changed.push(c.key));
    expect(changed.sort()).toEqual([10, 20]);
    expect([rib.dest(10), rib.get(10)]).toEqual([NONE, undefined]);
    // Replaced while selected: rejected by a new import result, the old choice stays until decided.
    const ry = rib.find(20, s, 0);
    rib.setImport(ry, null, 1);
    expect(rib.attrs(rib.best(rib.dest(20))).nextHop).toBe('198.18.1.2');
    expect(rib.accepted(rib.best(rib.dest(20)))).toBe(true);
    rib.process(10, () => {});
    expect(rib.best(rib.dest(20))).toBe(NONE);
    expect([rib.routeCount(s), rib.acceptedCount(s), rib.size]).toEqual([1, 0, 0]);
    rib.remove(rib.find(20, s, 0));
    rib.process(10, () => {});
    expect(attrs.size).toBe(0);
  });
});

describe('LocRib: a list of prefixes stored at once', () => {
  it('holds, counts, references and decides exactly as storing each prefix in turn', () => {
    // A few /24s and a /32, often repeated (within a list too) and from several sources.
    const pool = [0, 1, 2, 3, 4, 5].map((i) => ({ addr: (0x0a000000 + i * 256) >>> 0, len: 24 }));
    pool.push({ addr: 0x0a0000ff, len: 32 });
    const batchArb = fc.record({
      kind: fc.constantFrom('list', 'list', 'list', 'process'),
      prefixes: fc.array(fc.constantFrom(...pool), { maxLength: 8 }),
      source: fc.integer({ min: 1, max: 3 }),
      lp: fc.integer({ min: 1, max: 3 }),
      accept: fc.boolean(),
      keep: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.array(batchArb, { minLength: 1, maxLength: 60 }), (batches) => {
        const sides = [0, 1].map(() => {
          const attrs = new AttrTable();
          return { attrs, rib: new LocRib(attrs, DEFAULT_DECISION), sources: [source(1), source(2), source(3)] };
        });
        const changes: string[][] = [[], []];
        for (const b of batches) {
          sides.forEach(({ attrs, rib, sources }, side) => {
            if (b.kind === 'process') {
              rib.process(1e9, (c) => changes[side]!.push(String(c.key)));
              return;
            }
            const set = attrs.intern({ origin: 'igp', asPath: [], localPref: b.lp }, `198.18.1.${b.source}`);
            const raw = b.keep || !b.accept ? set : null;
            const post = b.accept ? set : null;
            const src = sources[b.source - 1]!;
            if (side === 0) {
              const list = new PrefixList(
                Afi.ipv4,
                Uint8Array.from(b.prefixes.map((p) => p.len)),
                Uint32Array.from(b.prefixes.map((p) => p.addr)),
              );
              rib.putList(list, src, raw, post, 7);
            } else for (const p of b.prefixes) rib.put(v4Key(p.addr, p.len), src, 0, raw, post, 7);
          });
          const [a, c] = sides as [(typeof sides)[0], (typeof sides)[0]];
          for (const p of pool) expect(a.rib.get(v4Key(p.addr, p.len))).toEqual(c.rib.get(v4Key(p.addr, p.len)));
          expect([a.rib.size, a.rib.paths, a.rib.pending]).toEqual([c.rib.size, c.rib.paths, c.rib.pending]);
          for (let i = 0; i < 3; i++) {
            expect(a.rib.routeCount(a.sources[i]!)).toBe(c.rib.routeCount(c.sources[i]!));
            expect(a.rib.acceptedCount(a.sources[i]!)).toBe(c.rib.acceptedCount(c.sources[i]!));
          }
          const refs = (t: AttrTable) =>
            [1, 2, 3].flatMap((lp) =>
              [1, 2, 3].map((s) => t.intern({ origin: 'igp', asPath: [], localPref: lp }, `198.18.1.${s}`).refs),
            );
          expect(refs(a.attrs)).toEqual(refs(c.attrs));
        }
        expect(changes[0]).toEqual(changes[1]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('LocRib against a model (fast-check)', () => {
  // Keys: IPv4 of every length (with /0 and /32), and a few IPv6; many, so the index grows and
  // deletes shift entries back.
  const keyArb = fc.oneof(
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
        .map(([a, l]) => v4Key(l === 0 ? 0 : ((a >>> (32 - l)) << (32 - l)) >>> 0, l)),
    },
    // A small pool, so routes are often replaced and removed before or after a decision.
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 9 }).map((i) => v4Key((0x0a000000 + i * 256) >>> 0, 24)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('20010db8000000000000000000000000/32', '20010db8000100000000000000000000/48'),
    },
  );
  const opArb = fc.record({
    kind: fc.constantFrom('put', 'put', 'put', 'remove', 'stale', 'import', 'process'),
    key: keyArb,
    source: fc.integer({ min: 1, max: 3 }),
    pathId: fc.integer({ min: 0, max: 1 }),
    lp: fc.integer({ min: 1, max: 3 }),
    /** LOCAL_PREF after import policy: 0 for the received set itself. */
    postLp: fc.constantFrom(0, 0, 1, 2, 3),
    accept: fc.boolean(),
  });

  it('finds, counts, selects and frees exactly as a map of routes would', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 20, maxLength: 400, size: 'max' }), (ops) => {
        const attrs = new AttrTable();
        const rib = new LocRib(attrs, DEFAULT_DECISION);
        const sources = [source(1), source(2), source(3)];
        const sets = new Map<number, AttrSet>();
        const setOf = (lp: number) => {
          let s = sets.get(lp);
          if (!s) {
            s = attrs.intern({ origin: 'igp', asPath: [], localPref: lp }, `198.18.1.${lp}`);
            attrs.ref(s); // held by the test, so it stays the table's set
            sets.set(lp, s);
          }
          return s;
        };
        type M = { lp: number; postLp: number; accept: boolean; stale: boolean };
        const model = new Map<string, M>();
        const id = (k: PrefixKey, s: number, p: number) => `${k}|${s}|${p}`;
        for (const op of ops) {
          const src = sources[op.source - 1]!;
          const mid = id(op.key, op.source, op.pathId);
          const postLp = op.postLp || op.lp;
          if (op.kind === 'put') {
            rib.put(op.key, src, op.pathId, setOf(op.lp), op.accept ? setOf(postLp) : null, 0);
            model.set(mid, { lp: op.lp, postLp, accept: op.accept, stale: false });
          } else if (op.kind === 'import') {
            const r = rib.find(op.key, src, op.pathId);
            const m = model.get(mid);
            if (r !== NONE && m) {
              const lp = op.postLp || m.lp;
              rib.setImport(r, op.accept ? setOf(lp) : null, 0);
              Object.assign(m, { postLp: lp, accept: op.accept });
            }
          } else if (op.kind === 'remove') {
            const r = rib.find(op.key, src, op.pathId);
            expect(r !== NONE).toBe(model.has(mid));
            if (r !== NONE) rib.remove(r);
            model.delete(mid);
          } else if (op.kind === 'stale') {
            const r = rib.find(op.key, src, op.pathId);
            if (r !== NONE) {
              rib.setStale(r, true);
              model.get(mid)!.stale = true;
            }
          } else rib.process(1000, () => {});
          // What the last decision chose is still that prefix's route (its number not reused).
          for (const d of rib.dests()) {
            const b = rib.best(d);
            if (b !== NONE) expect(rib.key(b)).toBe(rib.destKey(d));
          }
        }
        rib.process(1_000_000, () => {});
        // Every route is found where the model has it, with its flags.
        for (const [mid, m] of model) {
          const [k, s, p] = mid.split('|');
          const key: PrefixKey = k!.includes('/') ? k! : Number(k);
          const r = rib.find(key, sources[Number(s) - 1]!, Number(p));
          expect(r).not.toBe(NONE);
          expect([rib.accepted(r), rib.stale(r), rib.raw(r).localPref]).toEqual([m.accept, m.stale, m.lp]);
          expect(rib.attrs(r).localPref).toBe(m.accept ? m.postLp : m.lp);
        }
        const accepted = [...model].filter(([, m]) => m.accept);
        const prefixes = new Set(accepted.map(([mid]) => mid.split('|')[0]));
        expect(rib.paths).toBe(accepted.length);
        expect(rib.size).toBe(prefixes.size);
        for (const [i, s] of sources.entries()) {
          const mine = [...model].filter(([mid]) => mid.split('|')[1] === String(i + 1));
          expect(rib.routeCount(s)).toBe(mine.length);
          expect(rib.acceptedCount(s)).toBe(mine.filter(([, m]) => m.accept).length);
          expect(rib.staleCount(s)).toBe(mine.filter(([, m]) => m.stale).length);
          // Its routes, each once: the model's.
          const listed = [...rib.routesOf(s)].map((r) => `${rib.key(r)}|${i + 1}|${rib.pathId(r)}`);
          expect(listed.sort()).toEqual(mine.map(([mid]) => mid).sort());
        }
        // The best route and ECMP set of each prefix are what the decision process picks over its candidates.
        const route = (p: unknown) => (p as { route: number }).route;
        for (const d of rib.values()) {
          const sel = selectBest(d.paths, DEFAULT_DECISION);
          expect(d.best?.route).toBe(sel.best ? route(sel.best) : undefined);
          expect(d.ecmpRest.map(route)).toEqual(sel.ecmp.slice(1).map(route));
        }
        // Removing everything, each route as it is listed, frees every prefix and every reference.
        for (const s of sources) for (const r of rib.routesOf(s)) rib.remove(r);
        for (const s of sources) expect(rib.routeCount(s)).toBe(0);
        rib.process(1_000_000, () => {});
        expect([rib.size, rib.paths, [...rib.keys()].length]).toEqual([0, 0, 0]);
        for (const s of sets.values()) attrs.unref(s);
        expect(attrs.size).toBe(0);
        for (const op of ops) expect(rib.dest(op.key)).toBe(NONE);
      }),
      { numRuns: 100 },
    );
  });

  it('asks once per call whether a shared source and attribute set are usable, and again in the next call', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
    const b = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.2');
    const s1 = source(1);
    let asked = 0;
    let down = '';
    rib.usable = (r) => {
      asked += 1;
      return rib.attrs(r).nextHop !== down;
    };
    for (let i = 0; i < 100; i++) rib.put(key(i), s1, 0, i < 50 ? a : b, i < 50 ? a : b, 0);
    rib.process(1_000_000, () => {});
    expect(asked).toBe(2);
    expect(rib.best(rib.dest(key(0)))).not.toBe(NONE);
    down = '198.18.1.1';
    rib.markAllDirty();
    let chosen = 0;
    rib.process(1_000_000, (c) => {
      if (rib.best(c.dest) !== NONE) chosen += 1;
    });
    expect(asked).toBe(4);
    expect(chosen).toBe(50);
  });

  it('index: 30,000 keys in, a random half out, in random order: the rest are all found', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const attrs = new AttrTable();
        const rib = new LocRib(attrs, DEFAULT_DECISION);
        const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
        const s = source(1);
        let x = seed | 1;
        const next = (n: number) => {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          return (x >>> 0) % n;
        };
        const keys = [...new Set(Array.from({ length: 30_000 }, () => v4Key(next(0x7fffffff) * 2, 32)))];
        for (const k of keys) rib.put(k, s, 0, a, a, 0);
        const gone = new Set<number>();
        for (const k of keys) if (next(2) === 0) gone.add(k);
        for (const k of gone) rib.remove(rib.find(k, s, 0));
        rib.process(1_000_000, () => {});
        for (const k of keys) expect(rib.dest(k) === NONE).toBe(gone.has(k));
        expect(rib.size).toBe(keys.length - gone.size);
      }),
      { numRuns: 5 },
    );
  });

  it('index: runs of neighbouring prefixes of every length (whole blocks of the index) in and out', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ addr: fc.nat(), len: fc.integer({ min: 0, max: 32 }), run: fc.integer({ min: 1, max: 40 }) }),
          {
            minLength: 1,
            maxLength: 300,
          },
        ),
        fc.integer(),
        (runs, seed) => {
          const attrs = new AttrTable();
          const rib = new LocRib(attrs, DEFAULT_DECISION);
          const a = attrs.intern({ origin: 'igp', asPath: [] }, '198.18.1.1');
          const s = source(1);
          const keys = new Set<number>();
          for (const { addr, len, run } of runs) {
            const step = len === 0 ? 0 : 2 ** (32 - len);
            const base = len === 0 ? 0 : Math.floor(addr / step) * step;
            for (let i = 0; i < run && base + i * step < 2 ** 32; i++) keys.add(v4Key(base + i * step, len));
          }
          for (const k of keys) rib.put(k, s, 0, a, a, 0);
          let x = seed | 1;
          const gone = new Set<number>();
          for (const k of keys) {
            x ^= x << 13;
            x ^= x >>> 17;
            x ^= x << 5;
            if (x & 1) gone.add(k);
          }
          for (const k of gone) rib.remove(rib.find(k, s, 0));
          rib.process(1_000_000, () => {});
          for (const k of keys) expect(rib.dest(k) === NONE).toBe(gone.has(k));
          expect(rib.size).toBe(keys.size - gone.size);
        },
      ),
      { numRuns: 50 },
    );
  });
});
