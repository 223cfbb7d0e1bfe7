import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { type PrefixKey, v4Key } from '../rib/prefix-key.js';
import { formatCommunity, parseCommunity } from './communities.js';
import { applyPolicies, CompiledPolicy, type RouteView } from './evaluate.js';

function policies(yaml: string): Map<string, CompiledPolicy> {
  const cfg = parseConfig(`routerId: 198.18.0.1\nasn: 64512\npolicies:\n${yaml}`);
  return new Map([...cfg.policies].map(([k, v]) => [k, new CompiledPolicy(v)]));
}

const v4 = (a: string, len: number): PrefixKey => {
  const p = a.split('.').map(Number) as [number, number, number, number];
  return v4Key((((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3]) >>> 0, len);
};

function route(key: PrefixKey, over: Partial<RouteView> = {}): RouteView {
  return {
    key,
    attrs: {
      origin: 'igp',
      asPath: [{ kind: 'sequence', asns: [65001, 65002] }],
      communities: [parseCommunity('64512:1')],
    },
    nextHop: '198.18.0.9',
    peerName: 'tor',
    peerAddress: '198.18.0.9',
    ...over,
  };
}

describe('policy evaluation', () => {
  const pol = policies(`
  - name: blocks
    rules:
      - match: { prefix: ["198.18.0.0/15 ge 24 le 26"] }
        set: { localPref: 200, addCommunities: ["64512:9"], prepend: 2 }
        action: accept
      - match: { prefix: ["198.18.0.0/15"] }
        action: accept
    default: reject
  - name: by-attrs
    rules:
      - match: { community: ["64512:1"], originAs: [65002], asPathLength: { max: 2 } }
        set: { med: 7, removeCommunities: ["64512:1"], nextHop: self }
        action: next
      - match: { peer: [tor], asPathContains: [65001] }
        action: accept
    default: reject
  - name: v6
    rules:
      - match: { prefix: ["2001:db8::/32 le 64"] }
        action: accept
`);

  it('matches prefix ranges with ge/le exactly as a prefix list does', () => {
    const p = pol.get('blocks')!;
    expect(p.evaluate(route(v4('198.18.64.0', 26)), 64512).accept).toBe(true);
    expect(p.evaluate(route(v4('198.19.255.0', 24)), 64512).accept).toBe(true);
    expect(p.evaluate(route(v4('198.18.0.0', 15)), 64512).accept).toBe(true);
    expect(p.evaluate(route(v4('198.18.0.0', 16)), 64512).accept).toBe(false);
    expect(p.evaluate(route(v4('198.18.64.0', 27)), 64512).accept).toBe(false);
    expect(p.evaluate(route(v4('198.20.0.0', 24)), 64512).accept).toBe(false);
  });

  it('applies set actions of the accepting rule', () => {
    const r = pol.get('blocks')!.evaluate(route(v4('198.18.64.0', 26)), 64512);
    expect(r).toMatchObject({ accept: true });
    if (!r.accept) return;
    expect(r.attrs.localPref).toBe(200);
    expect(r.attrs.communities?.map(formatCommunity)).toEqual(['64512:1', '64512:9']);
    expect(r.attrs.asPath).toEqual([{ kind: 'sequence', asns: [64512, 64512, 65001, 65002] }]);
  });

  it('carries changes through `next` rules and matches on communities, origin AS, path length, peer', () => {
    const r = pol.get('by-attrs')!.evaluate(route(v4('10.0.0.0', 8)), 64512);
    expect(r).toMatchObject({ accept: true, nextHopMode: 'self' });
    if (!r.accept) return;
    expect(r.attrs.med).toBe(7);
    expect(r.attrs.communities).toEqual([]);
    const other = route(v4('10.0.0.0', 8), { peerName: 'x', peerAddress: '198.18.0.99' });
    expect(pol.get('by-attrs')!.evaluate(other, 64512).accept).toBe(false);
  });

  it('matches IPv6 keys', () => {
    const key = `20010db8${'0'.repeat(24)}/48`;
    expect(pol.get('v6')!.evaluate(route(key), 64512).accept).toBe(true);
    expect(pol.get('v6')!.evaluate(route(`20010db9${'0'.repeat(24)}/48`), 64512).accept).toBe(false);
  });

  it('chains policies: each sees the previous output, the first reject stops', () => {
    // blocks prepends twice, so by-attrs' first rule (path length <= 2) no longer matches: no MED.
    const r = applyPolicies([pol.get('blocks')!, pol.get('by-attrs')!], route(v4('198.18.64.0', 26)), 64512);
    expect(r).toMatchObject({ accept: true, nextHopMode: 'default' });
    if (r.accept) expect([r.attrs.med, r.attrs.localPref]).toEqual([undefined, 200]);
    const rejected = applyPolicies([pol.get('blocks')!, pol.get('by-attrs')!], route(v4('198.18.0.0', 16)), 64512);
    expect(rejected.accept).toBe(false);
    const ok = applyPolicies([pol.get('by-attrs')!, pol.get('blocks')!], route(v4('198.18.64.0', 26)), 64512);
    expect(ok).toMatchObject({ accept: true, nextHopMode: 'self' });
  });

  it('names well-known communities', () => {
    expect(formatCommunity(parseCommunity('no-export'))).toBe('no-export');
    expect(parseCommunity('65535:65281')).toBe(0xffffff01);
  });
});

// Calico's BGPFilter (projectcalico.org/v3, rendered by confd's speaker template): rules in order,
// the first matching rule's Accept or Reject is final; no match falls through to the peer's next
// filter, then to Tabby's own rules. The operators and prefixLength become prefix lists:
// Equal `C`, In `C le 32`, NotEqual/NotIn the same under `notPrefix`, prefixLength `ge min le max`.
describe('BGPFilter semantics', () => {
  const pol = policies(`
  - name: equal
    default: next
    rules: [{ match: { prefix: ["10.0.0.0/16"] }, action: accept-final }]
  - name: not-equal
    default: next
    rules: [{ match: { notPrefix: ["10.0.0.0/16"] }, action: accept-final }]
  - name: in
    default: next
    rules: [{ match: { prefix: ["10.0.0.0/16 le 32"] }, action: accept-final }]
  - name: not-in
    default: next
    rules: [{ match: { notPrefix: ["10.0.0.0/16 le 32"] }, action: accept-final }]
  - name: in-min-30
    default: next
    rules: [{ match: { prefix: ["55.0.0.0/16 ge 30 le 32"] }, action: accept-final }]
  - name: not-in-max-24
    default: next
    rules: [{ match: { notPrefix: ["44.0.0.0/16 ge 16 le 24"] }, action: reject }]
  - name: remote-peers
    default: next
    rules: [{ match: { source: bgp }, action: accept-final }]
  - name: hide-block
    default: next
    rules: [{ match: { prefix: ["198.19.0.0/26 le 32"] }, action: reject }]
  - name: let-77
    default: next
    rules:
      - { match: { prefix: ["77.0.0.0/16 le 32"], source: bgp }, set: { med: 5 }, action: accept-final }
  - name: pools
    rules:
      - { match: { prefix: ["198.19.0.0/16 le 32"] }, set: { med: 1 }, action: accept }
    default: reject
  - name: undecided
    default: next
    rules: [{ match: { prefix: ["9.0.0.0/8"] }, set: { localPref: 7 }, action: next }]
`);
  const verdict = (names: string[], key: PrefixKey, over: Partial<RouteView> = {}) =>
    applyPolicies(
      names.map((n) => pol.get(n)!),
      route(key, over),
      64512,
    );
  const passes = (name: string, key: PrefixKey, over: Partial<RouteView> = {}) =>
    pol.get(name)!.run(route(key, over), 64512).verdict === 'final';

  it('Equal: the CIDR exactly; NotEqual: anything else', () => {
    expect(passes('equal', v4('10.0.0.0', 16))).toBe(true);
    expect(passes('equal', v4('10.0.1.0', 24))).toBe(false);
    expect(passes('equal', v4('10.0.0.0', 8))).toBe(false);
    expect(passes('not-equal', v4('10.0.0.0', 16))).toBe(false);
    expect(passes('not-equal', v4('10.0.1.0', 24))).toBe(true);
    expect(passes('not-equal', v4('192.0.2.0', 24))).toBe(true);
  });

  it('In: the CIDR or within it (BIRD net ~ C); NotIn: outside it', () => {
    expect(passes('in', v4('10.0.0.0', 16))).toBe(true);
    expect(passes('in', v4('10.0.200.0', 26))).toBe(true);
    expect(passes('in', v4('10.0.0.7', 32))).toBe(true);
    expect(passes('in', v4('10.0.0.0', 8))).toBe(false);
    expect(passes('in', v4('10.1.0.0', 16))).toBe(false);
    expect(passes('not-in', v4('10.0.200.0', 26))).toBe(false);
    expect(passes('not-in', v4('10.0.0.0', 8))).toBe(true);
    expect(passes('not-in', v4('10.1.0.0', 16))).toBe(true);
  });

  it('prefixLength: only lengths from max(CIDR length, min) to min(32, max), negated with NotIn', () => {
    expect(passes('in-min-30', v4('55.0.1.4', 30))).toBe(true);
    expect(passes('in-min-30', v4('55.0.1.4', 32))).toBe(true);
    expect(passes('in-min-30', v4('55.0.1.0', 24))).toBe(false);
    expect(passes('in-min-30', v4('56.0.1.4', 30))).toBe(false);
    // Calico's sample: Reject NotIn 44.0.0.0/16 (here with max 24): a /26 inside it is rejected too.
    const notIn = (k: PrefixKey) => pol.get('not-in-max-24')!.run(route(k), 64512).verdict;
    expect(notIn(v4('44.0.3.0', 24))).toBe('next');
    expect(notIn(v4('44.0.3.0', 26))).toBe('reject');
    expect(notIn(v4('45.0.0.0', 24))).toBe('reject');
  });

  it('source RemotePeers: routes learned over BGP, never the ones this node originates', () => {
    expect(passes('remote-peers', v4('198.19.0.0', 26))).toBe(true);
    expect(passes('remote-peers', v4('198.19.0.0', 26), { local: true })).toBe(false);
    expect(passes('remote-peers', v4('198.19.0.0', 26), { local: false })).toBe(true);
  });

  it("falls through a filter no rule matches to the next filter, then to Tabby's rules", () => {
    const chain = ['hide-block', 'let-77', 'pools'];
    // Rejected by the first filter: the pool rule after it never sees the block.
    expect(verdict(chain, v4('198.19.0.0', 26)).accept).toBe(false);
    // No filter matches: the pools policy accepts (and sets its MED).
    const pooled = verdict(chain, v4('198.19.0.64', 26));
    expect(pooled).toMatchObject({ accept: true, attrs: { med: 1 } });
    // A filter's Accept is final: a learned route outside the pools goes out, the pool rule skipped.
    expect(verdict(chain, v4('77.0.1.0', 24))).toMatchObject({ accept: true, attrs: { med: 5 } });
    // ... but only a learned one (source RemotePeers): originated, it falls through and is rejected.
    expect(verdict(chain, v4('77.0.1.0', 24), { local: true }).accept).toBe(false);
    expect(verdict(chain, v4('192.0.2.0', 24)).accept).toBe(false);
  });

  it('a route that no policy decides is rejected, keeping what undecided policies set until then', () => {
    expect(verdict(['undecided'], v4('9.1.0.0', 16)).accept).toBe(false);
    expect(pol.get('undecided')!.evaluate(route(v4('9.1.0.0', 16)), 64512).accept).toBe(false);
    expect(verdict(['undecided', 'equal'], v4('10.0.0.0', 16)).accept).toBe(true);
    const r = verdict(['undecided', 'let-77'], v4('77.0.0.0', 16));
    expect(r).toMatchObject({ accept: true, attrs: { med: 5 } });
    expect(verdict(['undecided', 'pools'], v4('9.0.0.0', 8)).accept).toBe(false);
    const set = verdict(['undecided', 'not-equal'], v4('9.0.0.0', 8));
    expect(set).toMatchObject({ accept: true, attrs: { localPref: 7 } });
  });

  it('the config names a bad source or default on one line', () => {
    const bad = (yaml: string) => () => parseConfig(`routerId: 198.18.0.1\nasn: 64512\npolicies:\n${yaml}`);
    expect(bad('  - { name: x, rules: [{ match: { source: remote }, action: accept }] }')).toThrow(
      /policies\[0\]\.rules\[0\]\.match\.source.*bgp, local/,
    );
    expect(bad('  - { name: x, default: maybe }')).toThrow(/default.*accept, reject, next/);
    expect(bad('  - { name: x, rules: [{ match: { notPrefix: ["10.0.0.0/33"] } }] }')).toThrow(/notPrefix\[0\]/);
  });
});
