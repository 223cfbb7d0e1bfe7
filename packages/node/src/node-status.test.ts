import { MemoryNetwork } from '@tabby/bgp';
import { type CalicoNodeStatusResource, MemoryDatastore, type Resource, ResourceStore, runGet } from '@tabby/datastore';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { NodeAgent } from './agent.js';
import { ROUTE_LIST_LIMIT, RouteTally } from './node-status.js';

// CalicoNodeStatus: two real agents (memory transport and datastore) mesh with each other; the
// agent writes the status of the CalicoNodeStatus objects for its node, with the classes asked
// for, when they appear or change and every updatePeriodSeconds.

const agents: NodeAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

const doc = (kind: string, name: string, spec: unknown) =>
  ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec }) as Resource;
const statusRequest = (name: string, node: string, classes: string[], updatePeriodSeconds: number) =>
  doc('CalicoNodeStatus', name, { node, classes, updatePeriodSeconds });

async function until<T>(what: string, check: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function cluster() {
  const ds = new MemoryDatastore();
  const store = new ResourceStore(ds);
  for (const d of [
    doc('Node', 'n1', { bgp: { ipv4Address: '198.18.0.1/24' } }),
    doc('Node', 'n2', { bgp: { ipv4Address: '198.18.0.2/24' } }),
    doc('IPPool', 'p', { cidr: '198.19.0.0/16' }),
  ])
    await store.apply(d);
  const net = new MemoryNetwork();
  for (const [name, ip] of [
    ['n1', '198.18.0.1'],
    ['n2', '198.18.0.2'],
  ] as const) {
    const agent = new NodeAgent({
      nodeName: name,
      datastore: ds,
      transport: net.transport(ip),
      connectRetryTime: 1,
      version: '9.9.9',
    });
    agents.push(agent);
    await agent.start();
  }
  const status = async (name: string) => (await store.get('CalicoNodeStatus', name))?.status;
  return { ds, store, status };
}

describe('CalicoNodeStatus written by the node agent', () => {
  it('reports agent, BGP peers and routes for its node, with the classes asked for, and again every period', async () => {
    const { ds, store, status } = await cluster();
    await store.apply(statusRequest('n1-all', 'n1', ['Agent', 'BGP', 'Routes'], 1));
    await store.apply(statusRequest('n1-bgp', 'n1', ['BGP'], 0));
    await store.apply(statusRequest('n3', 'n3', ['BGP'], 1));

    // Wait until the mesh session is up and both blocks are known, as the status says.
    const full = await until('n1’s full status', async () => {
      const s = await status('n1-all');
      return s?.bgp?.numberEstablishedV4 === 1 && s.routes?.numberOfRoutesV4 === 2 ? s : undefined;
    });
    // The speaker was reconfigured once its block was claimed: lastReconfigurationTime too.
    expect(full.agent).toEqual({
      birdV4: {
        lastReconfigurationTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        state: 'Ready',
        version: '9.9.9',
        routerID: '198.18.0.1',
        lastBootTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      },
    });
    expect(full.bgp).toEqual({
      numberEstablishedV4: 1,
      numberNotEstablishedV4: 0,
      numberEstablishedV6: 0,
      numberNotEstablishedV6: 0,
      peersV4: [
        {
          peerIP: '198.18.0.2',
          type: 'NodeMesh',
          state: 'Established',
          since: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        },
      ],
    });
    const [own, other] = [agents[0]!.blocks[0]!, agents[1]!.blocks[0]!];
    expect(full.routes).toEqual({
      routesV4: [
        { type: 'FIB', destination: own, learnedFrom: { sourceType: 'Static' } },
        {
          type: 'FIB',
          destination: other,
          gateway: '198.18.0.2',
          interface: 'eth0',
          learnedFrom: { sourceType: 'NodeMesh', peerIP: '198.18.0.2' },
        },
      ].sort((a, b) => (a.destination < b.destination ? -1 : 1)),
      numberOfRoutesV4: 2,
      numberOfRoutesV6: 0,
    });

    // Only the classes asked for; nothing for a node without an agent.
    const bgpOnly = await until('n1-bgp', () => status('n1-bgp'));
    expect(Object.keys(bgpOnly).sort()).toEqual(['bgp', 'lastUpdated']);
    expect(await status('n3')).toBeUndefined();

    // Written again every second (lastUpdated is to the second).
    const first = full.lastUpdated;
    await until('a later write', async () => (await status('n1-all'))?.lastUpdated !== first, 5000);

    // A spec change is reported at once, even with updatePeriodSeconds 0.
    await store.apply(statusRequest('n1-bgp', 'n1', ['Agent'], 0));
    const agentOnly = await until('n1-bgp with Agent', async () => (await status('n1-bgp'))?.agent);
    expect(agentOnly.birdV4?.state).toBe('Ready');

    // What tabby get prints.
    const out = { text: '' };
    const io = { stdout: (t: string) => (out.text += t), stderr: () => {} };
    expect(await runGet({ kind: 'caliconodestatus', name: 'n1-all', output: 'yaml' }, io, ds)).toBe(0);
    const printed = parse(out.text) as CalicoNodeStatusResource;
    expect(printed.status?.bgp?.peersV4?.[0]).toMatchObject({ peerIP: '198.18.0.2', state: 'Established' });
    expect(printed.spec).toEqual({ node: 'n1', classes: ['Agent', 'BGP', 'Routes'], updatePeriodSeconds: 1 });

    // Deleting one stops its reports; the agent carries on.
    await store.delete('CalicoNodeStatus', 'n1-all');
    await store.apply(statusRequest('n1-all', 'n1', ['Routes'], 0));
    const routesOnly = await until('the re-created request', () => status('n1-all'));
    expect(Object.keys(routesOnly).sort()).toEqual(['lastUpdated', 'routes']);
  });

  it('a session that is down shows its state', async () => {
    const { store, status } = await cluster();
    await until('mesh up', () => agents[0]!.status().ready);
    await store.apply(statusRequest('s', 'n1', ['BGP'], 1));
    await until('status', () => status('s'));
    await agents[1]!.stop();
    const down = await until('the session down', async () => {
      const s = await status('s');
      return s?.bgp?.numberNotEstablishedV4 === 1 ? s : undefined;
    });
    expect(down.bgp?.peersV4?.[0]?.state).not.toBe('Established');
  });
});

describe('RouteTally', () => {
  it('counts every route and lists at most the bound per family', () => {
    const t = new RouteTally(2);
    const ev = (type: 'add' | 'change' | 'withdraw', prefix: string) => ({
      type,
      prefix,
      family: 4 as const,
      nextHops: type === 'withdraw' ? [] : ['198.18.0.9'],
      blackhole: false,
      sources: ['Global_198_18_0_9'],
    });
    for (const p of ['198.19.0.0/26', '198.19.0.64/26', '198.19.0.128/26']) t.onBestRoute(ev('add', p));
    t.onBestRoute(ev('change', '198.19.0.64/26'));
    expect(t.count[4]).toBe(3);
    expect(t.routes(4, null, 'eth0').map((r) => r.destination)).toEqual(['198.19.0.0/26', '198.19.0.64/26']);
    t.onBestRoute(ev('withdraw', '198.19.0.0/26'));
    expect(t.count[4]).toBe(2);
    expect(t.routes(4, null, 'eth0')).toEqual([
      {
        type: 'FIB',
        destination: '198.19.0.64/26',
        gateway: '198.18.0.9',
        interface: 'eth0',
        learnedFrom: { sourceType: 'BGPPeer' },
      },
    ]);
    expect(ROUTE_LIST_LIMIT).toBe(1000);
  });
});
