import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, ManualClock, systemClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { comparePaths } from './rib/decision.js';
import type { DestView } from './rib/loc-rib.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

function dest(s: Speaker, prefix: string): DestView | undefined {
  return [...s.rib.values()].find((d) => d.best && prefixKeyText(d.key) === prefix);
}

/**
 * One reflector (198.18.0.10, cluster 198.18.0.100) with clients c1, c2 and non-clients n1, n2
 * (n1 and n2 are not peered with each other, as if they were in a separate mesh).
 */
async function topology() {
  const net = new MemoryNetwork();
  const mk = (id: string, extra: string, peers: string) => {
    const s = new Speaker(
      parseConfig(`routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${extra}peers:\n${peers}`),
      { transport: net.transport(id) },
    );
    speakers.push(s);
    return s;
  };
  const rrPeer = '  - { address: 198.18.0.10, asn: 64512 }\n';
  const c1 = mk('198.18.0.1', 'originate:\n  - { prefix: 198.19.1.0/24 }\n', rrPeer);
  const c2 = mk('198.18.0.2', '', rrPeer);
  const n1 = mk('198.18.0.3', 'originate:\n  - { prefix: 198.19.3.0/24 }\n', rrPeer);
  const n2 = mk('198.18.0.4', '', rrPeer);
  const rr = mk(
    '198.18.0.10',
    'clusterId: 198.18.0.100\n',
    ['1', '2'].map((i) => `  - { address: 198.18.0.${i}, asn: 64512, routeReflectorClient: true }\n`).join('') +
      ['3', '4'].map((i) => `  - { address: 198.18.0.${i}, asn: 64512 }\n`).join(''),
  );
  await Promise.all(speakers.map((s) => s.start()));
  await until('all established', () => [...rr.peers.values()].every((p) => p.state === 'Established'));
  return { c1, c2, n1, n2, rr };
}

describe('route reflection (RFC 4456), in-process', () => {
  it('reflects client routes to clients and non-clients with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const { c2, n1, n2 } = await topology();
    for (const s of [c2, n1, n2]) await until('client route', () => dest(s, '198.19.1.0/24') !== undefined);
    const got = dest(c2, '198.19.1.0/24')!.best!.attrs;
    expect(got.attrs.originatorId).toBe('198.18.0.1');
    expect(got.attrs.clusterList).toEqual(['198.18.0.100']);
    expect(got.nextHop).toBe('198.18.0.1');
    expect(dest(n2, '198.19.1.0/24')!.best!.attrs.attrs.originatorId).toBe('198.18.0.1');
  });

  it('reflects non-client routes to clients only', async () => {
    const { c1, c2, n2, rr } = await topology();
    for (const s of [c1, c2]) await until('non-client route at clients', () => dest(s, '198.19.3.0/24') !== undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(dest(rr, '198.19.3.0/24')).toBeDefined();
    expect(dest(n2, '198.19.3.0/24')).toBeUndefined();
  });

  it('prefers the direct path over one reflected by the other reflector (shorter CLUSTER_LIST)', async () => {
    // Two reflectors with distinct cluster IDs, clients of each other, and one client of both
    // that originates a prefix. rr2 holds the client's path and rr1's reflection of it; the
    // reflection comes from the lower peer address, so only the CLUSTER_LIST step can pick the
    // direct path.
    const net = new MemoryNetwork();
    const mk = (id: string, yaml: string) => {
      const s = new Speaker(
        parseConfig(`routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${yaml}`),
        {
          transport: net.transport(id),
        },
      );
      speakers.push(s);
      return s;
    };
    const client = (a: string) => `  - { address: ${a}, asn: 64512, routeReflectorClient: true }\n`;
    const c = mk(
      '198.18.0.20',
      'originate:\n  - { prefix: 198.19.7.0/24 }\npeers:\n  - { address: 198.18.0.10, asn: 64512 }\n  - { address: 198.18.0.11, asn: 64512 }\n',
    );
    const rr1 = mk('198.18.0.10', `clusterId: 198.18.0.100\npeers:\n${client('198.18.0.20')}${client('198.18.0.11')}`);
    const rr2 = mk('198.18.0.11', `clusterId: 198.18.0.101\npeers:\n${client('198.18.0.20')}${client('198.18.0.10')}`);
    await Promise.all([c, rr1, rr2].map((s) => s.start()));
    await until(
      'both paths at rr2',
      () => (rr2.rib.get(dest(rr2, '198.19.7.0/24')?.key ?? -1)?.paths.length ?? 0) === 2,
    );
    const d = dest(rr2, '198.19.7.0/24')!;
    expect(d.best!.source.address).toBe('198.18.0.20');
    const other = d.paths.find((p) => p !== d.best)!;
    expect(other.attrs.attrs.clusterList).toEqual(['198.18.0.100']);
    expect(comparePaths(d.best!, other, rr2.rib.options)).toMatchObject({ reason: 'longer cluster list' });
    // The originator never installs its own route back.
    expect(c.rib.get(dest(c, '198.19.7.0/24')!.key)!.paths).toHaveLength(1);
  });

  it('gives each of 120 clients that come up together every other client’s route (output paused between rounds resumes by itself)', async () => {
    // A round of flushes to 120 members is 120 writes or more: the export stage then pauses as long
    // as they took, and only a timer wakes it (nothing else happens once the last client announced).
    // The reflector runs on a clock the test moves, 20 µs on at each reading (writes take time).
    class SlowClock extends ManualClock {
      private skew = 0;
      override now(): number {
        this.skew += 0.02;
        return super.now() + this.skew;
      }
    }
    const clock = new SlowClock();
    const net = new MemoryNetwork();
    const n = 120;
    const addr = (i: number) => `198.18.${1 + (i >> 8)}.${(i & 255) + 1}`;
    const mk = (id: string, yaml: string, c: Clock = systemClock) => {
      const s = new Speaker(
        parseConfig(`routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${yaml}`),
        {
          transport: net.transport(id),
          clock: c,
        },
      );
      speakers.push(s);
      return s;
    };
    const rr = mk(
      '198.18.0.10',
      `clusterId: 198.18.0.100\npeers:\n${Array.from({ length: n }, (_, i) => `  - { address: ${addr(i)}, asn: 64512, routeReflectorClient: true }\n`).join('')}`,
      clock,
    );
    const cs = Array.from({ length: n }, (_, i) =>
      mk(addr(i), `originate:\n  - { prefix: 198.19.${i}.0/24 }\npeers:\n  - { address: 198.18.0.10, asn: 64512 }\n`),
    );
    await Promise.all(speakers.map((s) => s.start()));
    const routes = (s: Speaker) => [...s.rib.values()].filter((d) => d.best).length;
    const moving = (check: () => boolean) => () => {
      clock.advance(1);
      return check();
    };
    await until(
      'every client holding every route',
      moving(() => cs.every((c) => routes(c) === n)),
      20_000,
    );
    expect(rr.backlog.export).toBe(0);
    clock.advance(1000);
    // One prefix of the reflector's own goes out, to 120 clients; the next, a turn later, waits.
    rr.originate('198.19.200.0/24');
    await new Promise((r) => setImmediate(r));
    rr.originate('198.19.201.0/24');
    await new Promise((r) => setImmediate(r));
    expect(rr.backlog.export).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(rr.backlog.export).toBe(1); // the pause is on the reflector's clock, which has not moved
    clock.advance(10);
    await until('every client holding both', () => cs.every((c) => routes(c) === n + 2));
    expect(rr.backlog.export).toBe(0);
  }, 30_000);
});
