// Issue 19's proof, measured: a three-node cluster in network namespaces (tabby node agents, Redis,
// the node-to-node mesh, hold time 9 s, graceful restart off), one node's link cut (every packet it
// sends dropped: a pfifo of length 0 on its eth0), timed until its pod block has left the other two
// nodes' kernel routing tables: first with BFD at 100 ms x 3 through the tabby.dev/bfd annotation on
// the default BGPConfiguration, then, in the same run and on the same cluster, without it.
import { loadavg } from 'node:os';
import { canUseNetns, haveCommands, median, NetLab, waitFor } from '@tabby/test-helpers';
import { type ClusterNode, clusterYaml, NetnsLab } from '../netns-lab.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

const HOLD = 9;

const bgpConfiguration = (bfd: boolean) => `apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata:
  name: default
  annotations: { tabby.dev/bfd: "${bfd ? 'minRx=100ms,minTx=100ms,multiplier=3' : 'false'}" }
spec: { nodeToNodeMeshEnabled: true, asNumber: 64512, nodeMeshMaxRestartTime: 0s }
`;

interface Cut {
  bfd: boolean;
  /** ms from the cut until the block was gone from each other node's kernel. */
  n1Ms: number;
  n2Ms: number;
}

export default async function bench(ctx: Ctx) {
  if (!canUseNetns() || !haveCommands('redis-server', 'redis-cli', 'tc'))
    throw new Error('needs root, network namespaces, redis-server and tc');
  const load0 = loadavg()[0]!.toFixed(2);
  const net = new NetLab();
  const cluster = new NetnsLab(net);
  const cuts: Cut[] = [];
  try {
    await cluster.start(3);
    await cluster.apply(clusterYaml(3));
    await cluster.apply(bgpConfiguration(true));
    await Promise.all(cluster.nodes.map((n) => cluster.startNode(n)));
    const [n1, n2, n3] = cluster.nodes as [ClusterNode, ClusterNode, ClusterNode];
    const block = await waitFor(
      'n3 block',
      async () => {
        const r = JSON.parse((await cluster.ctl(n3, ['--json', 'show', 'rib'])).stdout) as {
          routes: { prefix: string; local: boolean }[];
        };
        return r.routes.find((x) => x.local)?.prefix;
      },
      60_000,
    );
    const inKernel = async (at: ClusterNode) =>
      (await cluster.routes(at)).some((r) => r.dst === block && r.protocol === 'bgp');
    const bfdUp = async (n: ClusterNode) => {
      const rows = JSON.parse((await cluster.ctl(n, ['--json', 'show', 'bfd'])).stdout) as {
        state: string;
        detect_time_ms: number;
      }[];
      return rows.length === 2 && rows.every((r) => r.state === 'Up' && r.detect_time_ms === 300);
    };
    const noBfd = async (n: ClusterNode) =>
      (JSON.parse((await cluster.ctl(n, ['--json', 'show', 'bfd'])).stdout) as unknown[]).length === 0;
    const established = async (n: ClusterNode) =>
      (await cluster.nodeStatus(n)).peers.filter((p) => p.info === 'Established').length === 2;

    const cutOnce = async (bfd: boolean) => {
      for (const n of [n1, n2]) await waitFor(`${block} in ${n.name}'s kernel`, () => inKernel(n), 60_000);
      await new Promise((r) => setTimeout(r, 1000));
      // From before the tc command: the figure includes its start-up (an upper bound).
      const t0 = Date.now();
      await n3.ns.exec(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'pfifo', 'limit', '0']);
      const gone = async (n: ClusterNode) => {
        await waitFor(`${block} gone from ${n.name}`, async () => !(await inKernel(n)), (HOLD + 10) * 1000, 10);
        return Date.now() - t0;
      };
      const [a, b] = await Promise.all([gone(n1), gone(n2)]);
      await n3.ns.exec(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFailure: true });
      cuts.push({ bfd, n1Ms: a, n2Ms: b });
      ctx.log(`${bfd ? 'BFD 100 ms x 3' : 'no BFD'}: n3's block gone from n1 after ${a} ms, n2 after ${b} ms`);
    };

    for (const n of cluster.nodes) await waitFor(`${n.name} BFD Up`, () => bfdUp(n), 60_000);
    const rounds = ctx.quick ? 2 : 3;
    for (let i = 0; i < rounds; i++) await cutOnce(true);
    await cluster.apply(bgpConfiguration(false));
    for (const n of cluster.nodes) {
      await waitFor(`${n.name} without BFD`, () => noBfd(n), 60_000);
      await waitFor(`${n.name} sessions`, () => established(n), 60_000);
    }
    for (let i = 0; i < rounds; i++) await cutOnce(false);
  } finally {
    await cluster.stop();
    await net.destroy();
  }
  const col = (bfd: boolean) => cuts.filter((c) => c.bfd === bfd).flatMap((c) => [c.n1Ms, c.n2Ms]);
  const fmt = (xs: number[]) => `${Math.round(median(xs))} (${Math.min(...xs)}–${Math.max(...xs)})`;
  return {
    title: 'lab: BFD on a three-node mesh: pod routes after a link cut',
    markdown: `Machine load average when it started: ${load0}, at the end: ${loadavg()[0]!.toFixed(2)} (2 cores, shared).

Three \`tabby node\` agents in network namespaces on one bridge (Redis datastore, node-to-node mesh,
hold time ${HOLD} s, graceful restart off with \`nodeMeshMaxRestartTime: 0s\`). Node n3's link is cut
(every packet it sends is dropped: \`tc qdisc replace dev eth0 root pfifo limit 0\` in its
namespace) and the time is taken from just before the \`tc\` command starts (so it includes its own
start-up of some 10–50 ms) until n3's pod block is gone from n1's and from n2's kernel
routing table (\`ip -json route\`, polled every 10 ms). Same cluster, same run: first with BFD
through Tabby's extension (\`tabby.dev/bfd: "minRx=100ms,minTx=100ms,multiplier=3"\` on the
default BGPConfiguration), then with the annotation set to \`false\`. Median (min–max) over
${cuts.length / 2} cuts each, both nodes, ms.

| | block gone from the other nodes' kernels |
|---|---:|
| BFD 100 ms x 3 | ${fmt(col(true))} |
| no BFD (hold time ${HOLD} s) | ${fmt(col(false))} |

Target (issue 19): within 1 s with BFD, where without it takes the hold time: **${Math.max(...col(true)) < 1000 ? 'met' : 'not met'}**.
`,
    results: { holdTime: HOLD, cuts },
  };
}
