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
