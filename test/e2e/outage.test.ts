import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterYaml, NetnsCluster, type Pod } from './cluster.js';

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli', 'bird', 'birdc')))(
  'e2e: a BIRD top-of-rack router, and a datastore outage',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const pods: Pod[] = [];
    let birdOut = '';

    beforeAll(async () => {
      await cluster.start(2);
      await cluster.apply(
        clusterYaml(
          2,
          '---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: tor }\nspec: { peerIP: 198.18.0.250, asNumber: 65000 }\n',
        ),
      );
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes) pods.push(await cluster.addPod(n, `db-${n.name}`));
    }, 120_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('a BIRD 2 router peering with every node (a global BGPPeer) learns every pod block', async () => {
      const tor = await lab.netns('tor');
      const sw = cluster.bridgePlug;
      await sw(tor, 'eth0', '198.18.0.250/24');
      const { BirdDaemon } = await import('../interop/bird.js');
      const bird = new BirdDaemon(
        tor,
        `router id 198.18.0.250;
protocol device {}
template bgp node { local 198.18.0.250 as 65000; hold time 9; connect retry time 2; ipv4 { import all; export none; }; }
protocol bgp n1 from node { neighbor 198.18.0.1 as 64512; }
protocol bgp n2 from node { neighbor 198.18.0.2 as 64512; }
`,
      );
      await bird.start();
      try {
        const routes = await waitFor(
          'both blocks at BIRD',
          async () => {
            const r = await bird.routes('master4');
            const blocks = [...r.keys()].filter((k) => k.startsWith('198.19.'));
            return blocks.length === 2 ? r : null;
          },
          40_000,
        );
        for (const [prefix, text] of routes)
          if (prefix.startsWith('198.19.')) expect(text).toMatch(/BGP\.as_path: 64512/);
        birdOut = [...routes.keys()].join(' ');
      } finally {
        await bird.stop();
      }
      expect(birdOut).toContain('198.19.');
    }, 90_000);

    it('routes and traffic stay while the datastore is down; the agents catch up after it returns', async () => {
      const [a, b] = pods as [Pod, Pod];
      await waitFor('traffic before', () => cluster.ping(a, b.ip), 20_000);
      await cluster.stopDatastore();
      const until = Date.now() + 30_000;
      while (Date.now() < until) {
        expect(await cluster.ping(a, b.ip)).toBe(true);
        await new Promise((r) => setTimeout(r, 2000));
      }
      for (const n of cluster.nodes) {
        // The mesh sessions stay up (the BIRD router of the previous test is gone: its peering is not).
        const mesh = (await cluster.nodeStatus(n)).peers.filter((p) => p.peer_type === 'node-to-node mesh');
        expect(mesh.map((p) => p.info)).toEqual(['Established']);
      }
      await cluster.startDatastore();
      // A pod created after the outage is programmed: the agent's watch is back.
      const late = await cluster.addPod(cluster.nodes[1]!, 'late');
      await waitFor(
        'late pod routed on n2',
        async () => (await cluster.routes(cluster.nodes[1]!)).some((r) => r.dst === late.ip),
        30_000,
      );
      await waitFor('traffic to the late pod', () => cluster.ping(a, late.ip), 20_000);
    }, 150_000);
  },
);
