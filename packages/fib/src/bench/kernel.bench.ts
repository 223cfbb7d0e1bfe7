// Programs N routes into a fresh network namespace, from an empty table, with Tabby's RouteTable
// and kernel driver, and with plain `ip -batch` of the same routes, in the same run; then a
// resync of N routes with 1% changed. Tabby's side runs in a child Node process so its peak RSS
// is its own. Root and iproute2 required; the namespace is created and deleted here.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
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

interface WorkerResult {
  initialMs: number;
  initialReplaced: number;
  incrementalMs: number;
  incrementalReplaced: number;
  perRouteMs: number;
  perRouteReplaced: number;
  fullResyncMs: number;
  fullResyncReplaced: number;
  maxRssKb: number;
}

/** Child process: Tabby's side. */
async function worker(ns: string, n: number, initialOnly: boolean): Promise<void> {
  const table = new RouteTable({ driver: new KernelDriver({ netns: ns }), gracefulRestartMs: 0 });
  const initial = targets(n);
  const changed = targets(n, 100);
  let t0 = performance.now();
  table.setRoutes(RouteClass.NoEncap, 'eth0', initial);
  table.markInSync();
  const first = await table.apply();
  const initialMs = performance.now() - t0;
  if (initialOnly) {
    await table.close();
    process.stdout.write(`${JSON.stringify({ initialMs, initialReplaced: first.replaced })}\n`);
    return;
  }
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
  // 1% drift made behind Tabby's back; a full resync reads all N back and repairs them.
  const drift: string[] = [];
  for (let i = 1; i < n; i += 100)
    drift.push(`route replace ${dst(i).slice(0, -3)} via 198.18.0.4 dev eth0 onlink proto 80`);
  must(['ip', '-n', ns, '-batch', '-'], `${drift.join('\n')}\n`);
  t0 = performance.now();
  table.requestResync();
  const full = await table.apply();
  const fullResyncMs = performance.now() - t0;
  await table.close();
  const res: WorkerResult = {
    initialMs,
    initialReplaced: first.replaced,
    incrementalMs,
    incrementalReplaced: inc.replaced,
    perRouteMs,
    perRouteReplaced: per.replaced,
    fullResyncMs,
    fullResyncReplaced: full.replaced,
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
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
    const tabbyInitialOnlyMs: number[] = [];
    const plainInc: number[] = [];
    const tabby: WorkerResult[] = [];
    for (let r = 0; r < rounds; r++) {
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const p = plainBatch(ns, batch);
      if (countProto(ns, 80) !== n) throw new Error('plain ip -batch did not program every route');
      plain.push(p);
      plainInc.push(plainBatch(ns, `${onePct.join('\n')}\n`).ms);
      ctx.log(`round ${r + 1}: plain ip -batch ${n} routes ${p.ms.toFixed(0)} ms, ${p.cpuS?.toFixed(2)} s CPU`);
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const only = await runWorker<{ initialMs: number; initialReplaced: number }>(ns, n, 'initial');
      if (only.r.initialReplaced !== n) throw new Error('Tabby did not program every route');
      tabbyCpu.push(only.cpuS);
      tabbyInitialOnlyMs.push(only.r.initialMs);
      must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);
      const t = (await runWorker<WorkerResult>(ns, n, 'all')).r;
      if (countProto(ns, 80) !== n || t.initialReplaced !== n) throw new Error('Tabby did not program every route');
      if (t.incrementalReplaced !== n / 100 || t.fullResyncReplaced !== n / 100 || t.perRouteReplaced !== n / 100)
        throw new Error(`unexpected resync counts ${t.incrementalReplaced}/${t.fullResyncReplaced}`);
      tabby.push(t);
      ctx.log(
        `round ${r + 1}: Tabby initial (alone) ${only.r.initialMs.toFixed(0)} ms, ${only.cpuS?.toFixed(2)} s CPU`,
      );
      ctx.log(
        `round ${r + 1}: Tabby initial ${t.initialMs.toFixed(0)} ms, 1% as a new full set ${t.incrementalMs.toFixed(0)} ms, 1% per route ${t.perRouteMs.toFixed(0)} ms, 1% full resync ${t.fullResyncMs.toFixed(0)} ms`,
      );
    }
    must(['ip', '-n', ns, 'route', 'flush', 'proto', '80']);

    const loadAfter = os.loadavg()[0] ?? 0;
    const plainMs = median(plain.map((p) => p.ms));
    const plainRss = plain[0]?.rssKb;
    const tInit = median([...tabby.map((t) => t.initialMs), ...tabbyInitialOnlyMs]);
    const cpuKnown = plain.every((p) => p.cpuS !== undefined) && tabbyCpu.every((c) => c !== undefined);
    const plainCpu = cpuKnown ? median(plain.map((p) => p.cpuS!)) : Number.NaN;
    const tCpu = cpuKnown ? median(tabbyCpu.map((c) => c!)) : Number.NaN;
    const tInc = median(tabby.map((t) => t.incrementalMs));
    const tPer = median(tabby.map((t) => t.perRouteMs));
    const tFull = median(tabby.map((t) => t.fullResyncMs));
    const tRss = Math.max(...tabby.map((t) => t.maxRssKb));
    const pInc = median(plainInc);
    const ratio = tInit / plainMs;
    const perRound = tabbyInitialOnlyMs.map((ms, i) => ms / (plain[i]?.ms ?? Number.NaN));
    const mb = (kb: number | undefined): string => (kb === undefined ? 'n/a' : `${(kb / 1024).toFixed(0)} MiB`);
    const markdown = `
${n.toLocaleString('en-US')} IPv4 /32 routes \`via 198.18.0.2 dev eth0 onlink proto 80\` into an empty main table of a fresh network namespace. Median of ${rounds} round(s); every round runs plain \`ip -batch\`, then Tabby's initial programming alone (timed with GNU time for CPU), then Tabby's full sequence (initial, then the three 1% cases), each from a flushed table; the Tabby initial figure is the median over both Tabby runs. Tabby = \`RouteTable\` + \`KernelDriver\` with its defaults (\`ip monitor\` watch on), in its own Node process; its time includes computing the desired state, the read-back and the \`ip -batch\` write.

| scenario | plain \`ip -batch\` | Tabby | ratio |
|---|---:|---:|---:|
| initial programming, ${n.toLocaleString('en-US')} routes | ${plainMs.toFixed(0)} ms | ${tInit.toFixed(0)} ms | ${ratio.toFixed(2)}x |
| initial programming, CPU time (user + sys, \`ip\` children included) | ${plainCpu.toFixed(2)} s | ${tCpu.toFixed(2)} s | ${(tCpu / plainCpu).toFixed(2)}x |
| 1% changed: \`setRoutes\` with the whole new set of ${n.toLocaleString('en-US')}, then \`apply\` | ${pInc.toFixed(0)} ms (the ${n / 100} lines only) | ${tInc.toFixed(0)} ms | ${(tInc / pInc).toFixed(2)}x |
| 1% changed: ${n / 100} single-prefix \`setRoute\` calls, then \`apply\` | ${pInc.toFixed(0)} ms | ${tPer.toFixed(0)} ms | ${(tPer / pInc).toFixed(2)}x |
| 1% drifted in the kernel, full resync (read back all, repair ${n / 100}) | — | ${tFull.toFixed(0)} ms | — |
| peak RSS | ${mb(plainRss)} (\`ip\`) | ${mb(tRss)} (Node process) | — |

Machine load (1-minute average) was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the run on ${os.cpus().length} CPUs: other work shared the machine, so absolute times are inflated and vary between rounds; the ratio compares rounds run back to back.

Initial programming, Tabby / plain per round (each pair run back to back): ${perRound.map((r) => `${r.toFixed(2)}x`).join(', ')}.

Targets: initial programming within 1.3x of plain \`ip -batch\`: wall time ${ratio <= 1.3 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x), CPU time ${tCpu / plainCpu <= 1.3 ? 'met' : 'NOT met'} (${(tCpu / plainCpu).toFixed(2)}x, includes Node's start-up); 1% resync under 1 s: whole-set ${tInc < 1000 ? 'met' : 'NOT met'} (${tInc.toFixed(0)} ms), per-route ${tPer < 1000 ? 'met' : 'NOT met'} (${tPer.toFixed(0)} ms), full read-back resync ${tFull < 1000 ? 'met' : 'NOT met'} (${tFull.toFixed(0)} ms). The Tabby peak RSS is the Node process (100k desired routes, the read-back's JSON and the kernel belief); the \`ip\` children it runs are not included.
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
        tabbyInitialOnlyMs,
        ratioInitialPerRound: perRound,
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
