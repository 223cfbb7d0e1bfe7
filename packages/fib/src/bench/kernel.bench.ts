// Programs N routes into a fresh network namespace, from an empty table, with Tabby's RouteTable
// and kernel driver, and with plain `ip -batch` of the same routes, in the same run; then a
// resync of N routes with 1% changed. Tabby's side runs in a child Node process so its peak RSS
// is its own. Root and iproute2 required; the namespace is created and deleted here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { median } from '@tabby/test-helpers';
import { formatIpv4, parseIpv4 } from '../cidr.js';
import { RouteClass } from '../constants.js';
import { KernelDriver } from '../kernel-driver.js';
import { RouteTable } from '../route-table.js';
import type { RouteTarget } from '../types.js';

const WORKER_FLAG = '--fib-bench-worker';
const FIRST = parseIpv4('198.18.1.0')!;

function dst(i: number): string {
  return `${formatIpv4(FIRST + i)}/32`;
}

function sh(argv: string[], input?: string): { stdout: string; stderr: string; status: number } {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, encoding: 'utf8', maxBuffer: 1 << 30 });
  return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status ?? 1 };
}

function must(argv: string[], input?: string): string {
  const r = sh(argv, input);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Runs `ip -n NS -batch -` on `lines`, measuring wall time and (with GNU time) peak RSS. */
const HAVE_TIME = existsSync('/usr/bin/time');
const TIME_FORMAT = 'MAXRSS=%M CPU=%U+%S';

function parseTime(stderr: string): { rssKb: number | undefined; cpuS: number | undefined } {
  const m = /MAXRSS=(\d+) CPU=([\d.]+)\+([\d.]+)/.exec(stderr);
  return m ? { rssKb: Number(m[1]), cpuS: Number(m[2]) + Number(m[3]) } : { rssKb: undefined, cpuS: undefined };
}

/** Runs `ip -n NS -batch -` on `lines`: wall time and, with GNU time, peak RSS and CPU (user+sys). */
function plainBatch(ns: string, lines: string): { ms: number; rssKb: number | undefined; cpuS: number | undefined } {
  const argv = ['ip', '-n', ns, '-batch', '-'];
  const t0 = performance.now();
  const r = sh(HAVE_TIME ? ['/usr/bin/time', '-f', TIME_FORMAT, ...argv] : argv, lines);
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`ip -batch failed: ${r.stderr.slice(0, 500)}`);
  return { ms, ...parseTime(r.stderr) };
}

function countProto(ns: string, proto: number): number {
  return must(['ip', '-n', ns, 'route', 'show', 'proto', String(proto)])
    .split('\n')
    .filter(Boolean).length;
}

function targets(n: number, changedEvery = 0): RouteTarget[] {
  const out: RouteTarget[] = new Array(n);
  for (let i = 0; i < n; i++)
    out[i] = { dst: dst(i), via: changedEvery && i % changedEvery === 0 ? '198.18.0.3' : '198.18.0.2', onlink: true };
  return out;
}

/**
 * CPU seconds (user + sys) of this process and of its children that have been waited for, from
 * `/proc/self/stat` (clock ticks of 10 ms) for the children and `process.cpuUsage` for itself.
 */
function cpuNow(): number {
  const own = process.cpuUsage();
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ') ?? [];
  // After "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14.
  const children = (Number(fields[13]) + Number(fields[14])) / 100;
  return (own.user + own.system) / 1e6 + children;
}

interface WorkerResult {
  initialMs: number;
  initialReplaced: number;
  incrementalMs: number;
  incrementalReplaced: number;
  perRouteMs: number;
  perRouteReplaced: number;
  fullResyncMs: number[];
  fullResyncReplaced: number[];
  maxRssKb: number;
}

