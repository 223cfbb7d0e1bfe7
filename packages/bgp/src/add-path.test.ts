import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { ControlHandler } from './control/handler.js';
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
    const both = 'families: [ipv4-unicast, ipv6-unicast]';
    const client = mk(
      '198.18.0.3',
      `peers:\n  - { address: 198.18.0.10, asn: 64512, ${both}, addPath: { receive: true } }\n`,
    );
    const rr = mk(
      '198.18.0.10',
      `clusterId: 198.18.0.100\npeers:\n${['1', '2'].map((i) => `  - { address: 198.18.0.${i}, asn: 64512, routeReflectorClient: true }\n`).join('')}  - { address: 198.18.0.3, asn: 64512, ${both}, routeReflectorClient: true, addPath: { send: true, select: ecmp } }\n`,
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

describe('ADD-PATH with select: all', () => {
  it('sends every change to any candidate path, not only best-path changes, and lists what it sent', async () => {
    const net = new MemoryNetwork();
    const mk = (id: string, yaml: string) => {
      const s = new Speaker(
        parseConfig(`routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${yaml}`),
        { transport: net.transport(id) },
      );
      running.push(s);
      return s;
    };
    const PREFIX = '198.19.100.0/24';
    const o1 = mk(
      '198.18.0.1',
      `originate:\n  - { prefix: ${PREFIX} }\npeers:\n  - { address: 198.18.0.10, asn: 64512 }\n`,
    );
    // o2's routes reach the reflector with local-pref 50: never best, never in the ECMP set.
    const o2 = mk(
      '198.18.0.2',
      'policies:\n  - { name: lp50, rules: [{ match: {}, set: { localPref: 50 }, action: accept }] }\n' +
        'peers:\n  - { address: 198.18.0.10, asn: 64512, export: [lp50] }\n',
    );
    const client = mk('198.18.0.3', 'peers:\n  - { address: 198.18.0.10, asn: 64512, addPath: { receive: true } }\n');
    const rr = mk(
      '198.18.0.10',
      `clusterId: 198.18.0.100\npeers:\n${['1', '2'].map((i) => `  - { address: 198.18.0.${i}, asn: 64512, routeReflectorClient: true }\n`).join('')}  - { name: c, address: 198.18.0.3, asn: 64512, routeReflectorClient: true, addPath: { send: true, select: all } }\n`,
    );
    await Promise.all([o1, o2, client, rr].map((s) => s.start()));
    const paths = () => [...client.rib.values()].find((d) => prefixKeyText(d.key) === PREFIX)?.paths ?? [];
    await until('o1 path at the client', () => paths().length === 1);
    await until('sessions up', () => [...rr.peers.values()].every((p) => p.state === 'Established'));

    // A non-best path learned after the session is up reaches the ADD-PATH client.
    o2.originate(PREFIX);
    await until('the non-best path at the client', () => paths().length === 2);
    expect(
      paths()
        .map((p) => [p.attrs.nextHop, p.attrs.localPref])
        .sort(),
    ).toEqual([
      ['198.18.0.1', 100],
      ['198.18.0.2', 50],
    ]);
    // A change of its attributes reaches it too.
    o2.originate(PREFIX, { communities: ['64512:7'] });
    await until('the changed non-best path', () =>
      paths().some((p) => p.attrs.nextHop === '198.18.0.2' && (p.attrs.attrs.communities ?? []).length === 1),
    );
    // show rib out lists both paths as sent, with their path identifiers.
    const handler = new ControlHandler(rr, { version: 'test' });
    const out = handler.rib({ table: 'out', peer: 'c' });
    expect(out.routes.map((r) => [r.prefix, r.next_hop, r.local_pref])).toEqual([
      [PREFIX, '198.18.0.1', 100],
      [PREFIX, '198.18.0.2', 50],
    ]);
    expect(new Set(out.routes.map((r) => r.path_id)).size).toBe(2);
    expect(out.routes.every((r) => r.path_id > 0)).toBe(true);
    // Its withdrawal is sent: the client keeps the best path only.
    o2.withdrawLocal(PREFIX);
    await until('the non-best path withdrawn at the client', () => paths().length === 1);
    expect(paths()[0]?.attrs.nextHop).toBe('198.18.0.1');
    expect(handler.rib({ table: 'out', peer: 'c' }).routes).toHaveLength(1);
  });
});
