import v8 from 'node:v8';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { column, grow, growTogether, IdIndex, RESERVE_ROWS } from './id-index.js';

describe('growable columns', () => {
  it('a long column grows over the buffer it reserved: no copy, values kept, new rows filled', () => {
    const a = column(Int32Array, RESERVE_ROWS);
    a[0] = 1;
    a[RESERVE_ROWS - 1] = 2;
    const b = grow(a, RESERVE_ROWS * 2, -1);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(RESERVE_ROWS * 2);
    expect([b[0], b[RESERVE_ROWS - 1], b[RESERVE_ROWS], b[RESERVE_ROWS * 2 - 1]]).toEqual([1, 2, -1, -1]);
    const f = grow(column(Float64Array, RESERVE_ROWS), RESERVE_ROWS + 1);
    expect(f[RESERVE_ROWS]).toBe(0);
  });

  it('reserving is not external memory to V8 (it started full collections during an ingest), unless asked', () => {
    const external = () => v8.getHeapStatistics().external_memory;
    const before = external();
    const kept = [
      column(Uint32Array, RESERVE_ROWS),
      ...growTogether([new Float64Array(4), new Uint8Array(4)], RESERVE_ROWS),
    ];
    expect(external() - before).toBeLessThan(16 * 2 ** 20); // 128 + 288 MB reserved
    const counted = column(Uint8Array, RESERVE_ROWS, true);
    expect(external() - before).toBeGreaterThanOrEqual(32 * 2 ** 20);
    expect([...kept, counted].map((c) => c.length)).toEqual([RESERVE_ROWS, RESERVE_ROWS, RESERVE_ROWS, RESERVE_ROWS]);
  });

  it('a short column grows by copying until it is long, then over its reserved buffer', () => {
    const a = column(Uint16Array, 2);
    a.set([7, 8]);
    const b = grow(a, 4, 9);
    expect(b.buffer).not.toBe(a.buffer);
    expect([...b]).toEqual([7, 8, 9, 9]);
    const c = grow(b, RESERVE_ROWS);
    expect([c[0], c[1], c[2], c[RESERVE_ROWS - 1]]).toEqual([7, 8, 9, 0]);
    expect(grow(c, RESERVE_ROWS * 4).buffer).toBe(c.buffer);
    expect(grow(Uint8Array.from([1]), 2)).toEqual(Uint8Array.from([1, 0])); // any typed array grows
  });

  it('columns growing together take one reserved buffer, in regions that do not overlap', () => {
    const short = [Int32Array.from([1, 2]), Uint8Array.from([3, 4]), Uint16Array.from([5, 6])] as const;
    const [a, b, c] = growTogether(short, RESERVE_ROWS);
    expect(a.buffer).toBe(b.buffer);
    expect(b.buffer).toBe(c.buffer);
    expect([a[1], b[1], c[1], a[2], b[RESERVE_ROWS - 1]]).toEqual([2, 4, 6, 0, 0]);
    const [a2, b2, c2] = growTogether([a, b, c] as const, RESERVE_ROWS * 64);
    expect(a2.buffer).toBe(a.buffer); // views: no copy
    const last = RESERVE_ROWS * 64 - 1;
    a2[last] = -1;
    b2[last] = 255;
    c2[last] = 65535;
    expect([a2[0], b2[0], c2[0], a2[last], b2[last], c2[last]]).toEqual([1, 3, 5, -1, 255, 65535]);
    // A column grown alone later still has its room.
    expect(grow(b2, RESERVE_ROWS * 128, 7).buffer).toBe(a.buffer);
  });

  it('reserving columns takes address space, not memory', () => {
    const before = process.memoryUsage().rss;
    const cols = Array.from({ length: 16 }, () => grow(column(Float64Array, RESERVE_ROWS), RESERVE_ROWS * 8));
    const grew = process.memoryUsage().rss - before;
    expect(cols.every((c) => c.buffer.byteLength >= 2 ** 25)).toBe(true); // 16 x 256 MB reserved
    expect(grew).toBeLessThan(64 * 2 ** 20); // the pages nobody wrote stay untouched
  });
});