/** Child process: Tabby's side. */
async function worker(ns: string, n: number, initialOnly: boolean): Promise<void> {
  const table = new RouteTable({ driver: new KernelDriver({ netns: ns }), gracefulRestartMs: 0 });
  const initial = targets(n);
  const cpu0 = cpuNow();
  let t0 = performance.now();
  table.setRoutes(RouteClass.NoEncap, 'eth0', initial);
  table.markInSync();
  const first = await table.apply();
  const initialMs = performance.now() - t0;
  const workCpuS = cpuNow() - cpu0;
  if (initialOnly) {
    await table.close();
    process.stdout.write(`${JSON.stringify({ initialMs, initialReplaced: first.replaced, workCpuS })}\n`);
    return;
  }
  const changed = targets(n, 100);
  // 1% of the desired routes change (new next hop); only those are written.
  t0 = performance.now();
  table.setRoutes(RouteClass.NoEncap, 'eth0', changed);
  const inc = await table.apply();
  const incrementalMs = performance.now() - t0;
  // 1% changed as single-prefix updates (how BGP best-route changes arrive).
  t0 = performance.now();
  for (let i = 2; i < n; i += 100)
    table.setRoute(RouteClass.NoEncap, 'eth0', { dst: dst(i), via: '198.18.0.5', onlink: true });
  const per = await table.apply();
  const perRouteMs = performance.now() - t0;
  // 1% drift made behind Tabby's back; a full resync reads all N back and repairs them. Twice,
  // with different prefixes, for two samples per run.
  const fullResyncMs: number[] = [];
  const fullResyncReplaced: number[] = [];
  for (const offset of [1, 3]) {
    const drift: string[] = [];
    for (let i = offset; i < n; i += 100)
      drift.push(`route replace ${dst(i).slice(0, -3)} via 198.18.0.4 dev eth0 onlink proto 80`);
    must(['ip', '-n', ns, '-batch', '-'], `${drift.join('\n')}\n`);
    t0 = performance.now();
    table.requestResync();
    const full = await table.apply();
    fullResyncMs.push(performance.now() - t0);
    fullResyncReplaced.push(full.replaced);
  }
  await table.close();
  const res: WorkerResult = {
    initialMs,
    initialReplaced: first.replaced,
    incrementalMs,
    incrementalReplaced: inc.replaced,
    perRouteMs,
    perRouteReplaced: per.replaced,
    fullResyncMs,
    fullResyncReplaced,
    maxRssKb: process.resourceUsage().maxRSS,
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
}

/** Runs the worker; in `initial` mode under GNU time, whose CPU figure includes its `ip` children. */
function runWorker<T>(ns: string, n: number, mode: 'all' | 'initial'): Promise<{ r: T; cpuS: number | undefined }> {
  return new Promise((resolve, reject) => {
    const argv = [process.execPath, fileURLToPath(import.meta.url), WORKER_FLAG, ns, String(n), mode];
    const timed = mode === 'initial' && HAVE_TIME ? ['/usr/bin/time', '-f', TIME_FORMAT, ...argv] : argv;
    const child = spawn(timed[0]!, timed.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`bench worker exited ${code}: ${err.slice(-2000)}`));
      else resolve({ r: JSON.parse(out.trim().split('\n').pop() ?? '{}') as T, cpuS: parseTime(err).cpuS });
    });
  });
}

