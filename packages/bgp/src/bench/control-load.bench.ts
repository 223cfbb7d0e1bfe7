// Loop latency of `tabby bgpd` under control-socket load (issue 15).
//
// One daemon (dist/, its own process) holds a 65,536-route table (16,384 with --quick) from a peer
// on loopback with hold time 3 s. A sampler thread sends `show summary` every 50 ms and times each
// answer: the time a trivial request waits is the daemon's event-loop delay as a client sees it
// (plus the machine's own noise, measured beside it). Each case runs one load mix for 10 s (5 s
// with --quick) on the same daemon, one after the other:
//   idle       nothing else;
//   issue      the client: 2,000 pipelined `show rib` (limit 10,000), then gone, every second;
//   reader     one client pipelining 2,000 `show rib` and reading every answer;
//   readers16  16 such clients at once;
//   mixed      issue + reader + a client that pipelines and never reads + one sending 60 MB.
// Reported per case: answer time p50/p95/p99/max, the sampler's own worst lateness, the session's
// flaps (established transitions), the daemon's CPU time and peak RSS, and the bytes the readers got.
import os from 'node:os';
import { DAEMON_NODE_OPTIONS } from '../node-options.js';
import { ControlLoadLab, flood, Pipeliner, percentile, Sampler } from './control-load-lab.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

