import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterNode, clusterYaml, NetnsCluster, type Pod } from './cluster.js';

const HEALTH_PORT = 9099;

/** A node's `/readiness` answer: the HTTP status and the agent's status object. */
async function readiness(n: ClusterNode): Promise<{ status: number; body: { ready: boolean; reason?: string } }> {
  const script = `const r = await fetch('http://127.0.0.1:${HEALTH_PORT}/readiness'); console.log(JSON.stringify({ status: r.status, body: await r.json() }));`;
  const out = await n.ns.exec([process.execPath, '--input-type=module', '-e', script]);
  return JSON.parse(out.stdout);
}

const count = (text: string, needle: string): number => text.split(needle).length - 1;

/** The peer addresses in a node's `node status`. */
async function peerAddresses(cluster: NetnsCluster, n: ClusterNode): Promise<string[]> {
  return (await cluster.nodeStatus(n)).peers.map((p) => p.peer_address).sort();
}

const bgpPeer = (name: string, ip: string) =>
  `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: ${name} }\nspec: { peerIP: ${ip}, asNumber: 65001 }\n`;

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
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n, ['--health-port', String(HEALTH_PORT)])));
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
      // The router is gone for good: so is its peering (a peer that is down makes nodes not ready).
      await cluster.tabby(['delete', 'bgppeer', 'tor']);
    }, 90_000);

    it('routes and traffic stay while the datastore is down; the agents catch up after it returns', async () => {
      const [a, b] = pods as [Pod, Pod];
      await waitFor('traffic before', () => cluster.ping(a, b.ip), 20_000);
      for (const n of cluster.nodes) expect((await readiness(n)).status).toBe(200);
      await cluster.stopDatastore();
      // Readiness says why within seconds, while routes and traffic stay.
      for (const n of cluster.nodes) {
        const r = await waitFor('readiness to fail', async () => {
          const x = await readiness(n);
          return x.status === 503 ? x : undefined;
        });
        expect(r.body.ready).toBe(false);
        expect(r.body.reason).toMatch(/^datastore redis:\/\/198\.18\.0\.254:6379\/0 unreachable: /);
      }
      const until = Date.now() + 20_000;
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
      for (const n of cluster.nodes) {
        await waitFor(`${n.name} ready again`, async () => (await readiness(n)).status === 200, 30_000);
        // The outage is logged once when it starts and once when it ends, with its length.
        const log = n.proc!.output;
        expect(count(log, '"msg":"datastore unreachable"')).toBe(1);
        expect(count(log, '"msg":"datastore reachable again"')).toBe(1);
        expect(log).toMatch(/"outageMs":\d{4,}.*"msg":"datastore reachable again"/);
      }
      // A pod created after the outage is programmed: the agent's watch is back.
      const late = await cluster.addPod(cluster.nodes[1]!, 'late');
      await waitFor(
        'late pod routed on n2',
        async () => (await cluster.routes(cluster.nodes[1]!)).some((r) => r.dst === late.ip),
        30_000,
      );
      await waitFor('traffic to the late pod', () => cluster.ping(a, late.ip), 20_000);
    }, 150_000);

    it('a datastore restored from an older backup is noticed: the agents drop what the backup lacks and see what comes next', async () => {
      const [a, b] = pods as [Pod, Pod];
      await cluster.backupDatastore('before-peer');
      await cluster.apply(bgpPeer('later', '198.18.0.251'));
      for (const n of cluster.nodes)
        await waitFor(`${n.name} peers with the later BGPPeer`, async () =>
          (await peerAddresses(cluster, n)).includes('198.18.0.251'),
        );
      await cluster.restoreDatastore('before-peer');
      // The store went back in time (its revision is behind the agents'): every watcher resyncs.
      for (const n of cluster.nodes) {
        await waitFor(
          `${n.name} to drop the peer the backup lacks`,
          async () => !(await peerAddresses(cluster, n)).includes('198.18.0.251'),
          20_000,
        );
        expect(n.proc!.output).toContain('datastore resync');
      }
      await cluster.apply(bgpPeer('after-restore', '198.18.0.252'));
      for (const n of cluster.nodes)
        await waitFor(`${n.name} peers with a BGPPeer applied after the restore`, async () =>
          (await peerAddresses(cluster, n)).includes('198.18.0.252'),
        );
      expect(await cluster.ping(a, b.ip)).toBe(true);
      await cluster.tabby(['delete', 'bgppeer', 'after-restore']);
    }, 120_000);

    it('a datastore that comes back empty is noticed; nothing is withdrawn; restoring the backup brings readiness back', async () => {
      const [a, b] = pods as [Pod, Pod];
      await cluster.backupDatastore('full');
      await cluster.restoreDatastore(null);
      for (const n of cluster.nodes) {
        const r = await waitFor(
          `${n.name} not ready`,
          async () => {
            const x = await readiness(n);
            return x.status === 503 && x.body.reason?.includes('no Node resource') ? x : undefined;
          },
          20_000,
        );
        expect(r.body.reason).toContain(`no Node resource named "${n.name}"`);
      }
      // An empty store is not a reason to withdraw routes: pods still reach each other.
      expect(await cluster.ping(a, b.ip)).toBe(true);
      expect(await cluster.ping(b, a.ip)).toBe(true);
      await cluster.restoreDatastore('full');
      for (const n of cluster.nodes) {
        await waitFor(
          `${n.name} ready again`,
          async () => {
            const r = await readiness(n);
            if (r.status !== 200) throw new Error(`not ready: ${r.body.reason}`);
            return true;
          },
          30_000,
        );
      }
      expect(await cluster.ping(a, b.ip)).toBe(true);
    }, 120_000);
  },
);