export default async function bench(ctx: { log(msg: string): void; quick: boolean }) {
  const n = ctx.quick ? 10_000 : 100_000;
  const rounds = ctx.quick ? 1 : 3;
  const ns = `tby-${process.pid}-fibbench`;
  sh(['ip', 'netns', 'del', ns]);
  must(['ip', 'netns', 'add', ns]);
  try {
    must(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    must(['ip', '-n', ns, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0p']);
    must(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    must(['ip', '-n', ns, 'link', 'set', 'eth0p', 'up']);
    must(['ip', '-n', ns, 'addr', 'add', '198.18.0.1/24', 'dev', 'eth0']);
    const lines: string[] = new Array(n);
    for (let i = 0; i < n; i++)
      lines[i] = `route replace ${dst(i).slice(0, -3)} via 198.18.0.2 dev eth0 onlink proto 80`;
    const batch = `${lines.join('\n')}\n`;
    const onePct: string[] = [];
    for (let i = 0; i < n; i += 100)
      onePct.push(`route replace ${dst(i).slice(0, -3)} via 198.18.0.3 dev eth0 onlink proto 80`);

    const loadBefore = os.loadavg()[0] ?? 0;
    const plain: { ms: number; rssKb: number | undefined; cpuS: number | undefined }[] = [];
    const tabbyCpu: (number | undefined)[] = [];
    const tabbyWorkCpu: number[] = [];
    const plainAfter: { ms: number; rssKb: number | undefined; cpuS: number | undefined }[] = [];
    const loads: number[] = [];
    const tabbyInitialOnlyMs: number[] = [];
    const plainInc: number[] = [];
    const tabby: WorkerResult[] = [];
    for (let r = 0; r < rounds; r++) {
      loads.push(os.loadavg()[0] ?? 0);
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const p = plainBatch(ns, batch);
      if (countProto(ns, 80) !== n) throw new Error('plain ip -batch did not program every route');
      plain.push(p);
      plainInc.push(plainBatch(ns, `${onePct.join('\n')}\n`).ms);
      ctx.log(`round ${r + 1}: plain ip -batch ${n} routes ${p.ms.toFixed(0)} ms, ${p.cpuS?.toFixed(2)} s CPU`);
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const only = await runWorker<{ initialMs: number; initialReplaced: number; workCpuS: number }>(ns, n, 'initial');
      if (only.r.initialReplaced !== n) throw new Error('Tabby did not program every route');
      tabbyCpu.push(only.cpuS);
      tabbyWorkCpu.push(only.r.workCpuS);
      tabbyInitialOnlyMs.push(only.r.initialMs);
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const t = (await runWorker<WorkerResult>(ns, n, 'all')).r;
      if (countProto(ns, 80) !== n || t.initialReplaced !== n) throw new Error('Tabby did not program every route');
      if (
        t.incrementalReplaced !== n / 100 ||
        t.fullResyncReplaced.some((x) => x !== n / 100) ||
        t.perRouteReplaced !== n / 100
      )
        throw new Error(`unexpected resync counts ${t.incrementalReplaced}/${t.fullResyncReplaced}`);
      tabby.push(t);
      // Plain again after Tabby's two runs (A B B A): a load that rises or falls during the round
      // weighs on both sides alike.
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const p2 = plainBatch(ns, batch);
      if (countProto(ns, 80) !== n) throw new Error('plain ip -batch did not program every route');
      plainAfter.push(p2);
      ctx.log(`round ${r + 1}: plain ip -batch again ${p2.ms.toFixed(0)} ms, ${p2.cpuS?.toFixed(2)} s CPU`);
      ctx.log(
        `round ${r + 1}: Tabby initial (alone) ${only.r.initialMs.toFixed(0)} ms, ${only.cpuS?.toFixed(2)} s CPU (process), ${only.r.workCpuS.toFixed(2)} s CPU (setRoutes + apply)`,
      );
      ctx.log(
        `round ${r + 1}: Tabby initial ${t.initialMs.toFixed(0)} ms, 1% as a new full set ${t.incrementalMs.toFixed(0)} ms, 1% per route ${t.perRouteMs.toFixed(0)} ms, 1% full resync ${t.fullResyncMs.map((x) => x.toFixed(0)).join(' and ')} ms (load ${loads[r]?.toFixed(1)})`,
      );
    }
    must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);

    const loadAfter = os.loadavg()[0] ?? 0;
    const both = [...plain, ...plainAfter];
    const plainMs = median(both.map((p) => p.ms));
    const plainRss = plain[0]?.rssKb;
    const tInit = median([...tabby.map((t) => t.initialMs), ...tabbyInitialOnlyMs]);
    const cpuKnown = both.every((p) => p.cpuS !== undefined) && tabbyCpu.every((c) => c !== undefined);
    const plainCpu = cpuKnown ? median(both.map((p) => p.cpuS!)) : Number.NaN;
    const tCpu = cpuKnown ? median(tabbyCpu.map((c) => c!)) : Number.NaN;
    const tWorkCpu = median(tabbyWorkCpu);
    const tInc = median(tabby.map((t) => t.incrementalMs));
    const tPer = median(tabby.map((t) => t.perRouteMs));
    const fullAll = tabby.flatMap((t) => t.fullResyncMs);
    const tFull = median(fullAll);
    const tFullMin = Math.min(...fullAll);
    const tRss = Math.max(...tabby.map((t) => t.maxRssKb));
    const pInc = median(plainInc);
    // Per round: Tabby's two initial runs against the plain runs before and after them.
    const mean2 = (a: number | undefined, b: number | undefined): number => ((a ?? Number.NaN) + (b ?? Number.NaN)) / 2;
    const perRound = tabbyInitialOnlyMs.map(
      (ms, i) => mean2(ms, tabby[i]?.initialMs) / mean2(plain[i]?.ms, plainAfter[i]?.ms),
    );
    const perRoundCpu = tabbyWorkCpu.map((c, i) => c / mean2(plain[i]?.cpuS, plainAfter[i]?.cpuS));
    const perRoundProcCpu = tabbyCpu.map((c, i) => (c ?? Number.NaN) / mean2(plain[i]?.cpuS, plainAfter[i]?.cpuS));
    const ratio = median(perRound);
    const cpuRatio = median(perRoundCpu);
    const procCpuRatio = median(perRoundProcCpu);
    const mb = (kb: number | undefined): string => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MiB`);
    const markdown = `
${n.toLocaleString('en-US')} IPv4 /32 routes \`via 198.18.0.2 dev eth0 onlink proto 80\` into an empty main table of a fresh network namespace. ${rounds} round(s); every round runs plain \`ip -batch\`, then Tabby's initial programming alone (timed with GNU time for CPU), then Tabby's full sequence (initial, then the 1% cases, the full resync twice), then plain \`ip -batch\` again, each from a flushed table. Times are medians over all runs; a ratio is the median of the per-round ratios, each Tabby's two runs against the plain runs before and after them, so load that changes during a round weighs on both sides. Tabby = \`RouteTable\` + \`KernelDriver\` with its defaults (\`ip monitor\` watch on), in its own Node process; its time includes computing the desired state, the read-back and the \`ip -batch\` write.

| scenario | plain \`ip -batch\` | Tabby | ratio |
|---|---:|---:|---:|
| initial programming, ${n.toLocaleString('en-US')} routes | ${plainMs.toFixed(0)} ms | ${tInit.toFixed(0)} ms | ${ratio.toFixed(2)}x |
| initial programming, CPU time (user + sys), whole process: Node start-up, loading, building the ${n.toLocaleString('en-US')} inputs, \`ip\` children | ${plainCpu.toFixed(2)} s | ${tCpu.toFixed(2)} s | ${procCpuRatio.toFixed(2)}x |
| initial programming, CPU time (user + sys), Tabby's work only: \`setRoutes\` + \`apply\`, \`ip\` children included | ${plainCpu.toFixed(2)} s | ${tWorkCpu.toFixed(2)} s | ${cpuRatio.toFixed(2)}x |
| 1% changed: \`setRoutes\` with the whole new set of ${n.toLocaleString('en-US')}, then \`apply\` | ${pInc.toFixed(0)} ms (the ${n / 100} lines only) | ${tInc.toFixed(0)} ms | ${(tInc / pInc).toFixed(2)}x |
| 1% changed: ${n / 100} single-prefix \`setRoute\` calls, then \`apply\` | ${pInc.toFixed(0)} ms | ${tPer.toFixed(0)} ms | ${(tPer / pInc).toFixed(2)}x |
| 1% drifted in the kernel, full resync (read back all ${n.toLocaleString('en-US')}, repair ${n / 100}) | — | ${tFull.toFixed(0)} ms (fastest ${tFullMin.toFixed(0)} ms) | — |
| peak RSS | ${mb(plainRss)} (\`ip\`) | ${mb(tRss)} (Node process) | — |

Machine load (1-minute average) was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the run on ${os.cpus().length} CPUs (${loads.map((l) => l.toFixed(1)).join(', ')} at the start of each round): other work shared the machine, so absolute times are inflated and vary between rounds; the ratio compares rounds run back to back.

Initial programming, Tabby / plain per round: wall ${perRound.map((r) => `${r.toFixed(2)}x`).join(', ')}; CPU of Tabby's work ${perRoundCpu.map((r) => `${r.toFixed(2)}x`).join(', ')}; CPU of the whole process ${perRoundProcCpu.map((r) => `${r.toFixed(2)}x`).join(', ')}. Full resyncs: ${fullAll.map((x) => `${x.toFixed(0)} ms`).join(', ')}.

Targets: initial programming within 1.3x of plain \`ip -batch\`: wall time ${ratio <= 1.3 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x), CPU time of Tabby's work ${cpuRatio <= 1.3 ? 'met' : 'NOT met'} (${cpuRatio.toFixed(2)}x), of the whole process ${procCpuRatio <= 1.3 ? 'met' : 'NOT met'} (${procCpuRatio.toFixed(2)}x, includes Node's start-up and building the inputs); 1% resync under 1 s: whole-set ${tInc < 1000 ? 'met' : 'NOT met'} (${tInc.toFixed(0)} ms), per-route ${tPer < 1000 ? 'met' : 'NOT met'} (${tPer.toFixed(0)} ms), full read-back resync ${tFull < 1000 ? 'met' : 'NOT met'} (median ${tFull.toFixed(0)} ms; fastest ${tFullMin.toFixed(0)} ms). The Tabby peak RSS is the Node process (100k desired routes, the read-back text and the kernel belief); the \`ip\` children it runs are not included.
`;
    return {
      title: 'fib: programming 100,000 kernel routes (Tabby vs plain ip -batch)',
      markdown,
      results: {
        routes: n,
        rounds,
        plainBatchMs: plain.map((p) => p.ms),
        plainBatchRssKb: plainRss ?? null,
        plainOnePercentMs: plainInc,
        tabby,
        ratioInitial: ratio,
        plainCpuS: plain.map((p) => p.cpuS ?? null),
        tabbyInitialCpuS: tabbyCpu.map((c) => c ?? null),
        tabbyInitialWorkCpuS: tabbyWorkCpu,
        tabbyInitialOnlyMs,
        ratioInitialPerRound: perRound,
        plainBatchAgainMs: plainAfter.map((p) => p.ms),
        plainCpuAgainS: plainAfter.map((p) => p.cpuS ?? null),
        ratioCpuPerRound: perRoundCpu,
        ratioProcessCpuPerRound: perRoundProcCpu,
        loadAtRoundStart: loads,
        loadAverage: [loadBefore, loadAfter],
      },
    };
  } finally {
    sh(['ip', 'netns', 'del', ns]);
  }
}

if (process.argv[2] === WORKER_FLAG) {
  await worker(process.argv[3]!, Number(process.argv[4]), process.argv[5] === 'initial');
}
