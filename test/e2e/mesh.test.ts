import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterYaml, NetnsCluster, type Pod } from './cluster.js';

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli')))(
  'e2e: a 3-node mesh in namespaces, kernel routes, real pods',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const pods: Pod[] = [];

    beforeAll(async () => {
      await cluster.start(3);
      await cluster.apply(clusterYaml(3));
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes) pods.push(await cluster.addPod(n, `web-${n.name}`));
    }, 120_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('bgpctl node status shows the mesh Established everywhere', async () => {
      for (const n of cluster.nodes) {
        const st = await waitFor(
          `${n.name} ready`,
          async () => {
            const s = await cluster.nodeStatus(n);
            return s.ready && s.peers.length === 2 ? s : null;
          },
          30_000,
        );
        expect(st.peers.map((p) => p.peer_type)).toEqual(['node-to-node mesh', 'node-to-node mesh']);
        const text = (await cluster.ctl(n, ['node', 'status'])).stdout;
        expect(text).toMatch(/\| PEER ADDRESS \|\s+PEER TYPE\s+\| STATE \|/);
      }
    });

    it('programs the kernel: a blackhole for the own block, remote blocks via their node, pods on cali*', async () => {
      const n1 = cluster.nodes[0]!;
      const routes = await waitFor(
        'remote blocks in the kernel',
        async () => {
          const r = await cluster.routes(n1);
          return r.filter((x) => x.gateway === '198.18.0.2' || x.gateway === '198.18.0.3').length >= 2 ? r : null;
        },
        30_000,
      );
      expect(routes.some((r) => r.type === 'blackhole' && r.dst.startsWith('198.19.'))).toBe(true);
      const pod = routes.find((r) => r.dst === pods[0]!.ip);
      expect(pod?.dev).toMatch(/^cali[0-9a-f]{11}$/);
      const viaNodes = routes.filter((x) => x.dst !== 'default' && x.gateway?.startsWith('198.18.0.'));
      expect(viaNodes.map((r) => r.dst).every((d) => /^198\.19\.\d+\.\d+\/26$/.test(d))).toBe(true);
      expect(viaNodes.every((r) => r.dev === 'eth0' && r.flags?.includes('onlink'))).toBe(true);
    });

    it('every pod reaches every other pod (real traffic)', async () => {
      for (const from of pods) {
        for (const to of pods) {
          if (from === to) continue;
          await waitFor(`${from.name} -> ${to.name}`, () => cluster.ping(from, to.ip), 20_000);
        }
      }
    }, 120_000);
  },
);