// A poor hash on purpose (long clusters, equal tags): probes cross many rows.
const hash = (k: number) => Math.imul(k % 1013, 0x9e3779b1);

/** An index over a table of keys by row number (undefined: a free row); `reads` counts rows the index read. */
function indexed() {
  const keys: (number | undefined)[] = [];
  const t = { keys, reads: 0, idx: null as unknown as IdIndex };
  t.idx = new IdIndex(
    (id) => hash(keys[id]!),
    {
      count: () => keys.length,
      each: (from, to, place) => {
        for (let id = from; id < to; id++) {
          t.reads += 1;
          if (keys[id] !== undefined) place(id, hash(keys[id]!));
        }
      },
    },
    16,
  );
  return t;
}

function find(t: ReturnType<typeof indexed>, key: number): number {
  const h = hash(key);
  for (let i = t.idx.start(h); ; i = t.idx.next(i)) {
    const id = t.idx.at(i);
    if (id < 0 || (t.idx.tagged(i, h) && t.keys[id] === key)) return id;
  }
}

describe('IdIndex', () => {
  it('doubles a few rows per insert: no insert reads every row again', () => {
    const t = indexed();
    let most = 0;
    for (let id = 0; id < 5000; id++) {
      t.keys[id] = id * 7;
      t.reads = 0;
      t.idx.insert(id, hash(id * 7));
      most = Math.max(most, t.reads);
      expect(find(t, id * 7)).toBe(id);
      expect(find(t, id * 7 + 1)).toBe(-1);
    }
    expect(most).toBeLessThanOrEqual(16);
    for (let id = 0; id < 5000; id++) expect(find(t, id * 7)).toBe(id);
  });

  it('writes at most two pages of its arrays for the first time per insert (each costs a page fault)', () => {
    // Every index array is watched: the 4 KB pages (1,024 slots) written so far.
    const written = new Set<string>();
    let fresh = 0;
    let arrays = 0;
    const alloc = (n: number): Int32Array => {
      const a = new Int32Array(n);
      const tag = arrays++;
      return new Proxy(a, {
        set(t, k, v) {
          if (typeof k === 'string') {
            const page = `${tag}:${Number(k) >> 10}`;
            if (!written.has(page)) {
              written.add(page);
              fresh += 1;
            }
          }
          return Reflect.set(t, k, v, t);
        },
        get(t, k) {
          const v = Reflect.get(t, k, t);
          return typeof v === 'function' ? v.bind(t) : v;
        },
      });
    };
    const good = (k: number) => Math.imul(k, 0x9e3779b1);
    const keys: number[] = [];
    const idx = new IdIndex(
      (id) => good(keys[id]!),
      {
        count: () => keys.length,
        each: (from, to, place) => {
          for (let id = from; id < to; id++) place(id, good(keys[id]!));
        },
      },
      16,
      alloc,
    );
    let most = 0;
    for (let id = 0; id < 40_000; id++) {
      keys[id] = id * 7;
      fresh = 0;
      idx.insert(id, good(id * 7));
      most = Math.max(most, fresh);
    }
    expect(arrays).toBeGreaterThanOrEqual(13); // 16 slots doubled to 131,072 (128 pages)
    expect(most).toBeLessThanOrEqual(2);
    for (let id = 0; id < 40_000; id += 97) {
      const h = good(id * 7);
      let i = idx.start(h);
      while (idx.at(i) >= 0 && idx.at(i) !== id) i = idx.next(i);
      expect(idx.at(i)).toBe(id);
    }
  });

  it('builds its large arrays in two reserved buffers by turns, and finds every row, deleted ones gone', () => {
    const buffers = new Set<ArrayBufferLike>();
    const alloc = (n: number): Int32Array => column(Int32Array, n);
    const good = (k: number) => Math.imul(k + 1, 0x9e3779b1);
    const keys: number[] = [];
    const idx = new IdIndex(
      (id) => good(keys[id]!),
      {
        count: () => keys.length,
        each: (from, to, place) => {
          for (let id = from; id < to; id++) if (keys[id]! >= 0) place(id, good(keys[id]!));
        },
      },
      1024,
      alloc,
    );
    const find = (key: number): number => {
      const h = good(key);
      for (let i = idx.start(h); ; i = idx.next(i)) {
        const id = idx.at(i);
        if (id < 0 || (idx.tagged(i, h) && keys[id] === key)) return id;
      }
    };
    const peek = () => (idx as unknown as { slots: Int32Array }).slots.buffer;
    for (let id = 0; id < 300_000; id++) {
      keys[id] = id * 3;
      idx.insert(id, good(id * 3));
      if (id % 5 === 4) {
        idx.delete(id - 2, good(keys[id - 2]!)); // rows gone before a doubling must not come back
        keys[id - 2] = -1;
      }
      buffers.add(peek());
    }
    // 240,000 rows: 1,024 slots doubled to 2^19; from 2^16 (reserved) up, in two buffers by turns.
    expect(idx.bits).toBe(19);
    expect([...buffers].filter((b) => b.byteLength > 4 * 65536).length).toBe(2);
    for (let id = 0; id < 300_000; id++) expect(find(id * 3)).toBe(keys[id] === -1 ? -1 : id);
  });

  it('finds exactly what a map holds through inserts, deletes, reused rows and doublings', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 3000 }),
        (ops) => {
          const t = indexed();
          const rows = new Map<number, number>(); // key -> row
          const free: number[] = [];
          for (const [add, key] of ops) {
            const row = rows.get(key);
            if (add && row === undefined) {
              const r = free.pop() ?? t.keys.length;
              t.keys[r] = key;
              rows.set(key, r);
              t.idx.insert(r, hash(key));
            } else if (!add && row !== undefined) {
              expect(t.idx.delete(row, hash(key))).toBe(true);
              t.keys[row] = undefined;
              rows.delete(key);
              free.push(row);
            }
            expect(find(t, key)).toBe(rows.get(key) ?? -1);
          }
          expect(t.idx.size).toBe(rows.size);
          for (const [key, row] of rows) expect(find(t, key)).toBe(row);
          // Each row once: a second delete finds nothing.
          for (const [key, row] of rows) {
            expect(t.idx.delete(row, hash(key))).toBe(true);
            expect(t.idx.delete(row, hash(key))).toBe(false);
          }
        },
      ),
      { numRuns: 80 },
    );
  });
});

