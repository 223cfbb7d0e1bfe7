import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDatastore, ResourceStore } from '@tabby/datastore';
import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from './bird.js';
import { GobgpDaemon } from './gobgp.js';
import { TabbyRrDaemon } from './route-reflector-daemon.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('bird', 'birdc', 'gobgpd', 'gobgp');

/** ORIGINATOR_ID and CLUSTER_LIST as one client saw them. */
interface Reflected {
  originatorId: string | null;
  clusterList: string[];
}

/** A BIRD 2 client of the reflector at `rr`, originating `prefix`. */
function birdClientConfig(id: string, rr: string, prefix: string): string {
  return `router id ${id};
protocol device {}
protocol static {
  ipv4;
  route ${prefix} blackhole;
}
protocol bgp reflector {
  local ${id} as 64512;
  direct;
  neighbor ${rr} as 64512;
  hold time 9;
  connect retry time 2;
  ipv4 { import all; export all; };
}
`;
}

/** A Tabby bgpd client of the reflector at `rr`, originating `prefix`. */
function tabbyClientConfig(id: string, rr: string, prefix: string): string {
  return `routerId: ${id}
asn: 64512
holdTime: 9
connectRetryTime: 2
originate:
  - { prefix: ${prefix} }
peers:
  - { name: rr, address: ${rr}, asn: 64512 }
`;
}

/** BIRD's `show route all` text for one route → ORIGINATOR_ID and CLUSTER_LIST. */
function birdReflected(text: string | undefined): Reflected | undefined {
  if (!text) return undefined;
  const orig = /BGP\.originator_id:\s*(\S+)/.exec(text)?.[1] ?? null;
  const cl = /BGP\.cluster_list:\s*([^\n]*)/.exec(text)?.[1]?.trim();
  return { originatorId: orig, clusterList: cl ? cl.split(/\s+/) : [] };
}

/** Tabby's `bgpctl --json show rib` best route → ORIGINATOR_ID and CLUSTER_LIST. */
function tabbyReflected(route: Record<string, unknown> | undefined): Reflected | undefined {
  if (!route) return undefined;
  return { originatorId: route.originator_id as string | null, clusterList: route.cluster_list as string[] };
}

/** GoBGP's `gobgp global rib -a ipv4 -j`: attributes by type code (9 ORIGINATOR_ID, 10 CLUSTER_LIST). */
async function gobgpReflected(g: GobgpDaemon, prefix: string): Promise<Reflected | undefined> {
  const out = await g.gobgp(['global', 'rib', '-a', 'ipv4', '-j'], true);
  let rib: Record<string, { attrs?: { type: number; value?: unknown }[]; best?: boolean }[]>;
  try {
    rib = JSON.parse(out);
  } catch {
    return undefined;
  }
  const paths = rib[prefix];
  const path = paths?.find((p) => p.best) ?? paths?.[0];
  if (!path) return undefined;
  const attr = (t: number) => path.attrs?.find((a) => a.type === t)?.value;
  const orig = attr(9);
  const cl = attr(10);
  return {
    originatorId: typeof orig === 'string' ? orig : null,
    clusterList: Array.isArray(cl) ? cl.map(String) : [],
  };
}

