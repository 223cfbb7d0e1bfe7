import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { type BestRouteEvent, Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const running: Speaker[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

describe('ADD-PATH (RFC 7911) and ECMP through a reflector', () => {
  it('a client receives both paths of an anycast prefix and installs them as one ECMP route', async () => {
    const net = new MemoryNetwork();
    const mk = (id: string, yaml: string) => {
      const s = new Speaker(
        parseConfig(`routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${yaml}`),
        {
          transport: net.transport(id),
        },
      );
      running.push(s);
      return s;
    };
    const origin = 'originate:\n  - { prefix: 198.19.100.0/24 }\npeers:\n  - { address: 198.18.0.10, asn: 64512 }\n';
    const o1 = mk('198.18.0.1', origin);
    const o2 = mk('198.18.0.2', origin);
    const client = mk('198.18.0.3', 'peers:\n  - { address: 198.18.0.10, asn: 64512, addPath: { receive: true } }\n');
    const rr = mk(
      '198.18.0.10',
      `clusterId: 198.18.0.100\npeers:\n${['1', '2'].map((i) => `  - { address: 198.18.0.${i}, asn: 64512, routeReflectorClient: true }\n`).join('')}  - { address: 198.18.0.3, asn: 64512, routeReflectorClient: true, addPath: { send: true, select: ecmp } }\n`,
    );
    const events: BestRouteEvent[] = [];
    client.subscribe((e) => events.push(e));
    await Promise.all([o1, o2, client, rr].map((s) => s.start()));
    const dest = () => [...client.rib.values()].find((d) => prefixKeyText(d.key) === '198.19.100.0/24');
    await until('two paths at the client', () => (dest()?.paths.length ?? 0) === 2);
    const d = dest()!;
    expect(d.paths.map((p) => p.attrs.nextHop).sort()).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(new Set(d.paths.map((p) => p.pathId)).size).toBe(2);
    await until('ECMP route in the feed', () => events.at(-1)?.nextHops.length === 2);
    expect(events.at(-1)).toMatchObject({ prefix: '198.19.100.0/24', nextHops: ['198.18.0.1', '198.18.0.2'] });
    // A client without ADD-PATH would get one path: the reflector's best.
    const rrClient3 = rr.peers.get('Peer_198_18_0_3')!;
    expect([...rrClient3.addPathSend].sort()).toEqual([1, 2]);
    // One origin withdraws: the client is left with one path and a single next hop.
    o2.withdrawLocal('198.19.100.0/24');
    await until('one path left', () => dest()?.paths.length === 1);
    await until('single next hop', () => events.at(-1)?.nextHops.length === 1);
    expect(events.at(-1)?.nextHops).toEqual(['198.18.0.1']);
  });
});
