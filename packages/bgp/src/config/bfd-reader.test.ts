import { describe, expect, it } from 'vitest';
import { planReload } from '../reload.js';
import { completeBfd } from './bfd-reader.js';
import { parseConfig } from './load.js';
import { ConfigError } from './reader.js';

const cfg = (peer: string) =>
  parseConfig(`routerId: 198.18.0.1\nasn: 64512\npeers:\n  - { address: 198.18.0.2, ${peer} }\n`, 'bgpd.yaml');

function problems(peer: string): string[] {
  try {
    cfg(peer);
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

describe('bfd config', () => {
  it('a peer without bfd has none; bfd: true takes the defaults (300 ms, 300 ms, 3)', () => {
    expect(cfg('asn: 64512').peers[0]!.bfd).toBeUndefined();
    expect(cfg('asn: 64512, bfd: false').peers[0]!.bfd).toBeUndefined();
    expect(cfg('asn: 64512, bfd: true').peers[0]!.bfd).toEqual({
      minRx: 300,
      minTx: 300,
      multiplier: 3,
      passive: false,
    });
  });

  it('reads { enabled, minRx, minTx, multiplier, multihop, passive }; intervals in ms or with a unit', () => {
    const p = cfg('asn: 64512, bfd: { enabled: true, minRx: 100, minTx: 0.2s, multiplier: 5, passive: true }')
      .peers[0]!;
    expect(p.bfd).toEqual({ minRx: 100, minTx: 200, multiplier: 5, passive: true });
    // A mapping without `enabled` enables BFD; enabled: false turns it off.
    expect(cfg('asn: 64512, bfd: { minRx: 150ms }').peers[0]!.bfd?.minRx).toBe(150);
    expect(cfg('asn: 64512, bfd: { enabled: false, minRx: 150 }').peers[0]!.bfd).toBeUndefined();
  });

  it('a multihop BGP peer gets multihop BFD (RFC 5883) unless it says otherwise; else it is decided from the interfaces', () => {
    expect(cfg('asn: 64512, bfd: true').peers[0]!.bfd?.multihop).toBeUndefined();
    expect(cfg('asn: 64513, multihop: 4, bfd: true').peers[0]!.bfd?.multihop).toBe(true);
    expect(cfg('asn: 64513, multihop: 4, bfd: { multihop: false }').peers[0]!.bfd?.multihop).toBe(false);
    expect(cfg('asn: 64512, bfd: { multihop: true }').peers[0]!.bfd?.multihop).toBe(true);
  });

  it('every problem is one line naming the file, line and field', () => {
    expect(problems('asn: 64512, bfd: { minRx: 5 }')).toEqual([
      'bgpd.yaml:4:54: peers[0].bfd.minRx: 5 is not an interval from 10 to 60000 ms (a number of ms, or 100ms, 0.3s)',
    ]);
    expect(problems('asn: 64512, bfd: { minTx: fast, multiplier: 0, detect: 3 }')).toEqual([
      'bgpd.yaml:4:75: peers[0].bfd.detect: unknown field; expected one of enabled, minRx, minTx, multiplier, multihop, passive',
      'bgpd.yaml:4:54: peers[0].bfd.minTx: "fast" is not an interval from 10 to 60000 ms (a number of ms, or 100ms, 0.3s)',
      'bgpd.yaml:4:72: peers[0].bfd.multiplier: 0 is below the minimum 1',
    ]);
    expect(problems('asn: 64512, bfd: yes')).toEqual(['bgpd.yaml:4:45: peers[0].bfd: must be a mapping']);
    expect(problems('asn: 64512, bfd: { enabled: 1 }')).toEqual([
      'bgpd.yaml:4:56: peers[0].bfd.enabled: must be true or false, got 1',
    ]);
  });

  it("a list's defaults apply field by field; the peer's own entry wins", () => {
    const d = { minRx: 100, minTx: 100, multiplier: 3 };
    expect(completeBfd(undefined, d, 1)).toEqual({ ...d, passive: false });
    expect(completeBfd({ multiplier: 5 }, d, 1)?.multiplier).toBe(5);
    expect(completeBfd({ enabled: false }, d, 1)).toBeUndefined();
    expect(completeBfd({ enabled: true }, { enabled: false, minRx: 50 }, 2)).toMatchObject({
      minRx: 50,
      multihop: true,
    });
    expect(completeBfd(undefined, undefined, 1)).toBeUndefined();
  });

  it('speaker-wide bfd: gtsm and sourceCheck', () => {
    const top = (bfd: string) => parseConfig(`routerId: 198.18.0.1\nasn: 64512\nbfd: ${bfd}\n`, 'bgpd.yaml').bfd;
    expect(parseConfig('routerId: 198.18.0.1\nasn: 64512\n').bfd).toBeUndefined();
    expect(top('{ sourceCheck: off }')).toEqual({ gtsm: 'off', sourceCheck: 'off' });
    expect(top('{ gtsm: nftables }')).toEqual({ gtsm: 'nftables', sourceCheck: 'connected-subnet' });
    expect(() => top('{ gtsm: iptables, minRx: 100 }')).toThrow(
      'bgpd.yaml:3:24: bfd.minRx: unknown field; expected one of gtsm, sourceCheck\nbgpd.yaml:3:14: bfd.gtsm: must be one of off, nftables, got "iptables"',
    );
  });

  it('a reload that changes only BFD settings neither resets the session nor re-decides routes', () => {
    const old = cfg('asn: 64512, bfd: { minRx: 300 }');
    const next = cfg('asn: 64512, bfd: { minRx: 100 }');
    const plan = planReload(old, next, new Map(old.peers.map((p) => [p.name, p])));
    expect(plan.result.peers_changed).toEqual(['Peer_198_18_0_2']);
    expect(plan.peers.map((s) => [s.action, s.reimport])).toEqual([['keep', false]]);
    expect(plan.reshape).toBe(false);
    const off = planReload(old, cfg('asn: 64512'), new Map(old.peers.map((p) => [p.name, p])));
    expect(off.peers.map((s) => s.action)).toEqual(['keep']);
  });
});
