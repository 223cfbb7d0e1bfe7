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
      await Promise.all(
        cluster.nodes.map((n) => cluster.startNode(n, ['--health-port', '9099', '--metrics-port', '9091'])),
      );
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

    it('programs the kernel: a blackhole for the own block, BGP routes to remote blocks, pods on cali*', async () => {
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
      // Pools without encapsulation are routed by BGP, as Calico does with BIRD (proto bird there).
      expect(viaNodes.every((r) => r.dev === 'eth0' && r.protocol === 'bgp')).toBe(true);
    });

    it('/metrics: both sessions up, and the FIB counts as programmed exactly the routes the kernel holds for it', async () => {
      const n1 = cluster.nodes[0]!;
      const scrape = async () => {
        const script = "const r = await fetch('http://127.0.0.1:9091/metrics'); process.stdout.write(await r.text());";
        return (await n1.ns.exec([process.execPath, '--input-type=module', '-e', script])).stdout;
      };
      const total = (text: string, name: string, match = '') =>
        text
          .split('\n')
          .filter((l) => (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) && l.includes(match))
          .reduce((a, l) => a + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      // Converged: both sessions up, the two remote blocks learned and programmed.
      const text = await waitFor(
        'n1 metrics converged',
        async () => {
          const t = await scrape();
          return total(t, 'tabby_bgp_peer_up') === 2 && total(t, 'tabby_fib_routes_programmed', 'class="bgp"') === 2
            ? t
            : null;
        },
        30_000,
      );
      const kernel = await cluster.routes(n1);
      const owned = kernel.filter(
        (r) => r.protocol === '80' || r.protocol === 'bgp' || (r.dev?.startsWith('cali') ?? false),
      );
      expect(total(text, 'tabby_fib_routes_programmed')).toBe(owned.length);
      expect(total(text, 'tabby_fib_routes_programmed', 'class="local-workload"')).toBe(1);
      expect(total(text, 'tabby_fib_routes_programmed', 'class="blackhole"')).toBe(1);
      expect(total(text, 'tabby_bgp_peer_routes_received')).toBe(2);
      expect(total(text, 'tabby_datastore_connected')).toBe(1);
      expect(total(text, 'tabby_ipam_addresses_used', 'pool="')).toBe(3); // one pod per node
    });

    it('serves readiness (in sync, sessions up) and liveness for Kubernetes', async () => {
      const n2 = cluster.nodes[1]!;
      const get = async (path: string) => {
        const script = `const r = await fetch('http://127.0.0.1:9099${path}'); console.log(r.status, await r.text());`;
        return (await n2.ns.exec([process.execPath, '--input-type=module', '-e', script])).stdout.trim();
      };
      expect(await get('/liveness')).toBe('200 ok');
      const ready = await waitFor(
        'ready',
        async () => {
          const r = await get('/readiness');
          return r.startsWith('200') ? r : null;
        },
        30_000,
      );
      expect(JSON.parse(ready.slice(4))).toMatchObject({ node: 'n2', ready: true });
    });

    it('every pod reaches every other pod (real traffic)', async () => {
      for (const from of pods) {
        for (const to of pods) {
          if (from === to) continue;
          await waitFor(`${from.name} -> ${to.name}`, () => cluster.ping(from, to.ip), 20_000);
        }
      }
    }, 120_000);

    it('a killed agent: peers keep its block as stale (graceful restart), traffic flows; -R restart refreshes it', async () => {
      const [n1, , n3] = cluster.nodes as [
        (typeof cluster.nodes)[0],
        (typeof cluster.nodes)[0],
        (typeof cluster.nodes)[0],
      ];
      const [p1, , p3] = pods as [Pod, Pod, Pod];
      const block = await waitFor('n3 block', async () => {
        const r = JSON.parse((await cluster.ctl(n3, ['--json', 'show', 'rib'])).stdout) as {
          routes: { prefix: string; local: boolean }[];
        };
        return r.routes.find((x) => x.local)?.prefix;
      });
      await n3.proc?.kill('SIGKILL');
      const ribAt = async () =>
        (
          JSON.parse((await cluster.ctl(n1, ['--json', 'show', 'rib', block])).stdout) as {
            routes: { stale: boolean; best: boolean }[];
          }
        ).routes;
      await waitFor('stale at n1', async () => (await ribAt()).some((r) => r.best && r.stale), 15_000);
      expect((await cluster.routes(n1)).some((r) => r.dst === block && r.protocol === 'bgp')).toBe(true);
      expect(await cluster.ping(p1, p3.ip)).toBe(true);
      await cluster.startNode(n3, ['-R']);
      await waitFor('refreshed at n1', async () => (await ribAt()).some((r) => r.best && !r.stale), 30_000);
      expect(await cluster.ping(p1, p3.ip)).toBe(true);
      expect((await cluster.routes(n3)).some((r) => r.dst === p3.ip)).toBe(true);
    }, 90_000);
  },
);
