import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterYaml, NetnsCluster, type Pod } from './cluster.js';

const reflector = (i: number) => `apiVersion: projectcalico.org/v3
kind: Node
metadata: { name: n${i}, labels: { route-reflector: "true" } }
spec: { bgp: { ipv4Address: 198.18.0.${i}/24, routeReflectorClusterID: 224.0.0.${i} } }`;

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli')))(
  'e2e: migrating from the mesh to route reflectors without losing traffic',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const pods: Pod[] = [];

    beforeAll(async () => {
      await cluster.start(4);
      await cluster.apply(clusterYaml(4));
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes.slice(2)) pods.push(await cluster.addPod(n, `svc-${n.name}`));
    }, 150_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('adds reflectors, then turns the mesh off, while pings flow between pods on two clients', async () => {
      const [a, b] = pods as [Pod, Pod];
      await waitFor('traffic before', () => cluster.ping(a, b.ip), 30_000);
      // Continuous traffic through the whole change: 5 pings a second.
      const ping = a.ns.spawn(['ping', '-i', '0.2', '-W', '1', b.ip]);
      await new Promise((r) => setTimeout(r, 2000));
      await cluster.apply(
        `${reflector(1)}\n---\n${reflector(2)}\n---\napiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: peer-with-route-reflectors }\nspec: { nodeSelector: all(), peerSelector: route-reflector == 'true' }\n`,
      );
      for (const n of cluster.nodes.slice(2)) {
        await waitFor(
          `${n.name} reflector sessions up`,
          async () => {
            const st = await cluster.nodeStatus(n);
            return st.peers.filter((p) => p.peer_type === 'route reflector' && p.info === 'Established').length === 2;
          },
          40_000,
        );
      }
      await cluster.apply(
        'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }\n',
      );
      const n3 = cluster.nodes[2]!;
      await waitFor(
        'mesh gone at n3',
        async () => (await cluster.nodeStatus(n3)).peers.every((p) => p.peer_type !== 'node-to-node mesh'),
        30_000,
      );
      await new Promise((r) => setTimeout(r, 3000));
      await ping.kill('SIGINT');
      const m = /(\d+) packets transmitted, (\d+) received/.exec(ping.output);
      expect(m, ping.output).not.toBeNull();
      const [sent, received] = [Number(m![1]), Number(m![2])];
      expect(sent).toBeGreaterThan(20);
      expect(received, ping.output.split('\n').slice(-4).join('\n')).toBe(sent);
    }, 150_000);
  },
);
