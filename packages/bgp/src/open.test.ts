import { Afi, type OpenMessage } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { localOpen, negotiatedFamilies } from './open.js';
import { config } from './stage-fixtures.js';

const open = (capabilities: OpenMessage['capabilities']): OpenMessage => ({
  type: 'open',
  version: 4,
  myAs: 64512,
  holdTime: 90,
  bgpId: '198.18.0.2',
  capabilities,
});

describe('our OPEN and the families a session carries', () => {
  it('advertises what the peer config asks for', () => {
    const c = config(`gracefulRestart: { restartTime: 100 }
peers:
  - { address: 198.18.0.2, asn: 4200000000, families: [ipv4-unicast, ipv6-unicast], addPath: { send: true } }
  - { address: 198.18.0.3, asn: 64512, gracefulRestart: false, holdTime: 30 }
`);
    const [p, q] = c.peers as [(typeof c.peers)[0], (typeof c.peers)[0]];
    const m = localOpen(c, p, true);
    expect(m).toMatchObject({ myAs: 64512, holdTime: 90, bgpId: '198.18.0.10' });
    expect(m.capabilities.map((x) => x.kind)).toEqual([
      'multiprotocol',
      'multiprotocol',
      'route-refresh',
      'enhanced-route-refresh',
      'four-octet-as',
      'extended-message',
      'graceful-restart',
      'add-path',
    ]);
    expect(m.capabilities.find((x) => x.kind === 'graceful-restart')).toMatchObject({
      restarting: true,
      restartTime: 100,
      notification: true,
    });
    expect(m.capabilities.find((x) => x.kind === 'add-path')).toMatchObject({
      families: [
        { afi: Afi.ipv4, safi: 1, mode: 'send' },
        { afi: Afi.ipv6, safi: 1, mode: 'send' },
      ],
    });
    const n = localOpen(c, q, false);
    expect(n.capabilities.map((x) => x.kind)).not.toContain('graceful-restart');
    expect(n.holdTime).toBe(30);
  });

  it("advertises a peer's own restart time (BGPPeer maxRestartTime), else the speaker's", () => {
    const c = config(`gracefulRestart: { restartTime: 100 }
peers:
  - { address: 198.18.0.2, asn: 65001, restartTime: 300 }
  - { address: 198.18.0.3, asn: 65001 }
`);
    const gr = (i: number) => localOpen(c, c.peers[i]!, false).capabilities.find((x) => x.kind === 'graceful-restart');
    expect(gr(0)).toMatchObject({ restartTime: 300 });
    expect(gr(1)).toMatchObject({ restartTime: 100 });
    expect(() => config('peers:\n  - { address: 198.18.0.2, asn: 65001, restartTime: 4096 }\n')).toThrow(
      /peers\[0\]\.restartTime/,
    );
  });

  it('carries the families both sides list; none listed by the peer means IPv4 (RFC 4760 8)', () => {
    const mp = (afi: number) => ({ kind: 'multiprotocol' as const, afi, safi: 1 });
    expect([...negotiatedFamilies(['ipv4-unicast', 'ipv6-unicast'], open([mp(2)]))]).toEqual([Afi.ipv6]);
    expect([...negotiatedFamilies(['ipv4-unicast', 'ipv6-unicast'], open([]))]).toEqual([Afi.ipv4]);
    expect([...negotiatedFamilies(['ipv6-unicast'], open([]))]).toEqual([]);
  });
});
