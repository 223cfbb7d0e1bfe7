import { describe, expect, it } from 'vitest';
import { type BestRouteEvent, FibFeed } from './fib-feed.js';
import { LOCAL_SOURCE_ID, type PathSource } from './rib/path.js';
import { type PrefixKey, prefixKeyFromText } from './rib/prefix-key.js';
import { config, FakePeer, rib as newRib } from './stage-fixtures.js';

const K = prefixKeyFromText(4, 0xc6130100n, 24); // 198.19.1.0/24
const L = prefixKeyFromText(4, 0xc6130200n, 24); // 198.19.2.0/24

function setup(subscribed = true) {
  const c = config(`peers:
  - { name: a, address: 198.18.0.1, asn: 64512 }
  - { name: b, address: 198.18.0.2, asn: 64512 }
`);
  const { rib, attrs } = newRib(c);
  const blackholes = new Set<PrefixKey>();
  const feed = new FibFeed(rib, (k) => blackholes.has(k));
  const [a, b] = c.peers.map((pc) => new FakePeer(pc)) as [FakePeer, FakePeer];
  const local: PathSource = { ...a.source, id: LOCAL_SOURCE_ID, name: 'local', local: true, ibgp: false };
  const events: BestRouteEvent[] = [];
  if (subscribed) feed.subscribe((e) => events.push(e));
  const put = (source: PathSource, key: PrefixKey, nextHop: string) => {
    const set = attrs.intern({ origin: 'igp', asPath: [], nextHop }, nextHop);
    rib.put(key, source, 0, set, set, 0);
  };
  const decide = () => rib.process(1000, (ch) => feed.changed(ch));
  return { rib, feed, a, b, local, events, put, decide, blackholes };
}

describe('FIB feed', () => {
  it('sends add, change (an ECMP set) and withdraw, and nothing when the outcome stays', () => {
    const { rib, a, b, events, put, decide } = setup();
    put(a.source, K, '198.18.0.1');
    decide();
    expect(events).toEqual([
      { type: 'add', prefix: '198.19.1.0/24', family: 4, nextHops: ['198.18.0.1'], blackhole: false, sources: ['a'] },
    ]);
    put(b.source, K, '198.18.0.2');
    decide();
    expect(events.at(-1)).toMatchObject({
      type: 'change',
      nextHops: ['198.18.0.1', '198.18.0.2'],
      sources: ['a', 'b'],
    });
    const n = events.length;
    rib.markAllDirty();
    decide();
    expect(events).toHaveLength(n);
    for (const p of [a, b]) rib.remove(rib.find(K, p.source, 0));
    decide();
    expect(events.at(-1)).toEqual({
      type: 'withdraw',
      prefix: '198.19.1.0/24',
      family: 4,
      nextHops: [],
      blackhole: false,
      sources: ['a', 'b'],
    });
  });

  it('installs a local route only as a blackhole, and shares one entry between prefixes with the same outcome', () => {
    const { feed, a, local, events, put, decide, blackholes, rib } = setup();
    put(local, K, '');
    decide();
    expect(events).toEqual([]); // a local route without a blackhole: nothing to install
    blackholes.add(L);
    put(local, L, '');
    decide();
    expect(events.map((e) => [e.prefix, e.blackhole, e.nextHops, e.sources])).toEqual([
      ['198.19.2.0/24', true, [], ['local']],
    ]);
    const m = prefixKeyFromText(4, 0xc6130300n, 24);
    const n = prefixKeyFromText(4, 0xc6130400n, 24);
    put(a.source, m, '198.18.0.1');
    put(a.source, n, '198.18.0.1');
    decide();
    expect(feed.at(rib.dest(m))).toBe(feed.at(rib.dest(n))); // one interned entry for both
    expect(feed.at(rib.dest(K))).toBeUndefined();
    expect([...feed.table().values()].map((e) => e.sources)).toEqual([['local'], ['a'], ['a']]);
  });

  it('replays the current state to a new subscriber, then follows changes', () => {
    const { feed, a, put, decide } = setup();
    put(a.source, K, '198.18.0.1');
    decide();
    const got: BestRouteEvent[] = [];
    const stop = feed.subscribe((e) => got.push(e));
    expect(got.map((e) => [e.type, e.prefix])).toEqual([['add', '198.19.1.0/24']]);
    stop();
    put(a.source, L, '198.18.0.1');
    decide();
    expect(got).toHaveLength(1);
  });

  it('keeps no FIB column while nobody subscribes, answers from the RIB, and fills it for the first subscriber', () => {
    const { rib, feed, a, b, put, decide } = setup(false);
    put(a.source, K, '198.18.0.1');
    put(a.source, L, '198.18.0.1');
    decide();
    expect(rib.fib(rib.dest(K))).toBe(0); // a reflector or plain bgpd programs nothing: no work per change
    expect(feed.at(rib.dest(K))).toMatchObject({ nextHops: ['198.18.0.1'], sources: ['a'] });
    expect([...feed.table().keys()]).toEqual([K, L]);
    const got: BestRouteEvent[] = [];
    feed.subscribe((e) => got.push(e));
    expect(got.map((e) => [e.type, e.prefix])).toEqual([
      ['add', '198.19.1.0/24'],
      ['add', '198.19.2.0/24'],
    ]);
    expect(rib.fib(rib.dest(K))).not.toBe(0);
    put(b.source, K, '198.18.0.2');
    rib.remove(rib.find(L, a.source, 0));
    decide();
    expect(got.slice(2).map((e) => [e.type, e.prefix, e.nextHops])).toEqual([
      ['change', '198.19.1.0/24', ['198.18.0.1', '198.18.0.2']],
      ['withdraw', '198.19.2.0/24', []],
    ]);
  });
});
