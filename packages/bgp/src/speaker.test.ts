import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { type BestRouteEvent, Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork, type Transport } from './transport.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

function speaker(net: MemoryNetwork, yaml: string): Speaker {
  const cfg = parseConfig(yaml, 'test.yaml');
  const s = new Speaker(cfg, { transport: net.transport(cfg.routerId) });
  speakers.push(s);
  return s;
}

function ribPrefixes(s: Speaker): string[] {
  return [...s.rib.values()]
    .filter((d) => d.best)
    .map((d) => prefixKeyText(d.key))
    .sort();
}

const peerYaml = (addr: string, asn: number, extra = '') =>
  `  - { address: ${addr}, asn: ${asn}, holdTime: 9${extra} }\n`;

describe('Speaker in-process (memory transport)', () => {
  it('establishes iBGP, exchanges IPv4 and IPv6 routes, and withdraws them', async () => {
    const net = new MemoryNetwork();
    const a = speaker(
      net,
      `routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\noriginate:\n  - { prefix: 198.18.64.0/26, communities: ["64512:7"] }\n  - { prefix: "2001:db8:64::/64" }\npeers:\n${peerYaml('198.18.0.2', 64512)}`,
    );
    const b = speaker(
      net,
      `routerId: 198.18.0.2\nasn: 64512\nlisten: { address: 198.18.0.2, port: 179 }\npeers:\n${peerYaml('198.18.0.1', 64512)}`,
    );
    const events: BestRouteEvent[] = [];
    b.subscribe((e) => events.push(e));
    await Promise.all([a.start(), b.start()]);
    await until(
      'both established',
      () =>
        a.peers.get('Peer_198_18_0_2')?.state === 'Established' &&
        b.peers.get('Peer_198_18_0_1')?.state === 'Established',
    );
    await until('route at b', () => ribPrefixes(b).includes('198.18.64.0/26'));
    const dest = [...b.rib.values()].find((d) => prefixKeyText(d.key) === '198.18.64.0/26')!;
    expect(dest.best?.attrs.nextHop).toBe('198.18.0.1');
    expect(dest.best?.attrs.attrs.localPref).toBe(100);
    expect(dest.best?.attrs.attrs.communities).toEqual([64512 * 65536 + 7]);
    expect(dest.best?.source.ibgp).toBe(true);
    // IPv6 over an IPv4 session has no IPv6 next hop to give: not announced (no RFC 8950 yet).
    expect(ribPrefixes(b)).toEqual(['198.18.64.0/26']);
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'add',
        prefix: '198.18.64.0/26',
        nextHops: ['198.18.0.1'],
        sources: ['Peer_198_18_0_1'],
      }),
    );
    a.withdrawLocal('198.18.64.0/26');
    await until('withdrawal at b', () => !ribPrefixes(b).includes('198.18.64.0/26'));
    expect(events.at(-1)).toMatchObject({ type: 'withdraw', prefix: '198.18.64.0/26' });
  });

  it('eBGP: denies by default without policy (RFC 8212), prepends AS and sets next hop self with one', async () => {
    const net = new MemoryNetwork();
    const policy = 'policies:\n  - { name: all, default: accept }\n';
    const a = speaker(
      net,
      `routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\noriginate:\n  - { prefix: 198.18.64.0/26 }\n${policy}peers:\n${peerYaml('198.18.0.2', 65001, ', export: all')}${peerYaml('198.18.0.3', 65002)}`,
    );
    const b = speaker(
      net,
      `routerId: 198.18.0.2\nasn: 65001\nlisten: { address: 198.18.0.2, port: 179 }\n${policy}peers:\n${peerYaml('198.18.0.1', 64512, ', import: all')}`,
    );
    const c = speaker(
      net,
      `routerId: 198.18.0.3\nasn: 65002\nlisten: { address: 198.18.0.3, port: 179 }\n${policy}peers:\n${peerYaml('198.18.0.1', 64512, ', import: all')}`,
    );
    await Promise.all([a.start(), b.start(), c.start()]);
    await until('route at b', () => ribPrefixes(b).includes('198.18.64.0/26'));
    const best = [...b.rib.values()][0]!.best!;
    expect(best.attrs.attrs.asPath).toEqual([{ kind: 'sequence', asns: [64512] }]);
    expect(best.attrs.nextHop).toBe('198.18.0.1');
    expect(best.attrs.attrs.localPref).toBeUndefined();
    await until('c established', () => c.peers.get('Peer_198_18_0_1')?.state === 'Established');
    // a has no export policy towards c: nothing may be sent (and c sees End-of-RIB only).
    await new Promise((r) => setTimeout(r, 50));
    expect(ribPrefixes(c)).toEqual([]);
  });

  it('decides with nobody to tell, and a FIB subscriber and a peer that come later get every route', async () => {
    // b takes a's routes with no FIB subscriber and its only peer up exported nothing (eBGP without
    // export policy): the decision process then tells nobody of each change (Speaker.work).
    const net = new MemoryNetwork();
    const policy = 'policies:\n  - { name: all, default: accept }\n';
    const a = speaker(
      net,
      `routerId: 198.18.0.1\nasn: 65001\nlisten: { address: 198.18.0.1, port: 179 }\noriginate:\n  - { prefix: 198.18.64.0/26 }\n  - { prefix: 198.18.65.0/26 }\n${policy}peers:\n${peerYaml('198.18.0.2', 64512, ', export: all')}`,
    );
    const b = speaker(
      net,
      `routerId: 198.18.0.2\nasn: 64512\nlisten: { address: 198.18.0.2, port: 179 }\n${policy}peers:\n${peerYaml('198.18.0.1', 65001, ', import: all')}${peerYaml('198.18.0.3', 64512)}`,
    );
    await Promise.all([a.start(), b.start()]);
    await until('routes at b', () => ribPrefixes(b).length === 2);
    expect(b.rib.pending).toBe(0);
    const events: BestRouteEvent[] = [];
    b.subscribe((e) => events.push(e));
    expect(events.map((e) => [e.type, e.prefix]).sort()).toEqual([
      ['add', '198.18.64.0/26'],
      ['add', '198.18.65.0/26'],
    ]);
    const c = speaker(
      net,
      `routerId: 198.18.0.3\nasn: 64512\nlisten: { address: 198.18.0.3, port: 179 }\npeers:\n${peerYaml('198.18.0.2', 64512)}`,
    );
    await c.start();
    await until('routes at c', () => ribPrefixes(c).length === 2);
    expect(ribPrefixes(c)).toEqual(['198.18.64.0/26', '198.18.65.0/26']);
  });

  it('reports a refused connection and keeps retrying', async () => {
    const net = new MemoryNetwork();
    const a = speaker(
      net,
      `routerId: 198.18.0.1\nasn: 64512\nlisten: { enabled: false }\nconnectRetryTime: 1\npeers:\n${peerYaml('198.18.0.9', 64512)}`,
    );
    await a.start();
    const p = a.peers.get('Peer_198_18_0_9')!;
    await until('error recorded', () => p.lastError !== '');
    expect(p.lastError).toBe('Socket: Connection refused');
    expect(p.state).toBe('Active');
  });

  it('retries a refused connection after the connect retry time less the RFC 4271 jitter', async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    clock.random = () => 0; // the most jitter: a quarter early
    const cfg = parseConfig(
      `routerId: 198.18.0.1\nasn: 64512\nlisten: { enabled: false }\nconnectRetryTime: 4\npeers:\n${peerYaml('198.18.0.9', 64512)}`,
      'test.yaml',
    );
    const inner = net.transport(cfg.routerId);
    const attempts: number[] = [];
    const transport: Transport = {
      connect: (o) => {
        attempts.push(clock.now());
        return inner.connect(o);
      },
      listen: (o, cb) => inner.listen(o, cb),
    };
    const a = new Speaker(cfg, { transport, clock });
    speakers.push(a);
    await a.start();
    const p = a.peers.get('Peer_198_18_0_9')!;
    await until('first attempt refused', () => p.lastError !== '');
    // ConnectRetryTime 4 s, jittered: 3 s.
    clock.advance(2999);
    await new Promise((r) => setTimeout(r, 10));
    expect(attempts).toEqual([0]);
    clock.advance(1);
    await until('second attempt', () => attempts.length === 2);
    expect(attempts).toEqual([0, 3000]);
  });

  it('keeps only the set after policy for a peer that can send its routes again, and asks for them when the policy changes', async () => {
    const net = new MemoryNetwork();
    const a = speaker(
      net,
      `routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\noriginate:\n  - { prefix: 198.18.64.0/26 }\npeers:\n${peerYaml('198.18.0.2', 64512)}`,
    );
    const bYaml = (lp: number) =>
      `routerId: 198.18.0.2\nasn: 64512\nlisten: { address: 198.18.0.2, port: 179 }\npolicies:\n  - { name: lp, rules: [{ set: { localPref: ${lp} }, action: accept }] }\npeers:\n${peerYaml('198.18.0.1', 64512, ', import: [lp]')}`;
    const b = speaker(net, bYaml(200));
    await Promise.all([a.start(), b.start()]);
    const best = () => [...b.rib.values()].find((d) => prefixKeyText(d.key) === '198.18.64.0/26')?.best;
    await until('route at b', () => best()?.attrs.localPref === 200);
    // The peer (Tabby) advertises ROUTE-REFRESH: the received set (LOCAL_PREF 100) is not kept.
    expect(b.rib.receivedKept(best()!.route)).toBe(false);
    expect(best()!.raw).toBe(best()!.attrs);
    const toA = a.peers.get('Peer_198_18_0_2')!;
    expect(toA.established!.received.route_refresh).toBe(0);
    const result = b.reload(parseConfig(bYaml(300), 'test.yaml'));
    expect(result.policies_changed).toBe(true);
    // B cannot re-run the policy on what it did not keep: it asks A, and A sends the route again.
    await until('route through the new policy', () => best()?.attrs.localPref === 300);
    expect(toA.established!.received.route_refresh).toBe(1);
  });
});
