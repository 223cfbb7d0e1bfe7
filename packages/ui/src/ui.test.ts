import { describe, expect, it } from 'vitest';
import type { ClusterView, NodePeers, PodView } from './model.js';
import { blocksOf, sessionsOf } from './model.js';
import { UiServer } from './server.js';
import { longestMatch, type RouteDecision, tracePath } from './trace.js';

const est = (peer_address: string) => ({ peer_address, info: 'Established' });

describe('sessionsOf', () => {
  it('one session per pair, green only when both ends say Established, red when an end does not answer', () => {
    const nodes: NodePeers[] = [
      { name: 'n1', address: '10.0.0.1', peers: [est('10.0.0.2'), est('10.0.0.3'), est('192.0.2.9')] },
      { name: 'n2', address: '10.0.0.2', peers: [est('10.0.0.1'), { peer_address: '10.0.0.3', info: 'OpenConfirm' }] },
      { name: 'n3', address: '10.0.0.3', peers: null },
    ];
    expect(sessionsOf(nodes)).toEqual([
      { a: 'n1', b: 'n2', stateA: 'Established', stateB: 'Established', class: 'established' },
      { a: 'n1', b: 'n3', stateA: 'Established', stateB: '-', class: 'down' },
      { a: 'n2', b: 'n3', stateA: 'OpenConfirm', stateB: '-', class: 'down' },
    ]);
    nodes[2]!.peers = [{ peer_address: '10.0.0.2', info: 'OpenSent' }];
    expect(sessionsOf(nodes)[1]).toMatchObject({ stateB: 'Idle', class: 'down' });
    expect(sessionsOf(nodes)[2]).toMatchObject({ class: 'connecting' });
  });

  it('of an IPv4 and an IPv6 session between two nodes, the one that is down shows', () => {
    const nodes: NodePeers[] = [
      {
        name: 'n1',
        address: '10.0.0.1',
        address6: '2001:db8::1',
        peers: [est('10.0.0.2'), { peer_address: '2001:db8::2', info: 'Active' }],
      },
      { name: 'n2', address: '10.0.0.2', address6: '2001:db8::2', peers: [est('10.0.0.1'), est('2001:db8::1')] },
    ];
    expect(sessionsOf(nodes)).toEqual([{ a: 'n1', b: 'n2', stateA: 'Active', stateB: 'Established', class: 'down' }]);
  });

  it('blocks are the blackhole routes', () => {
    expect(blocksOf(['blackhole 198.19.0.0/26 proto 80', '198.19.0.64/26 via 10.0.0.2 dev eth0'])).toEqual([
      '198.19.0.0/26',
    ]);
  });
});

describe('longestMatch', () => {
  it('picks the longest prefix, IPv4 and IPv6, default last', () => {
    const v4 = [{ dst: 'default' }, { dst: '198.19.0.0/16' }, { dst: '198.19.0.64/26' }, { dst: '198.19.0.65' }];
    expect(longestMatch(v4, '198.19.0.66')?.dst).toBe('198.19.0.64/26');
    expect(longestMatch(v4, '198.19.0.65')?.dst).toBe('198.19.0.65');
    expect(longestMatch(v4, '203.0.113.1')?.dst).toBe('default');
    const v6 = [{ dst: '2001:db8:19::/48' }, { dst: '2001:db8:19::40/122' }];
    expect(longestMatch(v6, '2001:db8:19::41')?.dst).toBe('2001:db8:19::40/122');
    expect(longestMatch(v6, '2001:db8:18::1')).toBeUndefined();
  });
});

