import { cpus, loadavg } from 'node:os';
import type { Resource } from '@tabby/datastore';
import { InProcessLab } from '../in-process.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

interface Run {
  topology: 'mesh' | 'rr';
  nodes: number;
  reflectors: number;
  sessions: number;
  convergeSeconds: number | null;
  podRouteMs: { p50: number; p99: number; max: number; samples: number } | null;
  rssMb: number;
  rssPerAgentMb: number;
  /** From applying the /32 pool to every agent having reconciled it. */
  poolSettleMs?: number;
  error?: string;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/**
 * One lab: cold start to converged, then pods that each need a new /32 block (a pool with block
 * size 32), timed from the IPAM assignment to the route being in every other node's FIB.
 */
async function measure(
  ctx: Ctx,
  topology: 'mesh' | 'rr',
  nodes: number,
  reflectors: number,
  pods: number,
): Promise<Run> {
  const lab = new InProcessLab({
    nodes,
    topology,
    reflectors,
    pods: 0,
    transport: 'memory',
    holdTime: 30,
    socketDir: `/tmp/tabby-bench-lab-${process.pid}`,
  });
  const sessions =
    topology === 'mesh'
      ? (nodes * (nodes - 1)) / 2
      : (nodes - reflectors) * reflectors + (reflectors * (reflectors - 1)) / 2;
  const run: Run = {
    topology,
    nodes,
    reflectors,
    sessions,
    convergeSeconds: null,
    podRouteMs: null,
    rssMb: 0,
    rssPerAgentMb: 0,
  };
  const t0 = performance.now();
  try {
    await lab.up();
    await lab.waitConverged(topology === 'mesh' ? 120_000 : 180_000);
    run.convergeSeconds = (performance.now() - t0) / 1000;
    ctx.log(`${topology} ${nodes} nodes: converged in ${run.convergeSeconds.toFixed(1)} s (${sessions} sessions)`);
    await lab.store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'bench-32' },
      spec: { cidr: '198.18.128.0/20', blockSize: 32 },
    } as Resource);
    // Timing starts from a quiet cluster: every agent has handled the new pool (a pool change
    // rebuilds every speaker's config; that is not what the pod latency measures).
    const settleStart = performance.now();
    await new Promise((r) => setTimeout(r, 50));
    await lab.settled();
    run.poolSettleMs = performance.now() - settleStart;
    const samples: number[] = [];
    for (let i = 0; i < pods; i++) {
      const node = lab.nodes[(i * 7) % lab.nodes.length]!;
      if (topology === 'rr' && lab.nodes.indexOf(node) < reflectors) continue;
      const start = performance.now();
      const ip = await lab.ipam.assign({ node: node.name, handle: `bench.${i}`, pools: ['bench-32'] });
      const prefix = `${ip}/32`;
      let waiting = lab.nodes.filter((n) => n !== node && (topology === 'mesh' || lab.nodes.indexOf(n) >= reflectors));
      const deadline = start + 10_000;
      for (;;) {
        // Only the FIBs still without the route are read again (reading costs the agents CPU).
        const have = await Promise.all(
          waiting.map(async (n) => (await n.routes.read()).routes.some((r) => r.dst === prefix)),
        );
        waiting = waiting.filter((_, j) => !have[j]);
        if (!waiting.length) break;
        if (performance.now() > deadline) throw new Error(`pod route ${prefix} not everywhere after 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      samples.push(performance.now() - start);
    }
    run.podRouteMs = {
      p50: pct(samples, 50),
      p99: pct(samples, 99),
      max: Math.max(...samples),
      samples: samples.length,
    };
    ctx.log(`  pod route everywhere: p50 ${run.podRouteMs.p50.toFixed(0)} ms, p99 ${run.podRouteMs.p99.toFixed(0)} ms`);
  } catch (err) {
    run.error = (err as Error).message;
    ctx.log(`  failed: ${run.error}`);
  } finally {
    run.rssMb = process.memoryUsage().rss / 2 ** 20;
    run.rssPerAgentMb = run.rssMb / nodes;
    await lab.down();
  }
  return run;
}

export default async function convergence(ctx: Ctx) {
  const plan: ['mesh' | 'rr', number, number][] = ctx.quick
    ? [
        ['mesh', 20, 0],
        ['rr', 50, 2],
      ]
    : [
        ['mesh', 50, 0],
        ['rr', 200, 2],
      ];
  const pods = ctx.quick ? 20 : 50;
  const runs: Run[] = [];
  const loadBefore = loadavg()[0]!;
  for (const [t, n, r] of plan) runs.push(await measure(ctx, t, n, r, pods));
  const loadAfter = loadavg()[0]!;
  const rows = runs.map(
    (r) =>
      `| ${r.topology === 'mesh' ? 'full mesh' : `${r.reflectors} reflectors`} | ${r.nodes} | ${r.sessions} | ${r.convergeSeconds === null ? `failed: ${r.error}` : r.convergeSeconds.toFixed(1)} | ${r.podRouteMs ? `${r.podRouteMs.p50.toFixed(0)} / ${r.podRouteMs.p99.toFixed(0)} (${r.podRouteMs.samples})` : '-'} | ${r.poolSettleMs === undefined ? '-' : r.poolSettleMs.toFixed(0)} | ${r.rssMb.toFixed(0)} | ${r.rssPerAgentMb.toFixed(1)} |`,
  );
  const mesh = runs.find((r) => r.topology === 'mesh');
  const markdown = `In-process labs (\`InProcessLab\`, memory datastore, BGP over in-memory pipes, memory FIBs),
all node agents in one Node.js process. Converged: every session Established and every node's
FIB holding every other node's block. Pod route: a pod from a pool with /32 blocks (so each pod
is a new route), from the IPAM assignment to the route in every other node's FIB (polled every
millisecond), one pod at a time on every 7th node, starting once every agent has handled the new
pool ("pool settled": applying a pool makes every agent rebuild its speaker config).

| topology | nodes | sessions | cold start to converged (s) | pod route everywhere p50 / p99 ms (samples) | pool settled (ms) | process RSS MB | RSS per agent MB |
|---|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Targets (issue): converged within 30 s and pod route everywhere within 200 ms p99 for the 50-node
mesh: ${mesh?.convergeSeconds != null && mesh.podRouteMs ? `${mesh.convergeSeconds <= 30 ? 'convergence met' : 'convergence NOT met'}, ${mesh.podRouteMs.p99 <= 200 ? 'pod route met' : 'pod route NOT met'}` : 'not measured'}.
RSS per agent is the process RSS divided by the agents: they share one heap and one runtime.
Machine load (1-minute average) was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the run on ${cpus().length} CPUs${loadBefore > 1 || loadAfter > 1 ? ': other work shared the machine, so the figures are pessimistic' : ''}.
`;
  return { title: 'Cluster convergence: in-process mesh and route reflectors', markdown, results: runs };
}