interface CaseResult {
  case: string;
  seconds: number;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  /** The sampler thread's own worst timer lateness over the case (machine noise). */
  samplerLateMaxMs: number;
  /** Established transitions of the BGP session during the case (0: it held). */
  sessionFlaps: number;
  daemonCpuSeconds: number;
  peakRssMb: number;
  /** Answer bytes the reading clients received (MB). */
  readMb: number;
  loadAvgBefore: number[];
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CASES = ['idle', 'issue', 'reader', 'readers16', 'mixed'] as const;

export default async function run(ctx: Ctx) {
  const routes = ctx.quick ? 16_384 : 65_536;
  const seconds = ctx.quick ? 5 : 10;
  const lab = new ControlLoadLab({ routes, holdTime: 3 });
  const results: CaseResult[] = [];
  try {
    ctx.log(`starting bgpd with ${routes} routes`);
    await lab.start();
    for (const name of CASES) {
      const loadAvgBefore = load();
      const flaps0 = (await lab.neighbor()).established_transitions;
      const cpu0 = lab.stats()!.cpuSeconds;
      const sampler = new Sampler(lab.socket, 50);
      await sleep(500);
      const readers: Pipeliner[] = [];
      const others: Pipeliner[] = [];
      let timer: NodeJS.Timeout | undefined;
      let flooded: Promise<number> | undefined;
      if (name === 'issue' || name === 'mixed') {
        others.push(new Pipeliner(lab.socket, 'disconnect'));
        timer = setInterval(() => others.push(new Pipeliner(lab.socket, 'disconnect')), 1000);
      }
      if (name === 'reader' || name === 'mixed') readers.push(new Pipeliner(lab.socket, 'read'));
      if (name === 'readers16') for (let i = 0; i < 16; i++) readers.push(new Pipeliner(lab.socket, 'read'));
      if (name === 'mixed') {
        others.push(new Pipeliner(lab.socket, 'never'));
        flooded = flood(lab.socket, 60);
      }
      await sleep(seconds * 1000);
      clearInterval(timer);
      const { samples, selfLate } = await sampler.stop();
      for (const p of [...readers, ...others]) p.stop();
      if (flooded) await Promise.race([flooded, sleep(20_000)]);
      await sleep(1000); // the daemon drops the work of the clients that left
      const st = lab.stats()!;
      const r: CaseResult = {
        case: name,
        seconds,
        samples: samples.length,
        p50Ms: round1(percentile(samples, 50)),
        p95Ms: round1(percentile(samples, 95)),
        p99Ms: round1(percentile(samples, 99)),
        maxMs: round1(Math.max(...samples)),
        samplerLateMaxMs: round1(Math.max(...selfLate)),
        sessionFlaps: (await lab.neighbor()).established_transitions - flaps0,
        daemonCpuSeconds: round1(st.cpuSeconds - cpu0),
        peakRssMb: Math.round(st.vmHwmKb / 1024),
        readMb: round1(readers.reduce((n, p) => n + p.bytes, 0) / 2 ** 20),
        loadAvgBefore,
      };
      ctx.log(
        `${name}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms (sampler late ${r.samplerLateMaxMs} ms), flaps ${r.sessionFlaps}, CPU ${r.daemonCpuSeconds} s, read ${r.readMb} MB`,
      );
      results.push(r);
    }
    const term = await lab.signal('SIGTERM');
    ctx.log(`SIGTERM: exit ${term.code} after ${Math.round(term.ms)} ms`);
    return {
      title: 'bgp: event-loop latency of bgpd under control-socket load',
      markdown: report(results, routes, term),
      results: { routes, cases: results, sigterm: term },
    };
  } finally {
    await lab.stop();
  }
}

function report(rs: CaseResult[], routes: number, term: { code: number | null; ms: number }): string {
  const rows = rs.map(
    (r) =>
      `| ${r.case} | ${r.samples} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.maxMs} | ${r.samplerLateMaxMs} | ${r.sessionFlaps} | ${r.daemonCpuSeconds} | ${r.readMb} | ${r.peakRssMb} | ${r.loadAvgBefore[0]} |`,
  );
  const worstP95 = Math.max(...rs.map((r) => r.p95Ms));
  const flaps = rs.reduce((n, r) => n + r.sessionFlaps, 0);
  return `
\`show summary\` answer time while other clients load the control socket: a trivial request waits
for the daemon's event loop, so its answer time is the loop latency a client sees. ${routes.toLocaleString('en-US')} routes in the
table, one BGP session with hold time 3 s (keepalive 1 s) on loopback.

| case | samples | p50 ms | p95 ms | p99 ms | max ms | sampler late max ms | session flaps | daemon CPU s | read MB | peak RSS MB | load avg |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}

Target (issue 15): the session stays up and \`show summary\` answers within 100 ms under the issue's
load: worst p95 over the cases ${worstP95} ms, ${flaps} session flap${flaps === 1 ? '' : 's'}: **${worstP95 < 100 && flaps === 0 ? 'met' : 'not met'}**.
SIGTERM after the cases: exit ${term.code} after ${Math.round(term.ms)} ms (target: within 2 s).
For comparison, the issue reports that before the fix the \`issue\` client alone made the daemon
deaf for 89 s and a BIRD session dropped on its hold timer.

## How it is measured

- The daemon: \`node ${DAEMON_NODE_OPTIONS.join(' ')} packages/bgp/bin/bgpd.js\` (dist/; the options its shim's \`#!\` line gives Node), listening on 127.0.0.1, one passive peer
  127.0.0.2 with hold time 3 s, graceful restart off. The peer is a Tabby speaker in the benchmark
  process announcing ${routes.toLocaleString('en-US')} /32s (one attribute set).
- The sampler is a worker thread (its own event loop) with one control connection: it sends
  \`show summary\` 50 ms after each answer and times each (a request unanswered at the end counts
  with its wait so far). Beside it a 10 ms timer measures how late the thread itself runs
  ("sampler late"): on a loaded machine that is the noise floor of every latency in the table.
- The load clients run in the benchmark process: \`issue\` writes 2,000 \`show rib\` requests with
  limit 10,000 in one go and closes; \`reader\` does the same and reads every answer (the daemon
  answers 64, refuses the 65th with TOO_MANY_REQUESTS and closes); \`never\` pipelines and reads
  nothing; the 60 MB client writes \`show summary\` lines as fast as the socket takes them.
- Daemon CPU is its user+system time over the case (from /proc), peak RSS its VmHWM so far.
  Session flaps: the daemon's \`established_transitions\` for the peer, before and after the case.
- Machine load: the 1-minute load average before each case is in the table; this is a shared
  2-core machine, so the max column moves with whatever else runs, the percentiles much less.
`;
}