/**
 * An index over keys 0..n-1 with two hash functions: 0 spreads keys (`good`), 1 keeps their order
 * (key k at k/n of the range: the slot rises with the key), as BIRD's hash does for its table.
 */
function twoHashes(n: number) {
  const keys: number[] = [];
  const good = (k: number) => Math.imul(k + 1, 0x9e3779b1);
  const ordered = (k: number, bits: number) =>
    (Math.floor((k / n) * 2 ** 32) >>> (32 - bits)) | ((Math.imul(k, 0x2c1b3c6d) >>> 26) << 26);
  const hashOf = (k: number, mode: number, bits: number) => (mode === 1 ? ordered(k, bits) : good(k));
  const idx = new IdIndex(
    (id, mode, bits) => hashOf(keys[id]!, mode, bits),
    {
      modes: 2,
      count: () => keys.length,
      each: (from, to, place, mode, bits) => {
        for (let id = from; id < to; id++) if (keys[id] !== undefined) place(id, hashOf(keys[id]!, mode, bits));
      },
    },
    1024,
  );
  const find = (key: number): number => {
    const h = hashOf(key, idx.mode, idx.bits);
    for (let i = idx.start(h); ; i = idx.next(i)) {
      const id = idx.at(i);
      if (id < 0 || (idx.tagged(i, h) && keys[id] === key)) return id;
    }
  };
  /** Row `row` (a new one, or one freed before) takes `key`. */
  const put = (row: number, key: number) => {
    keys[row] = key;
    idx.insert(row, hashOf(key, idx.mode, idx.bits));
  };
  const add = (key: number) => put(keys.length, key);
  return { keys, idx, find, add, put, hashOf };
}

