import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import type { ConfigError } from './config/reader.js';
import { ControlHandler } from './control/handler.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const both = 'families: [ipv4-unicast, ipv6-unicast]';

function issues(yaml: string): string[] {
  try {
    parseConfig(yaml, 'bgpd.yaml');
    return [];
  } catch (err) {
    return (err as ConfigError).issues.map((i) => `${i.field}: ${i.message}`);
  }
}

describe('nextHopV6 / nextHopV4: the other family over one session', () => {
  it('are read per peer, and must be of their family', () => {
    const c = parseConfig(
      `routerId: 198.18.0.1\nasn: 64512\npeers:\n  - { address: 198.18.0.2, asn: 1, ${both}, nextHopV6: "2001:db8::1" }\n  - { address: "2001:db8::3", asn: 1, nextHopV4: 198.18.0.1 }\n`,
    );
    expect(c.peers.map((p) => [p.nextHopV6, p.nextHopV4])).toEqual([
      ['2001:db8::1', undefined],
      [undefined, '198.18.0.1'],
    ]);
    expect(
      issues(
        'routerId: 198.18.0.1\nasn: 64512\npeers:\n  - { address: 198.18.0.2, asn: 1, nextHopV6: 198.18.0.1, nextHopV4: "::1" }\n',
      ),
    ).toEqual([
      'peers[0].nextHopV6: "198.18.0.1" is not an IPv6 address',
      'peers[0].nextHopV4: "::1" is not an IPv4 address',
    ]);
  });

  describe('IPv6 routes over an IPv4 session', () => {
    const net = new MemoryNetwork();
    const speaker = (id: string, peer: string, extra: string, originate: string) =>
      new Speaker(
        parseConfig(
          `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\noriginate:\n${originate}peers:\n  - { name: other, address: ${peer}, asn: 64512, ${both}${extra} }\n`,
        ),
        { transport: net.transport(id) },
      );
    const a = speaker(
      '198.18.0.1',
      '198.18.0.2',
      ', nextHopV6: "2001:db8::1"',
      '  - { prefix: "2001:db8:66::/64" }\n  - { prefix: 198.18.66.0/26 }\n',
    );
    const b = speaker(
      '198.18.0.2',
      '198.18.0.1',
      '',
      '  - { prefix: "2001:db8:77::/64" }\n  - { prefix: 198.18.77.0/26 }\n',
    );
    const best = (s: Speaker, prefix: string) =>
      new ControlHandler(s, { version: 'test' }).rib({ prefix }).routes.find((r) => r.best);

    beforeAll(async () => {
      await Promise.all([a.start(), b.start()]);
      await until(
        'routes at b',
        () => best(b, '198.18.66.0/26') !== undefined && best(b, '2001:db8:66::/64') !== undefined,
      );
      await until('routes at a', () => best(a, '198.18.77.0/26') !== undefined);
    });
    afterAll(async () => {
      await a.stop();
      await b.stop();
    });

    it('go out with the configured IPv6 next hop; IPv4 ones with the session address', () => {
      expect(best(b, '2001:db8:66::/64')).toMatchObject({ next_hop: '2001:db8::1', from: 'other' });
      expect(best(b, '198.18.66.0/26')).toMatchObject({ next_hop: '198.18.0.1' });
    });

    it('without nextHopV6 they are not sent (no next hop of that family), and the session stays up', () => {
      expect(best(a, '2001:db8:77::/64')).toBeUndefined();
      expect(b.findPeer('other')!.advertisedCount).toBe(1);
      expect(a.findPeer('other')!.state).toBe('Established');
    });
  });

  it('IPv4 routes over an IPv6 session go out with nextHopV4', async () => {
    const net = new MemoryNetwork();
    const mk = (id: string, me: string, peer: string, extra: string) =>
      new Speaker(
        parseConfig(
          `routerId: ${id}\nasn: 64512\nlisten: { address: "${me}", port: 179 }\noriginate:\n  - { prefix: 198.18.${id.endsWith('1') ? 66 : 77}.0/26 }\npeers:\n  - { name: other, address: "${peer}", asn: 64512, ${both}${extra} }\n`,
        ),
        { transport: net.transport(me) },
      );
    const a = mk('198.18.0.1', '2001:db8::1', '2001:db8::2', ', nextHopV4: 198.18.0.1');
    const b = mk('198.18.0.2', '2001:db8::2', '2001:db8::1', '');
    const best = (s: Speaker, prefix: string) =>
      new ControlHandler(s, { version: 'test' }).rib({ prefix }).routes.find((r) => r.best);
    try {
      await Promise.all([a.start(), b.start()]);
      await until('route at b', () => best(b, '198.18.66.0/26') !== undefined);
      expect(best(b, '198.18.66.0/26')).toMatchObject({ next_hop: '198.18.0.1' });
      expect(best(a, '198.18.77.0/26')).toBeUndefined();
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});
