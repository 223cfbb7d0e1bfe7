import { prefixKeyText } from '@tabby/bgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessLab } from './in-process.js';

describe('in-process lab: 3 nodes in a full mesh over TCP on loopback', () => {
  const lab = new InProcessLab({ nodes: 3, pods: 2, port: 17279, socketDir: `/tmp/tabby-lab-test-${process.pid}` });
  beforeAll(async () => {
    await lab.up();
  }, 30_000);
  afterAll(() => lab.down());

  it('converges: every session up, every node routes to every other node block', async () => {
    await lab.waitConverged(30_000);
    for (const n of lab.nodes) {
      const st = n.agent.status();
      expect(st.peers.map((p) => p.peer_type)).toEqual(['node-to-node mesh', 'node-to-node mesh']);
      expect(n.agent.blocks).toHaveLength(1);
    }
  });

  it('programs Calico route shapes: local pods, local block blackhole, remote blocks via the node', async () => {
    const [a, b] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const routes = (await a.routes.read()).routes;
    const aBlock = a.agent.blocks[0]!;
    const bBlock = b.agent.blocks[0]!;
    expect(routes.find((r) => r.dst === aBlock)).toMatchObject({ type: 'blackhole' });
    const remote = routes.filter((r) => r.dst === bBlock);
    expect(remote.length).toBeGreaterThan(0);
    // Out of the device the kernel would use for 127.0.0.12 (lo, found from the node's address), not eth0.
    expect(remote[0]).toMatchObject({ via: b.address, dev: 'lo' });
    expect(routes.filter((r) => r.dev === 'eth0' || r.nextHops?.some((h) => h.dev === 'eth0'))).toEqual([]);
    const pods = routes.filter((r) => r.dev?.startsWith('cali'));
    expect(pods).toHaveLength(2);
    expect(pods.every((r) => r.dst.endsWith('/32') && r.scope === 'link')).toBe(true);
  });

  it('a new pod on one node shows up as a local route there and needs no new BGP route', async () => {
    const ip = await lab.addPod('node-2', 'default', 'late-pod');
    const b = lab.nodes[1]!;
    const end = Date.now() + 5000;
    while (!(await b.routes.read()).routes.some((r) => r.dst === `${ip}/32`)) {
      if (Date.now() > end) throw new Error('pod route not programmed');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe('in-process lab: datastore changes reach every node without restarting anything', () => {
  const lab = new InProcessLab({
    nodes: 3,
    pods: 0,
    transport: 'memory',
    socketDir: `/tmp/tabby-lab-chg-${process.pid}`,
  });
  beforeAll(() => lab.up(), 30_000);
  afterAll(() => lab.down());

  it('a node that leaves loses its peerings and routes elsewhere; the other sessions stay up', async () => {
    await lab.waitConverged(30_000);
    const [a, b, c] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    const cBlock = c.agent.blocks[0]!;
    await lab.store.delete('Node', c.name);
    const end = Date.now() + 5000;
    while ((await a.routes.read()).routes.some((r) => r.dst === cBlock) || a.agent.status().peers.length !== 1) {
      if (Date.now() > end) throw new Error('node-3 still present at node-1');
      await new Promise((r) => setTimeout(r, 20));
    }
    const ab = a.agent.speaker!.findPeer(b.address)!;
    expect(ab.state).toBe('Established');
    expect(ab.establishedTransitions).toBe(1);
  });

  it('turning the mesh off removes the mesh sessions', async () => {
    await lab.store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { nodeToNodeMeshEnabled: false, asNumber: 64512, listenPort: lab.opts.port, bindMode: 'NodeIP' },
    } as Parameters<typeof lab.store.apply>[0]);
    const a = lab.nodes[0]!;
    const end = Date.now() + 5000;
    while (a.agent.status().peers.length !== 0) {
      if (Date.now() > end) throw new Error('mesh sessions still configured');
      await new Promise((r) => setTimeout(r, 20));
    }
  });
});

describe('in-process lab: route reflectors, mesh off', () => {
  const lab = new InProcessLab({
    nodes: 5,
    topology: 'rr',
    reflectors: 2,
    pods: 1,
    port: 17379,
    socketDir: `/tmp/tabby-lab-rr-${process.pid}`,
    transport: 'memory',
  });
  beforeAll(() => lab.up(), 30_000);
  afterAll(() => lab.down());

  it('clients peer only with the reflectors and still learn every block', async () => {
    await lab.waitConverged(30_000);
    const client = lab.nodes[4]!;
    expect(client.agent.status().peers.map((p) => p.peer_type)).toEqual(['route reflector', 'route reflector']);
    const rr = lab.nodes[0]!;
    expect(rr.agent.status().peers).toHaveLength(4);
    // Another client's block arrives reflected: ORIGINATOR_ID is that client, CLUSTER_LIST one reflector.
    const other = lab.nodes[3]!;
    const block = other.agent.blocks[0]!;
    const dest = [...client.agent.speaker!.rib.values()].find((x) => prefixKeyText(x.key) === block);
    expect(dest?.best?.attrs.attrs.originatorId).toBe(other.address);
    expect(dest?.best?.attrs.attrs.clusterList?.[0]).toMatch(/^224\.0\.0\.[12]$/);
    expect(dest?.paths).toHaveLength(2);
  });
});

describe('in-process lab: a borrowed pod address is announced as a /32', () => {
  const lab = new InProcessLab({
    nodes: 3,
    pods: 0,
    transport: 'memory',
    socketDir: `/tmp/tabby-lab-borrow-${process.pid}`,
  });
  beforeAll(() => lab.up(), 30_000);
  afterAll(() => lab.down());

  it('longest-prefix match sends traffic for the borrowed address to the node that has the pod', async () => {
    await lab.waitConverged(30_000);
    await lab.store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'tiny' },
      spec: { cidr: '198.18.200.0/28', blockSize: 28 },
    } as Parameters<typeof lab.store.apply>[0]);
    const [n1, n2, n3] = lab.nodes as [(typeof lab.nodes)[0], (typeof lab.nodes)[0], (typeof lab.nodes)[0]];
    // node-1 takes the pool's only block; node-3 then has to borrow from it.
    expect(await lab.ipam.assign({ node: n1.name, handle: 'owner', pools: ['tiny'] })).toBe('198.18.200.0');
    const ip = await lab.ipam.assign({ node: n3.name, handle: 'borrower', pools: ['tiny'] });
    expect(ip).toBe('198.18.200.1');
    n3.routes.addLink('calib0rr0wed001');
    await lab.store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'WorkloadEndpoint',
      metadata: { name: 'node-3-k8s-borrower-eth0', namespace: 'default' },
      spec: { node: n3.name, pod: 'borrower', interfaceName: 'calib0rr0wed001', ipNetworks: [`${ip}/32`] },
    } as Parameters<typeof lab.store.apply>[0]);
    const end = Date.now() + 5000;
    for (;;) {
      const r = (await n2.routes.read()).routes.find((x) => x.dst === `${ip}/32`);
      if (r) {
        expect(r.via ?? r.nextHops?.[0]?.via).toBe(n3.address);
        break;
      }
      if (Date.now() > end) throw new Error('borrowed /32 not routed at node-2');
      await new Promise((res) => setTimeout(res, 20));
    }
  });
});
