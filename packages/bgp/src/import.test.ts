import { describe, expect, it, vi } from 'vitest';
import { ManualClock } from './clock.js';
import type { SpeakerConfig } from './config/types.js';
import { ImportStage, loopCheck } from './import.js';
import { silentLogger } from './logger.js';
import { PolicySet } from './policy/policy-set.js';
import { NONE } from './rib/loc-rib.js';
import { prefixKeyFromText } from './rib/prefix-key.js';
import { config, FakePeer, rib as newRib, update } from './stage-fixtures.js';

const key = (text: string) => {
  const [a, len] = text.split('/') as [string, string];
  return prefixKeyFromText(4, BigInt(a.split('.').reduce((x, y) => x * 256 + Number(y), 0)), Number(len));
};

function setup(c: SpeakerConfig) {
  const { rib, attrs } = newRib(c);
  const clock = new ManualClock();
  const configured = new Set<FakePeer>();
  const stage = new ImportStage(
    { rib, attrs, clock, log: silentLogger, configured: (p) => configured.has(p as FakePeer) },
    c,
    new PolicySet(c.policies),
  );
  const peer = (name: string) => {
    const p = new FakePeer(c.peers.find((x) => x.name === name)!);
    configured.add(p);
    return p;
  };
  const route = (p: FakePeer, prefix: string) => rib.find(key(prefix), p.source, 0);
  return { rib, attrs, clock, stage, peer, route, configured };
}

const TWO = `
policies:
  - { name: lp, rules: [{ match: { prefix: ["198.19.0.0/16 le 24"] }, set: { localPref: 200 }, action: accept }], default: reject }
peers:
  - { name: ibgp, address: 198.18.0.1, asn: 64512, import: [lp] }
  - { name: ebgp, address: 198.18.0.2, asn: 65001 }
  - { name: ebgp-in, address: 198.18.0.3, asn: 65001, import: [all] }
  - { name: all-policy-peer, address: 198.18.0.4, asn: 64512, import: [all], allowLocalAs: 1 }
`;
const ALL = '  - { name: all, rules: [], default: accept }\n';
const C = config(TWO.replace('policies:\n', `policies:\n${ALL}`));

