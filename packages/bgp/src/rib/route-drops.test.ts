import { describe, expect, it } from 'vitest';
import { config, FakePeer, rib as newRib } from '../stage-fixtures.js';
import { prefixKeyFromText } from './prefix-key.js';
import { RouteDrops } from './route-drops.js';

describe('route drops', () => {
  it('removes a dead source’s routes a slice at a time, and nothing of the live ones', () => {
    const c = config('peers:\n  - { name: a, address: 198.18.0.1, asn: 64512 }\n');
    const { rib, attrs } = newRib(c);
    const old = new FakePeer(c.peers[0]!);
    const fresh = new FakePeer(c.peers[0]!);
    const set = attrs.intern({ origin: 'igp', asPath: [], nextHop: '198.18.0.1' }, '198.18.0.1');
    for (let i = 0; i < 25; i++)
      rib.put(prefixKeyFromText(4, BigInt(0xc6130000 + i * 256), 24), old.source, 0, set, set, 0);
    rib.put(prefixKeyFromText(4, 0xc6130000n, 24), fresh.source, 0, set, set, 0);
    const drops = new RouteDrops(rib);
    expect(drops.drop({ ...old.source, id: 1, name: 'none' })).toBe(false); // no routes: nothing to do
    old.source.dead = true;
    expect(drops.drop(old.source)).toBe(true);
    expect(drops.remove(10)).toBe(10);
    expect(rib.routeCount(old.source)).toBe(15);
    expect(drops.pending).toBe(true);
    expect(drops.remove(100)).toBe(15);
    expect(drops.pending).toBe(false);
    expect(rib.routeCount(old.source)).toBe(0);
    expect(rib.routeCount(fresh.source)).toBe(1);
  });
});