describe('tracePath', () => {
  const pods: PodView[] = [
    { name: 'a', node: 'n1', ip: '198.19.0.1' },
    { name: 'b', node: 'n2', ip: '198.19.0.65' },
  ];
  const topo = {
    nodes: [
      { name: 'n1', address: '10.0.0.1' },
      { name: 'n2', address: '10.0.0.2' },
    ],
    pods,
    ifname: (p: PodView) => `cali-${p.name}`,
  };
  const podTable = async (): Promise<RouteDecision> => ({
    type: 'unicast',
    dev: 'eth0',
    gateway: '169.254.1.1',
    from: 'pod',
  });

  it('follows pod eth0, the veth, the host route and next hop, the other node, its cali route, the pod', async () => {
    const seen: string[] = [];
    const hops = await tracePath(
      topo,
      {
        pod: podTable,
        node: async (node, dst, src, iif) => {
          seen.push(`${node} ${dst} from ${src} iif ${iif}`);
          return node === 'n1'
            ? {
                type: 'unicast',
                dev: 'eth0',
                gateway: '10.0.0.2',
                route: '198.19.0.64/26 via 10.0.0.2 dev eth0',
                from: 'x',
              }
            : { type: 'unicast', dev: 'cali-b', route: '198.19.0.65 dev cali-b scope link', from: 'y' };
        },
      },
      'a',
      'b',
    );
    expect(hops.map((h) => `${h.at} ${h.kind}`)).toEqual([
      'a pod',
      'n1 veth',
      'n1 host-route',
      'n1 next-hop',
      'n2 cali-route',
      'b pod',
    ]);
    expect(hops[3]!.text).toBe('out eth0 to 10.0.0.2 (n2)');
    expect(seen).toEqual(['n1 198.19.0.65 from 198.19.0.1 iif cali-a', 'n2 198.19.0.65 from 198.19.0.1 iif eth0']);
  });

  it('follows IPv6 addresses and next hops when asked, and says when a pod has none', async () => {
    const v6 = {
      ...topo,
      nodes: topo.nodes.map((n, i) => ({ ...n, address6: `2001:db8:18::${i + 1}` })),
      pods: [
        { ...pods[0]!, ip6: '2001:db8:19::1' },
        { ...pods[1]!, ip6: '2001:db8:19::41' },
      ],
    };
    const hops = await tracePath(
      v6,
      {
        pod: podTable,
        node: async (node, dst, src) => {
          expect([dst, src]).toEqual(['2001:db8:19::41', '2001:db8:19::1']);
          return node === 'n1'
            ? { type: 'unicast', dev: 'eth0', gateway: '2001:db8:18::2', from: 'x' }
            : { type: 'unicast', dev: 'cali-b', from: 'y' };
        },
      },
      'a',
      'b',
      6,
    );
    expect(hops.map((h) => `${h.at} ${h.kind}`)).toEqual([
      'a pod',
      'n1 veth',
      'n1 host-route',
      'n1 next-hop',
      'n2 cali-route',
      'b pod',
    ]);
    await expect(tracePath(topo, { pod: podTable, node: podTable }, 'a', 'b', 6)).rejects.toThrow(
      'a has no IPv6 address',
    );
  });

  it('ends at a blackhole, a next hop outside the cluster, or a loop, saying so', async () => {
    const blackhole = await tracePath(
      topo,
      {
        pod: podTable,
        node: async () => ({ type: 'blackhole', route: 'blackhole 198.19.0.64/26', from: 'x' }),
      },
      'a',
      'b',
    );
    expect(blackhole.at(-1)).toMatchObject({ at: 'n1', kind: 'drop', text: 'dropped: blackhole 198.19.0.64/26' });
    const outside = await tracePath(
      topo,
      {
        pod: podTable,
        node: async () => ({ type: 'unicast', dev: 'eth0', gateway: '10.0.0.254', from: 'x' }),
      },
      'a',
      'b',
    );
    expect(outside.at(-1)!.text).toMatch(/^next hop 10\.0\.0\.254 is no node of the cluster/);
    const loop = await tracePath(
      topo,
      {
        pod: podTable,
        node: async (node) => ({
          type: 'unicast',
          dev: 'eth0',
          gateway: node === 'n1' ? '10.0.0.2' : '10.0.0.1',
          from: 'x',
        }),
      },
      'a',
      'b',
    );
    expect(loop.at(-1)!.text).toMatch(/routing loop/);
    await expect(tracePath(topo, { pod: podTable, node: podTable }, 'a', 'zz')).rejects.toThrow('no pod zz');
  });
});

/** Reads server-sent events from a fetch body until `want` of them have come. */
async function readEvents<T = ClusterView>(
  body: ReadableStream<Uint8Array>,
  want: number,
  name = 'view',
): Promise<T[]> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  let text = '';
  const out: T[] = [];
  while (out.length < want) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value);
    let end = text.indexOf('\n\n');
    while (end >= 0) {
      const ev = text.slice(0, end);
      text = text.slice(end + 2);
      const data = ev.split('\n').find((l) => l.startsWith('data: '));
      if (ev.includes(`event: ${name}\n`) && data) out.push(JSON.parse(data.slice(6)));
      end = text.indexOf('\n\n');
    }
  }
  await reader.cancel();
  return out;
}

describe('UiServer', () => {
  it('serves the page, the view, a view event per change, and traces; refuses a taken port in one line', async () => {
    let title = 'one';
    let failing = '';
    const server = new UiServer({
      port: 0,
      intervalMs: 20,
      source: {
        view: async () => {
          // Fails once, then reads again.
          const why = failing;
          failing = '';
          if (why) throw new Error(why);
          return { title, routesFrom: 'test', nodes: [], sessions: [], pods: [] };
        },
        trace: async (from, to, family) => {
          if (to === 'nowhere') throw new Error('no pod nowhere');
          return [{ at: from, kind: 'pod', text: `to ${to} over IPv${family}` }];
        },
      },
    });
    const url = await server.start();
    try {
      const page = await fetch(url);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toContain('<svg id="map"');
      expect(await (await fetch(`${url}app.js`)).text()).toContain('EventSource');
      expect(((await (await fetch(`${url}api/view`)).json()) as ClusterView).title).toBe('one');
      const events = await fetch(`${url}api/events`);
      const reading = readEvents(events.body!, 2);
      title = 'two';
      expect((await reading).map((v) => v.title)).toEqual(['one', 'two']);
      // fetch resolves on the headers: the server has the stream by then.
      const again = await fetch(`${url}api/events`);
      const problems = readEvents(again.body!, 2, 'problem');
      failing = 'datastore away';
      expect(await problems).toEqual([{ error: 'datastore away' }, { error: '' }]);
      expect(await (await fetch(`${url}api/trace?from=a&to=b`)).json()).toEqual({
        from: 'a',
        to: 'b',
        family: 4,
        hops: [{ at: 'a', kind: 'pod', text: 'to b over IPv4' }],
      });
      expect(((await (await fetch(`${url}api/trace?from=a&to=b&family=6`)).json()) as { family: number }).family).toBe(
        6,
      );
      const bad = await fetch(`${url}api/trace?from=a&to=nowhere`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({ error: 'no pod nowhere' });
      expect((await fetch(`${url}nothing`)).status).toBe(404);
      const port = Number(new URL(url).port);
      const second = new UiServer({ port, source: { view: async () => ({}) as ClusterView, trace: async () => [] } });
      await expect(second.start()).rejects.toThrow(
        `the map's port ${port} on 127.0.0.1 is taken: pick another with --ui PORT`,
      );
      await second.stop();
    } finally {
      await server.stop();
    }
  });
});
