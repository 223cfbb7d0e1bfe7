import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, clusterYaml, NetnsCluster } from './cluster.js';

// BFD on the node-to-node mesh through Tabby's extension (the tabby.dev/bfd annotation on the
// default BGPConfiguration, Calico manifests otherwise unchanged), 100 ms x 3: a node whose link
// stops carrying packets loses its pod routes on the other nodes well before the BGP hold time
// (9 s in the lab), which is what it takes without BFD. The exact times are measured by the
// benchmark (`npm run bench -- bgp-bfd`, docs/benchmarks/bgp-bfd.md); this test only bounds them.
const HOLD = 9;

const bgpConfiguration = (bfd: boolean) => `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
  annotations: { tabby.dev/bfd: "${bfd ? 'minRx=100ms,minTx=100ms,multiplier=3' : 'false'}" }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512, nodeMeshMaxRestartTime: 0s }
`;

interface BfdRow {
  peer: string;
  state: string;
  detect_time_ms: number;
  bgp_state: string;
}

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli', 'tc')))(
  'e2e: BFD on the mesh (three nodes, 100 ms x 3)',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const blocks = new Map<string, string>();
    const node = (i: number) => cluster.nodes[i] as ClusterNode;
    const bfd = async (n: ClusterNode) =>
      JSON.parse((await cluster.ctl(n, ['--json', 'show', 'bfd'])).stdout) as BfdRow[];
    const inKernel = async (at: ClusterNode, prefix: string) =>
      (await cluster.routes(at)).some((r) => r.dst === prefix && r.protocol === 'bgp');
    const cut = (n: ClusterNode) => n.ns.exec(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'pfifo', 'limit', '0']);
    const mend = (n: ClusterNode) => n.ns.exec(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFailure: true });

    beforeAll(async () => {
      await cluster.start(3);
      await cluster.apply(clusterYaml(3));
      await cluster.apply(bgpConfiguration(true));
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes) {
        const block = await waitFor(
          `${n.name} block`,
          async () => {
            const r = JSON.parse((await cluster.ctl(n, ['--json', 'show', 'rib'])).stdout) as {
              routes: { prefix: string; local: boolean }[];
            };
            return r.routes.find((x) => x.local)?.prefix;
          },
          60_000,
        );
        blocks.set(n.name, block);
      }
      for (const n of cluster.nodes)
        for (const [name, block] of blocks)
          if (name !== n.name) await waitFor(`${block} in ${n.name}'s kernel`, () => inKernel(n, block), 60_000);
    }, 150_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('every mesh session has its BFD session Up at 100 ms x 3', async () => {
      for (const n of cluster.nodes) {
        await waitFor(
          `${n.name}: 2 BFD sessions Up with the fast timers`,
          async () => {
            const rows = await bfd(n);
            return rows.length === 2 && rows.every((r) => r.state === 'Up' && r.detect_time_ms === 300);
          },
          20_000,
        );
      }
    }, 70_000);

    it("cutting a node's link removes its pod routes from the other nodes' kernels before the hold time", async () => {
      const [n1, n2, n3] = [node(0), node(1), node(2)];
      const block = blocks.get(n3.name)!;
      await cut(n3);
      const t0 = Date.now();
      try {
        for (const at of [n1, n2])
          await waitFor(
            `${block} gone from ${at.name}'s kernel`,
            async () => !(await inKernel(at, block)),
            HOLD * 1000,
          );
        // Generous: without BFD nothing can remove it before the hold time runs out.
        expect(Date.now() - t0).toBeLessThan(HOLD * 1000);
        const seen = (await bfd(n1)).find((r) => r.peer.endsWith('198_18_0_3'));
        expect(seen).toMatchObject({ state: 'Down' });
      } finally {
        await mend(n3);
      }
      for (const at of [n1, n2])
        await waitFor(`${block} back in ${at.name}'s kernel`, () => inKernel(at, block), 60_000);
    }, 90_000);

    it('SIGTERM ends an agent with BFD sessions within its grace time (exit 0)', async () => {
      const n3 = node(2);
      await n3.proc?.kill('SIGTERM');
      expect(await n3.proc?.wait()).toBe(0);
      expect(n3.proc?.output).not.toContain('did not stop in time');
    }, 30_000);
  },
);
