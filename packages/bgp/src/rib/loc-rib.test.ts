import { describe, expect, it } from 'vitest';
import { AttrTable } from './attr-table.js';
import { DEFAULT_DECISION } from './decision.js';
import { LocRib } from './loc-rib.js';
import type { Path, PathSource } from './path.js';

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

describe('LocRib (one path held without an array, several in one)', () => {
  it('adds, replaces and removes paths, and selects over one, two and three', () => {
    const attrs = new AttrTable();
    const rib = new LocRib(attrs, DEFAULT_DECISION);
    const set = (nh: string, localPref = 100) => attrs.intern({ origin: 'igp', asPath: [], localPref }, nh);
    const path = (src: PathSource, nh: string, localPref = 100): Path => {
      const a = set(nh, localPref);
      return { source: src, key: 42, pathId: 0, attrs: a, raw: a, accepted: true, stale: false, since: 0 };
    };
    const [s1, s2, s3] = [source(1), source(2), source(3)];
    const changes: number[] = [];
    const run = () => rib.process(100, (c) => changes.push(c.dest.paths.length));
    rib.install(path(s2, '198.18.1.2'));
    run();
    const d = rib.get(42)!;
    expect(d.paths.map((p) => p.source)).toEqual([s2]);
    expect(d.best?.source).toBe(s2);
    rib.install(path(s1, '198.18.1.1'));
    rib.install(path(s3, '198.18.1.3', 200));
    run();
    expect(d.size).toBe(3);
    expect(rib.paths).toBe(3);
    expect(d.best?.source).toBe(s3);
    // Replacing keeps the count; removing goes back to one path, then none.
    rib.install(path(s3, '198.18.1.3', 50));
    run();
    expect(rib.paths).toBe(3);
    expect(d.best?.source).toBe(s1);
    expect(d.ecmpRest.map((p) => p.source)).toEqual([s2]);
    expect(rib.remove(42, s1, 0)).toBe(true);
    expect(rib.remove(42, s1, 0)).toBe(false);
    expect(rib.remove(42, s2, 0)).toBe(true);
    run();
    expect(d.paths.map((p) => p.source)).toEqual([s3]);
    expect(d.find(s3, 0)?.attrs.localPref).toBe(50);
    expect(d.find(s2, 0)).toBeUndefined();
    expect(rib.remove(42, s3, 0)).toBe(true);
    run();
    expect(rib.get(42)).toBeUndefined();
    expect(rib.size).toBe(0);
    expect(rib.paths).toBe(0);
    expect(attrs.size).toBe(0);
    expect(changes.at(-1)).toBe(0);
  });
});