describe('IdIndex with a second, ordered hash function', () => {
  it("takes it when rows come in its order, sized at once for the table the sample's span foretells", () => {
    const n = 16_000;
    const t = twoHashes(n);
    const sizes = new Set<number>();
    for (let k = 0; k < n; k++) {
      t.add(k);
      sizes.add(t.idx.bits);
    }
    expect(t.idx.mode).toBe(1);
    // 1.6 x 16,000 rows: 2^15 slots, in one step from the first array's 2^10 (and under half full).
    expect(t.idx.bits).toBe(15);
    expect([...sizes]).toEqual([10, 15]);
    for (let k = 0; k < n; k++) expect(t.find(k)).toBe(k);
    expect(t.find(n)).toBe(-1);
  });

  it('keeps the spreading one when rows come in no order', () => {
    const n = 20_000;
    const t = twoHashes(n);
    const order = Array.from({ length: n }, (_, i) => Math.imul(i, 7919) % n); // 7919 is prime: a permutation
    for (const k of order) t.add(k);
    expect(t.idx.mode).toBe(0);
    for (let id = 0; id < n; id += 7) expect(t.find(order[id]!)).toBe(id);
  });

  it('gives the ordered one up for good when more rows come than its array was sized for', () => {
    const n = 20_000;
    const t = twoHashes(n);
    for (let k = 0; k < 2000; k++) t.add(k); // the order of a 20,000-row table: 2^15 slots
    expect(t.idx.mode).toBe(1);
    // Then 12,000 more whose ordered hashes wrap to the first 60% of the range (n*10+j as j): over
    // the first 2,000, the array's first tenth is more than full.
    for (let j = 0; j < 12_000; j++) t.add(n * 10 + j);
    expect(t.idx.mode).toBe(0);
    for (let id = 0; id < t.keys.length; id += 3) expect(t.find(t.keys[id]!)).toBe(id);
    // And never takes it again, however ordered the rows that follow.
    for (let k = 2000; k < n; k++) t.add(k);
    expect(t.idx.mode).toBe(0);
    for (let id = 0; id < t.keys.length; id += 5) expect(t.find(t.keys[id]!)).toBe(id);
  });

  it('finds exactly what a map holds through inserts and deletes while it changes hash functions', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 2000, maxLength: 4000 }), (picks) => {
        const n = 8000;
        const t = twoHashes(n);
        const live = new Map<number, number>(); // key -> row
        const liveKeys: number[] = [];
        const free: number[] = [];
        for (let k = 0; k < picks.length; k++) {
          // A new key takes a freed row when there is one (as the RIB's prefixes do): inserts then
          // land behind the pass of an array being built, with the next array's hash function.
          const row = free.pop() ?? t.keys.length;
          t.put(row, k);
          live.set(k, row);
          liveKeys.push(k);
          // Now and then a delete of any live key, old ones (behind the pass) included.
          if (picks[k]! % 8 === 0) {
            const at = picks[k]! % liveKeys.length;
            const victim = liveKeys[at]!;
            liveKeys[at] = liveKeys[liveKeys.length - 1]!;
            liveKeys.pop();
            const r = live.get(victim)!;
            expect(t.idx.delete(r, t.hashOf(victim, t.idx.mode, t.idx.bits))).toBe(true);
            t.keys[r] = undefined as unknown as number;
            live.delete(victim);
            free.push(r);
          }
        }
        expect(t.idx.mode).toBe(1); // the keys came in order: it did change hash functions
        expect(t.idx.size).toBe(live.size);
        for (const [key, row] of live) expect(t.find(key)).toBe(row);
      }),
      { numRuns: 20 },
    );
  });
});
