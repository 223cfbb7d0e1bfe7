import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, clusterYaml, NetnsCluster } from './cluster.js';

// Node failure as configured: with graceful restart off (nodeMeshMaxRestartTime: 0s) a dead
// node's routes leave the others at once when its TCP session closes, and within the hold time
// (9 s in the lab) when it hangs with the connection still open; with graceful restart on they
// stay, marked stale, until the restart time runs out.
const HOLD = 9;

function meshRestartTime(t: string): string {
  return `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: { name: default }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512, nodeMeshMaxRestartTime: ${t} }
`;
}

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli')))(
  'e2e: node failure with graceful restart off and on',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    const blocks = new Map<string, string>();

    const rib = async (at: ClusterNode, prefix: string) =>
      (
        JSON.parse((await cluster.ctl(at, ['--json', 'show', 'rib', prefix])).stdout) as {
          routes: { stale: boolean; best: boolean }[];
        }
      ).routes;
    const inKernel = async (at: ClusterNode, prefix: string) =>
      (await cluster.routes(at)).some((r) => r.dst === prefix && r.protocol === 'bgp');
    const neighbor = async (at: ClusterNode, peer: ClusterNode) =>
      JSON.parse(
        (await cluster.ctl(at, ['--json', 'show', 'neighbor', `Mesh_${peer.address.replace(/\./g, '_')}`])).stdout,
      ) as { state: string; capabilities_sent: string[]; capabilities_received: string[] };
    const node = (i: number) => cluster.nodes[i] as ClusterNode;
    const established = (n: ClusterNode, peers: number) =>
      waitFor(
        `${n.name}: ${peers} sessions Established`,
        async () => {
          const s = await cluster.nodeStatus(n);
          return s.peers.filter((p) => p.info === 'Established').length === peers;
        },
        60_000,
      );

    beforeAll(async () => {
      await cluster.start(3);
      await cluster.apply(clusterYaml(3));
      await cluster.apply(meshRestartTime('0s'));
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      for (const n of cluster.nodes) {
        await established(n, 2);
        const block = await waitFor(`${n.name} block`, async () => {
          const r = JSON.parse((await cluster.ctl(n, ['--json', 'show', 'rib'])).stdout) as {
            routes: { prefix: string; local: boolean }[];
          };
          return r.routes.find((x) => x.local)?.prefix;
        });
        blocks.set(n.name, block);
      }
      for (const n of cluster.nodes) {
        for (const [name, block] of blocks) {
          if (name !== n.name) await waitFor(`${block} in ${n.name}'s kernel`, () => inKernel(n, block), 30_000);
        }
      }
    }, 180_000);
    afterAll(async () => {
      await cluster.stop();
      await lab.destroy();
    });

    it('GR off: no graceful restart capability is exchanged on the mesh', async () => {
      const d = await neighbor(node(0), node(1));
      expect(d?.state).toBe('Established');
      expect(d?.capabilities_sent.some((c) => c.startsWith('graceful-restart'))).toBe(false);
      expect(d?.capabilities_received.some((c) => c.startsWith('graceful-restart'))).toBe(false);
    });

    it('GR off, killed agent (connection closed): its block leaves the others at once, not kept as stale', async () => {
      const [n1, n2, n3] = [node(0), node(1), node(2)];
      const block = blocks.get(n3.name)!;
      await n3.proc?.kill('SIGKILL');
      const t0 = Date.now();
      for (const at of [n1, n2]) {
        await waitFor(
          `${block} gone from ${at.name}`,
          async () => {
            const routes = await rib(at, block);
            expect(routes.some((r) => r.stale)).toBe(false);
            return routes.length === 0 && !(await inKernel(at, block));
          },
          HOLD * 1000,
        );
      }
      expect(Date.now() - t0).toBeLessThan(HOLD * 1000);
    }, 60_000);

    it('GR off, hung agent (connection open, silent): its block stays until the hold timer, then goes', async () => {
      const [n1, n2] = [node(0), node(1)];
      const block = blocks.get(n2.name)!;
      n2.proc?.freeze();
      try {
        const t0 = Date.now();
        // Well inside the hold time the route is still there: only the hold timer can remove it.
        await new Promise((r) => setTimeout(r, 3000));
        expect(await inKernel(n1, block)).toBe(true);
        await waitFor(
          `${block} gone from n1`,
          async () => (await rib(n1, block)).length === 0 && !(await inKernel(n1, block)),
          (HOLD + 6) * 1000,
        );
        const waited = (Date.now() - t0) / 1000;
        expect(waited).toBeGreaterThan(3);
        expect(waited).toBeLessThan(HOLD + 6);
      } finally {
        n2.proc?.freeze(false);
      }
      // Back from the hang, the agent reconnects and its block returns.
      await waitFor(`${block} back in n1's kernel`, () => inKernel(n1, block), 60_000);
    }, 120_000);

    it('GR on (nodeMeshMaxRestartTime 12s): a killed agent stays as stale until the restart time, then goes', async () => {
      const [n1, n2] = [node(0), node(1)];
      const restart = 12;
      await cluster.apply(meshRestartTime(`${restart}s`));
      // Turning graceful restart on renegotiates the sessions; wait until n1 holds n2's block again.
      const block = blocks.get(n2.name)!;
      await waitFor(
        'GR negotiated with n2',
        async () => {
          const d = await neighbor(n1, n2);
          if (d?.state !== 'Established') return false;
          if (!d.capabilities_received.some((c) => c.startsWith(`graceful-restart ${restart}s`))) return false;
          // One path, from the new session (the reset left no copy of the old one behind).
          const paths = await rib(n1, block);
          return paths.length === 1 && !paths[0]?.stale;
        },
        60_000,
      );
      await n2.proc?.kill('SIGKILL');
      const t0 = Date.now();
      await waitFor('stale at n1', async () => (await rib(n1, block)).some((r) => r.best && r.stale), HOLD * 1000);
      expect(await inKernel(n1, block)).toBe(true);
      await waitFor(
        `${block} swept from n1 after the restart time`,
        async () => (await rib(n1, block)).length === 0 && !(await inKernel(n1, block)),
        (restart + 10) * 1000,
      );
      expect((Date.now() - t0) / 1000).toBeGreaterThan(restart - 2);
    }, 120_000);
  },
);
