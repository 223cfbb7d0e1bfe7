import { canUseNetns, haveCommands, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from '../interop/bird.js';
import { clusterYaml, NetnsCluster } from './cluster.js';

const TOR = '198.18.0.100';
const SERVICES = '198.18.96.0/20';

/** The top-of-rack router: BIRD 2, AS 65000, one eBGP session per node, ECMP into its kernel. */
const torConfig = `router id ${TOR};
protocol device { scan time 10; }
protocol kernel {
  ipv4 { import none; export all; };
  merge paths on;
}
template bgp node {
  local ${TOR} as 65000;
  hold time 9;
  connect delay time 1;
  ipv4 { import all; export none; };
}
protocol bgp n1 from node { neighbor 198.18.0.1 as 64512; }
protocol bgp n2 from node { neighbor 198.18.0.2 as 64512; }
`;

/**
 * Calico's routing for a ToR (issue 18): two Tabby nodes peer with a BIRD 2 router through a
 * global BGPPeer. A BGPFilter on that peer keeps one node's pod block from the router and lets the
 * other through; the service cluster range arrives as one ECMP route through both nodes; deleting
 * the filter advertises the block without resetting a session.
 */
describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli', 'bird', 'birdc')))(
  'e2e: a BIRD top-of-rack router, a BGPFilter and the service range',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    let tor: Netns;
    let bird: BirdDaemon;
    const blocks: string[] = [];

    /** The block a node announces (its local route in `show rib`). */
    const blockOf = (i: number) =>
      waitFor(
        `n${i + 1} block`,
        async () => {
          const r = JSON.parse((await cluster.ctl(cluster.nodes[i]!, ['--json', 'show', 'rib'])).stdout) as {
            routes: { prefix: string; local: boolean }[];
          };
          return r.routes.find((x) => x.local && x.prefix.startsWith('198.19.'))?.prefix;
        },
        30_000,
      );
    const sessions = async () => {
      const out = await bird.birdc('show protocols');
      return out.split('\n').filter((l) => /^n[12]\s/.test(l) && l.includes('Established'));
    };

    beforeAll(async () => {
      await cluster.start(2);
      tor = await lab.netns('tor');
      await cluster.bridgePlug(tor, 'eth0', `${TOR}/24`);
      bird = new BirdDaemon(tor, torConfig);
      await bird.start();
      await cluster.apply(
        clusterYaml(2).replace(
          'spec: { nodeToNodeMeshEnabled: true, asNumber: 64512 }',
          `spec: { nodeToNodeMeshEnabled: true, asNumber: 64512, serviceClusterIPs: [{ cidr: ${SERVICES} }] }`,
        ),
      );
      await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
      blocks.push(await blockOf(0), await blockOf(1));
      await cluster.apply(`apiVersion: projectcalico.org/v3
kind: BGPFilter
metadata: { name: hide-n1 }
spec:
  exportV4:
    - { action: Reject, matchOperator: In, cidr: ${blocks[0]} }
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: { name: tor }
spec: { peerIP: ${TOR}, asNumber: 65000, filters: [hide-n1] }
`);
    }, 120_000);
    afterAll(async () => {
      await bird?.stop();
      await cluster.stop();
      await lab.destroy();
    });

    it('the filter keeps n1 block from the router and lets n2 block through', async () => {
      await waitFor('both sessions at the router', async () => (await sessions()).length === 2, 40_000);
      // Both nodes announce what they know of the pool (n1 passes n2's block on and n2 n1's): the
      // filter on the peer keeps n1's block from both.
      const routes = await waitFor(
        'n2 block, and not n1 block, at the router',
        async () => {
          const r = await bird.routes();
          const n2 = r.get(blocks[1]!) ?? '';
          return n2.includes('via 198.18.0.1') && n2.includes('via 198.18.0.2') && !r.has(blocks[0]!) ? r : null;
        },
        20_000,
      );
      expect(routes.get(blocks[1]!)?.match(/unicast \[n[12] /g)).toHaveLength(2);
    }, 60_000);

    it('the service cluster range arrives as an ECMP route through both nodes', async () => {
      const text = await waitFor(
        'service range from both nodes',
        async () => {
          const r = (await bird.routes()).get(SERVICES) ?? '';
          return r.includes('via 198.18.0.1') && r.includes('via 198.18.0.2') ? r : null;
        },
        20_000,
      );
      expect(text.match(/unicast \[n[12] /g)).toHaveLength(2);
      expect(text).toMatch(/AS64512i/);
      // BIRD merged the two equal paths into one multipath route in the router's kernel.
      const kernel = await waitFor(
        'multipath route in the router',
        async () => {
          const [r] = JSON.parse((await tor.ip(['-json', 'route', 'show', SERVICES])).stdout || '[]') as {
            nexthops?: { gateway: string }[];
          }[];
          return r?.nexthops?.length === 2 ? r : null;
        },
        20_000,
      );
      expect(kernel.nexthops!.map((h) => h.gateway).sort()).toEqual(['198.18.0.1', '198.18.0.2']);
      // The nodes program no route for the range (kube-proxy serves it on every node).
      for (const n of cluster.nodes) expect((await cluster.routes(n)).some((r) => r.dst === SERVICES)).toBe(false);
    }, 60_000);

    it('deleting the filter advertises n1 block without resetting a session', async () => {
      const before = await sessions();
      expect(before).toHaveLength(2);
      await cluster.tabby(['delete', 'bgpfilter', 'hide-n1']);
      await waitFor('n1 block at the router', async () => (await bird.routes()).has(blocks[0]!), 20_000);
      expect(await sessions()).toEqual(before);
    }, 60_000);
  },
);