describe.skipIf(!enabled)('interop: Tabby route reflector (tabby rr) with BIRD 2, GoBGP and Tabby clients', () => {
  const lab = new NetLab();
  const CLUSTER = '198.18.0.100';
  const RR = '198.18.0.10';
  let rr: TabbyRrDaemon;
  let bird: BirdDaemon;
  let gobgp: GobgpDaemon;
  let tabby: TabbyDaemon;
  const dsDir = mkdtempSync(join(tmpdir(), 'tabby-rr-ds-'));
  const dsFile = join(dsDir, 'datastore.json');

  beforeAll(async () => {
    const sw = await lab.bridge();
    const nsRr = await lab.netns('rr');
    const nsBird = await lab.netns('bird');
    const nsGobgp = await lab.netns('gobgp');
    const nsTabby = await lab.netns('tabby');
    await sw.plug(nsRr, 'eth0', `${RR}/24`);
    await sw.plug(nsBird, 'eth0', '198.18.0.1/24');
    await sw.plug(nsGobgp, 'eth0', '198.18.0.2/24');
    await sw.plug(nsTabby, 'eth0', '198.18.0.3/24');

    // The Tabby client is not listed: it is a Node in the datastore, picked by the selector, next
    // to a node the selector leaves out.
    const store = new ResourceStore(new FileDatastore(dsFile));
    await store.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-3', labels: { 'rr-group': 'a' } },
      spec: { bgp: { ipv4Address: '198.18.0.3/24' } },
    });
    await store.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'node-4', labels: { 'rr-group': 'b' } },
      spec: { bgp: { ipv4Address: '198.18.0.4/24' } },
    });

    bird = new BirdDaemon(nsBird, birdClientConfig('198.18.0.1', RR, '198.19.1.0/24'));
    gobgp = new GobgpDaemon(
      nsGobgp,
      `[global.config]
  as = 64512
  router-id = "198.18.0.2"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${RR}"
    peer-as = 64512
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 2
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`,
    );
    tabby = new TabbyDaemon(nsTabby, tabbyClientConfig('198.18.0.3', RR, '198.19.3.0/24'));
    rr = new TabbyRrDaemon(
      nsRr,
      `routerId: ${RR}
asn: 64512
clusterId: ${CLUSTER}
holdTime: 9
connectRetryTime: 2
clients:
  - { address: 198.18.0.1, name: bird }
  - { address: 198.18.0.2, name: gobgp }
datastore:
  url: file://${dsFile}
  nodeSelector: "rr-group == 'a'"
`,
    );
    await Promise.all([bird.start(), gobgp.start(), tabby.start(), rr.start()]);
    await gobgp.gobgp(['global', 'rib', 'add', '-a', 'ipv4', '198.19.2.0/24', 'nexthop', '198.18.0.2']);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([rr?.stop(), bird?.stop(), gobgp?.stop(), tabby?.stop()]);
    await lab.destroy();
    rmSync(dsDir, { recursive: true, force: true });
  });

  it('brings up every client session: two listed, one from the datastore selector', async () => {
    try {
      await waitFor(
        'reflector sessions',
        async () =>
          (await rr.peerState('bird')) === 'Established' &&
          (await rr.peerState('gobgp')) === 'Established' &&
          (await rr.peerState('Node_198_18_0_3')) === 'Established',
        30_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nrr output:\n${rr.log.slice(-4000)}`);
    }
    const summary = await rr.json<{ peers: { name: string }[] }>('show', 'summary');
    expect(summary.peers.map((p) => p.name).sort()).toEqual(['Node_198_18_0_3', 'bird', 'gobgp']);
    const n = await rr.json<{ name: string; description: string }>('show', 'neighbor', 'Node_198_18_0_3');
    expect(n.description).toBe('node node-3');
  }, 40_000);

  it('BIRD receives the GoBGP and Tabby routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const got = await waitFor('routes at BIRD', async () => {
      const m = await bird.routes();
      const a = birdReflected(m.get('198.19.2.0/24'));
      const b = birdReflected(m.get('198.19.3.0/24'));
      return a && b ? { a, b, text: m.get('198.19.2.0/24') } : null;
    });
    expect(got.a).toEqual({ originatorId: '198.18.0.2', clusterList: [CLUSTER] });
    expect(got.b).toEqual({ originatorId: '198.18.0.3', clusterList: [CLUSTER] });
    expect(got.text).toContain('198.18.0.2'); // next hop unchanged by the reflector
  });

  it('GoBGP receives the BIRD and Tabby routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const got = await waitFor('routes at GoBGP', async () => {
      const a = await gobgpReflected(gobgp, '198.19.1.0/24');
      const b = await gobgpReflected(gobgp, '198.19.3.0/24');
      return a && b ? { a, b } : null;
    });
    expect(got.a).toEqual({ originatorId: '198.18.0.1', clusterList: [CLUSTER] });
    expect(got.b).toEqual({ originatorId: '198.18.0.3', clusterList: [CLUSTER] });
  });

  it('the Tabby client receives the BIRD and GoBGP routes with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const routes = await waitFor('routes at Tabby', async () => {
      const m = await tabby.routes();
      return m.has('198.19.1.0/24') && m.has('198.19.2.0/24') ? m : null;
    });
    expect(tabbyReflected(routes.get('198.19.1.0/24'))).toEqual({ originatorId: '198.18.0.1', clusterList: [CLUSTER] });
    expect(tabbyReflected(routes.get('198.19.2.0/24'))).toEqual({ originatorId: '198.18.0.2', clusterList: [CLUSTER] });
    expect(routes.get('198.19.1.0/24')).toMatchObject({ next_hop: '198.18.0.1', from: 'rr', ibgp: true });
  });

  it('the reflector itself holds the client routes as received (no ORIGINATOR_ID of its own)', async () => {
    const r = await rr.json<{ routes: Record<string, unknown>[] }>('show', 'rib');
    const best = new Map(r.routes.filter((x) => x.best).map((x) => [x.prefix as string, x]));
    expect([...best.keys()].sort()).toEqual(['198.19.1.0/24', '198.19.2.0/24', '198.19.3.0/24']);
    expect(tabbyReflected(best.get('198.19.3.0/24'))).toEqual({ originatorId: null, clusterList: [] });
  });

  it('a withdrawal at one client is reflected to the others', async () => {
    await gobgp.gobgp(['global', 'rib', 'del', '-a', 'ipv4', '198.19.2.0/24']);
    await waitFor('withdrawn at Tabby', async () => !(await tabby.routes()).has('198.19.2.0/24'));
    await waitFor('withdrawn at BIRD', async () => !(await bird.routes()).has('198.19.2.0/24'));
  });

  it('bgpctl reload after adding a listed non-client keeps the client sessions', async () => {
    rr.write(`routerId: ${RR}
asn: 64512
clusterId: ${CLUSTER}
holdTime: 9
connectRetryTime: 2
clients:
  - { address: 198.18.0.1, name: bird }
  - { address: 198.18.0.2, name: gobgp }
nonClients:
  - { address: 198.18.0.11, name: rr2 }
datastore:
  url: file://${dsFile}
  nodeSelector: "rr-group == 'a'"
`);
    const r = await rr.json<{ peers_added: string[]; peers_reset: string[]; peers_removed: string[] }>('reload');
    expect(r).toMatchObject({ peers_added: ['rr2'], peers_reset: [], peers_removed: [] });
    const n = await rr.json<{ name: string; established_transitions: number; state: string }[]>('show', 'neighbor');
    for (const name of ['bird', 'gobgp', 'Node_198_18_0_3']) {
      expect(n.find((x) => x.name === name)).toMatchObject({ state: 'Established', established_transitions: 1 });
    }
  });

  it('SIGTERM: tabby rr sends Cease/Administrative Shutdown to its clients and exits 0', async () => {
    await rr.stop('SIGTERM');
    expect(await rr.proc?.wait()).toBe(0);
    const n = await tabby.json<{ last_notification_received: { text: string } | null }>('show', 'neighbor', 'rr');
    expect(n.last_notification_received?.text).toMatch(/Cease \/ Administrative Shutdown/);
    await waitFor('BIRD session down', async () => !(await bird.protocolInfo('reflector')).includes('Established'));
  });
});

describe.skipIf(!enabled)('interop: Tabby bgpd as a client of a BIRD 2 route reflector', () => {
  const lab = new NetLab();
  const CLUSTER = '198.18.0.200';
  const RR = '198.18.0.20';
  let rr: BirdDaemon;
  let birdClient: BirdDaemon;
  let tabby: TabbyDaemon;

  beforeAll(async () => {
    const sw = await lab.bridge();
    const nsRr = await lab.netns('birdrr');
    const nsBird = await lab.netns('bird');
    const nsTabby = await lab.netns('tabby');
    await sw.plug(nsRr, 'eth0', `${RR}/24`);
    await sw.plug(nsBird, 'eth0', '198.18.0.1/24');
    await sw.plug(nsTabby, 'eth0', '198.18.0.3/24');
    rr = new BirdDaemon(
      nsRr,
      `router id ${RR};
protocol device {}
template bgp clients {
  local ${RR} as 64512;
  rr client;
  rr cluster id ${CLUSTER};
  direct;
  hold time 9;
  connect retry time 2;
  ipv4 { import all; export all; };
}
protocol bgp bird1 from clients { neighbor 198.18.0.1 as 64512; }
protocol bgp tabby3 from clients { neighbor 198.18.0.3 as 64512; }
`,
    );
    birdClient = new BirdDaemon(nsBird, birdClientConfig('198.18.0.1', RR, '198.19.1.0/24'));
    tabby = new TabbyDaemon(nsTabby, tabbyClientConfig('198.18.0.3', RR, '198.19.3.0/24'));
    await Promise.all([rr.start(), birdClient.start(), tabby.start()]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([rr?.stop(), birdClient?.stop(), tabby?.stop()]);
    await lab.destroy();
  });

  it('reaches Established with the BIRD reflector', async () => {
    await waitFor('tabby session', async () => (await tabby.peerState('rr')) === 'Established', 30_000);
    await waitFor(
      'bird reflector sessions',
      async () => (await rr.protocolInfo('bird1')).includes('Established'),
      30_000,
    );
  }, 40_000);

  it("the Tabby client receives the other client's route with BIRD's ORIGINATOR_ID and CLUSTER_LIST", async () => {
    const routes = await waitFor('route at Tabby', async () => {
      const m = await tabby.routes();
      return m.has('198.19.1.0/24') ? m : null;
    });
    expect(tabbyReflected(routes.get('198.19.1.0/24'))).toEqual({ originatorId: '198.18.0.1', clusterList: [CLUSTER] });
    expect(routes.get('198.19.1.0/24')).toMatchObject({ next_hop: '198.18.0.1', from: 'rr' });
  });

  it("the BIRD client receives Tabby's route reflected with ORIGINATOR_ID = Tabby's router ID", async () => {
    const r = await waitFor('route at BIRD client', async () =>
      birdReflected((await birdClient.routes()).get('198.19.3.0/24')),
    );
    expect(r).toEqual({ originatorId: '198.18.0.3', clusterList: [CLUSTER] });
  });
});