describe('import stage', () => {
  it('dates a route by the read that brought its UPDATE, not by the clock when it is handled', () => {
    const { rib, clock, stage, peer, route } = setup(C);
    const p = peer('ibgp');
    p.established = { ctx: { fourOctetAs: true }, heardAt: 7_400 };
    clock.advance(9_000); // handled later in the same turn's work: the read's time still dates it
    stage.update(p, update(['198.19.1.0/24'], {}));
    expect(rib.since(route(p, '198.19.1.0/24'))).toBe(7);
  });

  it('stores each route as received and after import policy; a rejected one stays, not accepted', () => {
    const { rib, stage, peer, route } = setup(C);
    const p = peer('ibgp');
    stage.update(p, update(['198.19.1.0/24', '198.20.0.0/24'], { localPref: 50 }));
    const inside = route(p, '198.19.1.0/24');
    const outside = route(p, '198.20.0.0/24');
    expect(rib.attrs(inside).localPref).toBe(200);
    expect(rib.raw(inside).localPref).toBe(50);
    expect([rib.accepted(inside), rib.accepted(outside)]).toEqual([true, false]);
    expect(rib.raw(outside).localPref).toBe(50);
    expect([rib.routeCount(p.source), rib.acceptedCount(p.source)]).toEqual([2, 1]);
    expect(p.updates.prefixesReceived).toBe(2);
  });

  it('holds the sets import policy makes as bytes, like received ones (not as decoded objects)', () => {
    const { rib, attrs, stage, peer, route } = setup(C);
    const p = peer('ibgp');
    for (let i = 0; i < 50; i++) stage.update(p, update([`198.19.${i}.0/24`], { localPref: 50 + i }));
    expect(rib.attrs(route(p, '198.19.7.0/24')).localPref).toBe(200);
    expect(rib.raw(route(p, '198.19.7.0/24')).localPref).toBe(57);
    expect(attrs.size).toBe(51); // 50 received sets, one after policy (all set LOCAL_PREF 200)
    expect(attrs.decoded).toBe(0);
  });

  it('ignores LOCAL_PREF from eBGP (RFC 4271 5.1.5) and takes nothing from eBGP without import policy (RFC 8212)', () => {
    const { rib, stage, peer, route } = setup(C);
    const bare = peer('ebgp');
    const withPolicy = peer('ebgp-in');
    for (const p of [bare, withPolicy]) stage.update(p, update(['198.19.2.0/24'], { localPref: 300 }));
    expect(rib.accepted(route(bare, '198.19.2.0/24'))).toBe(false);
    const r = route(withPolicy, '198.19.2.0/24');
    expect(rib.accepted(r)).toBe(true);
    expect(rib.attrs(r).attrs.localPref).toBeUndefined();
    expect(rib.attrs(r).localPref).toBe(100);
  });

  it('withdraws routes, counting every withdrawal received', () => {
    const { stage, peer, route } = setup(C);
    const p = peer('all-policy-peer');
    stage.update(p, update(['198.19.3.0/24', '198.19.4.0/24']));
    stage.update(p, update([], {}, ['198.19.3.0/24', '198.19.9.0/24']));
    expect(route(p, '198.19.3.0/24')).toBe(NONE);
    expect(route(p, '198.19.4.0/24')).not.toBe(NONE);
    expect(p.updates.withdrawalsReceived).toBe(2);
  });

  it('keeps looped routes out of the Loc-RIB (AS path, ORIGINATOR_ID, CLUSTER_LIST)', () => {
    const { rib, stage, peer, route } = setup(
      config(`clusterId: 198.18.0.100\n${TWO.replace('policies:\n', `policies:\n${ALL}`)}`),
    );
    const p = peer('all-policy-peer');
    stage.update(p, update(['198.19.5.0/24'], { clusterList: ['198.18.0.100'] }));
    stage.update(p, update(['198.19.6.0/24'], { asPath: [{ kind: 'sequence', asns: [64512, 64512] }] }));
    stage.update(p, update(['198.19.7.0/24'], { asPath: [{ kind: 'sequence', asns: [64512] }] }));
    expect(rib.accepted(route(p, '198.19.5.0/24'))).toBe(false);
    expect(rib.accepted(route(p, '198.19.6.0/24'))).toBe(false);
    expect(rib.accepted(route(p, '198.19.7.0/24'))).toBe(true); // allowLocalAs: 1
  });

  it('names the loop a route makes (moved from the reflection test: the check is the import stage’s)', () => {
    const settings = config('clusterId: 198.18.0.100\npeers:\n  - { address: 198.18.0.1, asn: 64512 }\n');
    const peer = new FakePeer(settings.peers[0]!);
    const check = (a: object) => loopCheck(peer, a, settings);
    expect(check({ clusterList: ['198.18.0.100'] })).toBe('cluster list loop');
    expect(check({ originatorId: '198.18.0.10' })).toBe('originator is us');
    expect(check({ asPath: [{ kind: 'sequence', asns: [64512] }] })).toBe('AS path loop');
    expect(check({ clusterList: ['198.18.0.99'] })).toBe('');
  });

  it('re-runs import over the stored routes when policies change (soft reconfiguration)', () => {
    const { rib, stage, peer, route } = setup(C);
    const p = peer('ibgp');
    stage.update(p, update(['198.19.1.0/24', '198.20.0.0/24']));
    const next = config(TWO.replace('policies:\n', `policies:\n${ALL}`).replace('import: [lp]', 'import: [all]'));
    stage.reconfigure(next, new PolicySet(next.policies));
    p.config = next.peers[0]!;
    stage.forget(p);
    stage.reimport(p);
    expect(rib.accepted(route(p, '198.20.0.0/24'))).toBe(true);
    expect(rib.attrs(route(p, '198.19.1.0/24')).localPref).toBe(100);
    expect(rib.acceptedCount(p.source)).toBe(2);
  });

  describe('received sets import policy replaced (import table)', () => {
    const refreshing = (p: FakePeer) => {
      p.established = {
        ctx: { fourOctetAs: true },
        heardAt: 0,
        remoteOpen: { capabilities: [{ kind: 'route-refresh' }] },
      };
      return p;
    };
    const fifty = (stage: ImportStage, p: FakePeer) => {
      for (let i = 0; i < 50; i++) stage.update(p, update([`198.19.${i}.0/24`], { localPref: 50 + i }));
      stage.update(p, update(['198.20.0.0/24'], { localPref: 50 })); // rejected by lp
    };

    it('keeps only the set after policy where the peer can send the route again', () => {
      const { rib, attrs, stage, peer, route } = setup(C);
      const p = refreshing(peer('ibgp'));
      const interned = vi.spyOn(attrs, 'internEncoded');
      fifty(stage, p);
      // The received sets the policy changed are not even interned: only the rejected route's is.
      expect(interned.mock.calls.filter(([a]) => a.localPref !== 200).map(([a]) => a.localPref)).toEqual([50]);
      const r = route(p, '198.19.7.0/24');
      expect(rib.receivedKept(r)).toBe(false);
      expect(rib.attrs(r).localPref).toBe(200);
      expect(rib.raw(r)).toBe(rib.attrs(r));
      // A rejected route keeps what was received: nothing else is stored of it.
      const rejected = route(p, '198.20.0.0/24');
      expect([rib.receivedKept(rejected), rib.raw(rejected).localPref]).toEqual([true, 50]);
      expect(attrs.size).toBe(2); // the one set after policy, the rejected route's received set
      expect([rib.routeCount(p.source), rib.acceptedCount(p.source)]).toEqual([51, 50]);
    });

    it('keeps the received sets too with importTable, or when the peer has no ROUTE-REFRESH', () => {
      const table = config(
        TWO.replace('policies:\n', `policies:\n${ALL}`).replace('import: [lp] }', 'import: [lp], importTable: true }'),
      );
      for (const [c, withRefresh] of [
        [table, true],
        [C, false],
      ] as const) {
        const { rib, attrs, stage, peer, route } = setup(c);
        const p = peer('ibgp');
        if (withRefresh) refreshing(p);
        fifty(stage, p);
        const r = route(p, '198.19.7.0/24');
        expect([rib.receivedKept(r), rib.raw(r).localPref, rib.attrs(r).localPref]).toEqual([true, 57, 200]);
        expect(attrs.size).toBe(51); // 50 received (the rejected route's is the first one's), 1 after policy
      }
    });

    it('releases every set when the routes are replaced and withdrawn', () => {
      const { rib, attrs, stage, peer } = setup(C);
      const p = refreshing(peer('ibgp'));
      fifty(stage, p);
      fifty(stage, p);
      stage.update(p, update([], {}, ['198.19.1.0/24']));
      expect(attrs.size).toBe(2);
      const all = [...Array(50).keys()].map((i) => `198.19.${i}.0/24`);
      stage.update(p, update([], {}, [...all, '198.20.0.0/24']));
      expect(rib.routeCount(p.source)).toBe(0);
      expect(attrs.size).toBe(0);
    });

    it('a policy change re-runs import where the received sets are kept, and says the peer must send the others', () => {
      const { rib, stage, peer, route } = setup(C);
      const p = refreshing(peer('ibgp'));
      fifty(stage, p);
      const next = config(TWO.replace('policies:\n', `policies:\n${ALL}`).replace('import: [lp]', 'import: [all]'));
      stage.reconfigure(next, new PolicySet(next.policies));
      p.config = next.peers[0]!;
      stage.forget(p);
      expect(stage.reimport(p)).toBe(true);
      // The rejected route was kept as received: accepted now. The others wait for the peer.
      expect(rib.accepted(route(p, '198.20.0.0/24'))).toBe(true);
      expect(rib.attrs(route(p, '198.19.7.0/24')).localPref).toBe(200);
      // Sent again, they go through the new policy and keep their received sets (nothing changed them).
      fifty(stage, p);
      const r = route(p, '198.19.7.0/24');
      expect([rib.receivedKept(r), rib.attrs(r).localPref]).toEqual([true, 57]);
      expect(stage.reimport(p)).toBe(false);
    });
  });

  describe('max-prefix (RFC 4486)', () => {
    const mp = (action: string) =>
      config(
        `policies:\n${ALL}peers:\n  - { name: p, address: 198.18.0.1, asn: 64512, import: [all], maxPrefix: { limit: 2, action: ${action}, restartTime: 60 } }\n`,
      );

    it('ends the session with Cease 1 (AFI, SAFI, limit) past the limit, and restarts it after restartTime', () => {
      const { clock, stage, peer, configured } = setup(mp('restart'));
      const p = peer('p');
      stage.update(p, update(['198.19.1.0/24', '198.19.2.0/24']));
      expect(p.stops).toEqual([]);
      stage.update(p, update(['198.19.3.0/24']));
      expect(p.stops).toHaveLength(1);
      expect(p.stops[0]).toMatchObject({ code: 6, subcode: 1 });
      expect([...p.stops[0]!.data]).toEqual([0, 1, 1, 0, 0, 0, 2]);
      expect(p.lastError).toBe('Maximum prefix limit 2 exceeded; restart in 60s');
      clock.advance(59_999);
      expect(p.starts).toBe(0);
      clock.advance(1);
      expect(p.starts).toBe(1);
      // A peer removed (or shut down) meanwhile is not restarted.
      stage.update(p, update(['198.19.4.0/24']));
      configured.delete(p);
      clock.advance(60_000);
      expect(p.starts).toBe(1);
    });

    it('only warns with action warn, and the speaker stopping cancels a pending restart', () => {
      const warn = setup(mp('warn'));
      const p = warn.peer('p');
      warn.stage.update(p, update(['198.19.1.0/24', '198.19.2.0/24', '198.19.3.0/24']));
      expect(p.stops).toEqual([]);
      const restart = setup(mp('restart'));
      const q = restart.peer('p');
      restart.stage.update(q, update(['198.19.1.0/24', '198.19.2.0/24', '198.19.3.0/24']));
      restart.stage.stop();
      restart.clock.advance(120_000);
      expect(q.starts).toBe(0);
    });
  });
});
