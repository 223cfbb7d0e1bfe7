import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsCluster, type Pod } from './cluster.js';

function yaml(nodes: number): string {
  const docs = [
    'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }',
    'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: pods }\nspec: { cidr: 198.19.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never }',
    "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: peer-with-route-reflectors }\nspec: { nodeSelector: all(), peerSelector: route-reflector == 'true' }",
  ];
  for (let i = 1; i <= nodes; i++) {
    const rr = i <= 2;
    docs.push(
      `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: n${i}${rr ? ', labels: { route-reflector: "true" }' : ''} }\nspec: { bgp: { ipv4Address: 198.18.0.${i}/24${rr ? `, routeReflectorClusterID: 224.0.0.${i}` : ''} } }`,
    );
  }
  return `${docs.join('\n---\n')}\n`;
}

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli')))(
  'e2e: 6 nodes, 2 route reflectors with distinct cluster IDs, mesh off',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const pods: Pod[] = [];

    beforeAll(async () => {
      await cluster.start(6);
      await cluster.apply(yaml(6));
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes.slice(2)) pods.push(await cluster.addPod(n, `app-${n.name}`));
    }, 180_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('clients peer with both reflectors only; every client learns every block through them', async () => {
      for (const n of cluster.nodes.slice(2)) {
        const st = await waitFor(
          `${n.name} ready`,
          async () => {
            const s = await cluster.nodeStatus(n);
            return s.ready && s.peers.length === 2 ? s : null;
          },
          40_000,
        );
        expect(st.peers.map((p) => [p.peer_address, p.peer_type])).toEqual([
          ['198.18.0.1', 'route reflector'],
          ['198.18.0.2', 'route reflector'],
        ]);
      }
      const n3 = cluster.nodes[2]!;
      const rib = await waitFor(
        'reflected blocks at n3',
        async () => {
          const r = JSON.parse((await cluster.ctl(n3, ['--json', 'show', 'rib'])).stdout) as {
            routes: { prefix: string; best: boolean; originator_id: string | null; cluster_list: string[] }[];
          };
          const reflected = r.routes.filter((x) => x.best && x.originator_id);
          return reflected.length >= 3 ? reflected : null;
        },
        30_000,
      );
      for (const r of rib) expect(r.cluster_list[0]).toMatch(/^224\.0\.0\.[12]$/);
    });

    it('pods on clients reach each other', async () => {
      for (const from of pods) {
        for (const to of pods)
          if (from !== to) await waitFor(`${from.name} -> ${to.name}`, () => cluster.ping(from, to.ip), 20_000);
      }
    }, 120_000);

    it('when one reflector dies, the blocks stay learned through the other and traffic continues', async () => {
      const rr1 = cluster.nodes[0]!;
      await rr1.proc?.kill('SIGKILL');
      const n4 = cluster.nodes[3]!;
      const n5Block = (await waitFor('n5 block', async () => {
        const r = JSON.parse((await cluster.ctl(cluster.nodes[4]!, ['--json', 'show', 'rib'])).stdout) as {
          routes: { prefix: string; local: boolean }[];
        };
        return r.routes.find((x) => x.local)?.prefix;
      }))!;
      await waitFor(
        'n5 block at n4 via rr2 only',
        async () => {
          const r = JSON.parse((await cluster.ctl(n4, ['--json', 'show', 'rib', n5Block])).stdout) as {
            routes: { from_address: string; best: boolean; stale: boolean }[];
          };
          return r.routes.some((x) => x.best && x.from_address === '198.18.0.2' && !x.stale);
        },
        30_000,
      );
      for (const from of pods)
        for (const to of pods) if (from !== to) expect(await cluster.ping(from, to.ip)).toBe(true);
    }, 90_000);
  },
);
