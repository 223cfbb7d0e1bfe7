// The ingest benchmark's report: every run, a summary per feeder, mode and receiver with the
// ratios to BIRD in the same run, and the issue's targets.
import os from 'node:os';
import { median } from '@tabby/test-helpers';
import { DAEMON_NODE_OPTIONS } from '../node-options.js';
import type { Mode } from './ingest-receivers.js';

export type Status = 'ok' | 'timeout' | 'failed' | 'not-measured';

export interface CaseResult {
  /** `fast`: pre-encoded UPDATEs written as fast as the socket takes them; `BIRD`: BIRD 2 announcing them. */
  feeder: 'fast' | 'BIRD';
  receiver: string;
  mode: Mode;
  prefixes: number;
  status: Status;
  /** Why it is not `ok`. */
  reason?: string;
  /** The round (1 up): each round runs every receiver once, one after the other. */
  run?: number;
  /**
   * Seconds from Established (the feeder's timestamp, ms precision) to the first poll showing all
   * prefixes with nothing left to decide or export.
   */
  seconds?: number;
  /** When the count was complete but selection or export was still pending (Tabby), that earlier time. */
  countedSeconds?: number;
  /** Same end point, measured from the receiver's first poll that showed Established. */
  secondsFromObservedEstablished?: number;
  /** Prefixes held at the end (or at the timeout). */
  finalCount?: number;
  peakRssMb?: number;
  rssAtEndMb?: number;
  cpuSeconds?: number;
  /** The receiver's CPU time (user+system) from starting the feed to done. */
  ingestCpuSeconds?: number;
  /** Of the ingest's CPU time, the part in the kernel, and the minor page faults it took. */
  ingestSysSeconds?: number;
  ingestMinorFaults?: number;
  /** The feeder's CPU time over the same span (it competes for the same 2 cores). */
  feederCpuSeconds?: number;
  /** The fast feeder: seconds from Established until the kernel took its last byte. */
  feederSendSeconds?: number;
  /** The longest the receiver's event loop was held (Tabby's `show status`, ms). */
  loopMaxMs?: number;
  /** Holding the table afterwards, nothing arriving and nobody asking: CPU (ms per second) and RSS (MB). */
  idleCpuMsPerS?: number;
  idleRssMb?: number;
  pid?: number;
  version?: string;
  loadAvgBefore?: number[];
  loadAvgAfter?: number[];
  polls?: number;
  /** Slowest answer to a poll (ms): how long the receiver's CLI went unanswered during the ingest. */
  maxPollMs?: number;
  /** Polls that failed (no parseable answer). */
  pollErrors?: number;
  lastPollError?: string;
}

/** The idle window starts this long (s) after done: what the ingest left running (a collection, compiling) is over. */
export const IDLE_SETTLE_S = 2;

/** Rounds FRR and GoBGP run at most (they take 10 to 30 s a case where BIRD and Tabby take 1 to 4). */
export const SLOW_RUNS = 2;

/** Issue 20's targets, as ratios to BIRD measured in the same run. */
export const TARGETS = {
  /** Receiver-bound feeder: time and CPU at or below BIRD's. */
  fastRatio: 1.0,
  /** Peak RSS at or below 1.25x BIRD's, through both feeders. */
  rssRatio: 1.25,
  /** BIRD as feeder (small UPDATEs): CPU at or below 1.5x BIRD's. */
  birdFeederCpuRatio: 1.5,
  /** The event loop never held longer (ms). */
  loopMs: 50,
} as const;

const fmt = (n: number | undefined, digits = 2) => (n === undefined ? '—' : n.toFixed(digits));
const seconds = (r: CaseResult) => r.seconds!;
const cpuSeconds = (r: CaseResult) => r.ingestCpuSeconds ?? 0;
const rssMb = (r: CaseResult) => r.peakRssMb ?? 0;

/** The median, or undefined for no figures. */
const medianOf = (xs: number[]) => (xs.length ? median(xs) : undefined);
const range = (xs: number[], digits = 2) => {
  if (!xs.length) return '—';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
};

export function ingestReport(
  results: CaseResult[],
  count: number,
  quick: boolean,
  feeders: CaseResult['feeder'][],
  modes: Mode[],
  timeoutS: number,
  idleS: number,
  rounds: number,
): { markdown: string; met: Record<string, boolean | null> } {
  const runs: string[] = [
    '| feeder | mode | receiver | seconds | CPU s | of which system | page faults | peak RSS (MB) | event loop held (ms) | slowest CLI answer (ms) | feeder sent in (s) | idle CPU (ms/s) | idle RSS (MB) | status |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    if (r.status === 'not-measured') continue;
    const secs = r.status === 'ok' ? fmt(r.seconds) : r.status === 'timeout' ? `> ${timeoutS}` : '—';
    const counted = r.countedSeconds !== undefined ? ` (count at ${fmt(r.countedSeconds)})` : '';
    const status = r.status === 'ok' ? 'ok' : `${r.status}: ${(r.reason ?? '').replace(/\|/g, '/')}`;
    runs.push(
      `| ${r.feeder} | ${r.mode} | ${r.receiver} | ${secs}${counted} | ${fmt(r.ingestCpuSeconds)} | ${fmt(r.ingestSysSeconds)} | ${r.ingestMinorFaults ?? '—'} | ${r.peakRssMb ?? '—'} | ${r.loopMaxMs ?? '—'} | ${r.maxPollMs ?? '—'} | ${fmt(r.feederSendSeconds)} | ${fmt(r.idleCpuMsPerS, 1)} | ${r.idleRssMb ?? '—'} | ${status} |`,
    );
  }
  const summary: string[] = [
    '| feeder | mode | receiver | runs ok | seconds | CPU s | peak RSS (MB) | time vs BIRD | CPU vs BIRD | RSS vs BIRD | event loop held (ms) |',
    '|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const idle: string[] = ['| feeder | mode | receiver | idle CPU (ms/s) | idle RSS (MB) |', '|---|---|---|---:|---:|'];
  const met: Record<string, boolean | null> = {};
  const skipped = new Set<string>();
  const verdicts: string[] = [];
  const ok = (f: string, m: Mode, rx: string) =>
    results.filter((r) => r.feeder === f && r.mode === m && r.receiver === rx && r.status === 'ok');
  for (const f of feeders) {
    for (const m of modes) {
      const bird = ok(f, m, 'BIRD');
      const receivers = [...new Set(results.filter((r) => r.feeder === f && r.mode === m).map((r) => r.receiver))];
      for (const rx of receivers) {
        const all = results.filter((r) => r.feeder === f && r.mode === m && r.receiver === rx);
        if (all.every((r) => r.status === 'not-measured')) {
          skipped.add(`${rx} (${all[0]?.reason ?? 'not measured'})`);
          continue;
        }
        const good = ok(f, m, rx);
        /**
         * The receiver against BIRD: the median over the rounds of its run's figure over BIRD's run
         * of the same round, just before it (the machine's speed drifts from minute to minute, and
         * a round's two runs see the same); the ratio of the medians where no round has both.
         */
        const vsBird = (get: (r: CaseResult) => number) => {
          const rounds = good.flatMap((t) => {
            const b = bird.find((x) => x.run === t.run);
            return b && get(b) ? [get(t) / get(b)] : [];
          });
          const v = medianOf(good.map(get));
          const base = medianOf(bird.map(get));
          return { ratio: medianOf(rounds) ?? (v !== undefined && base ? v / base : undefined), rounds };
        };
        const vs = { time: vsBird(seconds), cpu: vsBird(cpuSeconds), rss: vsBird(rssMb) };
        const ratio = ({ ratio: r }: ReturnType<typeof vsBird>) =>
          rx === 'BIRD' ? '1.00x' : r === undefined ? '—' : `${r.toFixed(2)}x`;
        const loops = good.flatMap((r) => (r.loopMaxMs === undefined ? [] : [r.loopMaxMs]));
        summary.push(
          `| ${f} | ${m} | ${rx} | ${good.length} of ${all.length} | ${range(good.map((r) => r.seconds!))} | ${range(good.map((r) => r.ingestCpuSeconds ?? 0))} | ${range(
            good.map((r) => r.peakRssMb ?? 0),
            0,
          )} | ${ratio(vs.time)} | ${ratio(vs.cpu)} | ${ratio(vs.rss)} | ${loops.length ? Math.max(...loops) : '—'} |`,
        );
        const idled = good.filter((r) => r.idleCpuMsPerS !== undefined);
        if (idled.length) {
          idle.push(
            `| ${f} | ${m} | ${rx} | ${range(
              idled.map((r) => r.idleCpuMsPerS!),
              1,
            )} | ${range(
              idled.map((r) => r.idleRssMb ?? 0),
              0,
            )} |`,
          );
        }
        if (rx !== 'Tabby') continue;
        /** The verdict on `vsBird`; beside it, in how many rounds the receiver's run was within the limit. */
        const check = (key: string, { ratio: r, rounds }: ReturnType<typeof vsBird>, limit: number, what: string) => {
          const v = r === undefined || good.length < all.length ? null : r <= limit;
          met[`${f}.${m}.${key}`] = v;
          const within =
            rounds.length > 1 ? ` (${rounds.filter((x) => x <= limit).length} of ${rounds.length} rounds)` : '';
          verdicts.push(
            `- ${f} feeder, ${m}, ${what} at or below ${limit}x BIRD's: ${r === undefined ? '—' : `${r.toFixed(2)}x`}${within} ${v === null ? 'not decided' : v ? '**met**' : '**NOT met**'}`,
          );
        };
        if (f === 'fast') {
          check('time', vs.time, TARGETS.fastRatio, 'time');
          check('cpu', vs.cpu, TARGETS.fastRatio, 'CPU');
        } else check('cpu', vs.cpu, TARGETS.birdFeederCpuRatio, 'CPU');
        check('rss', vs.rss, TARGETS.rssRatio, 'peak RSS');
        const worst = loops.length ? Math.max(...loops) : undefined;
        const lv = worst === undefined ? null : worst <= TARGETS.loopMs;
        met[`${f}.${m}.loop`] = lv;
        verdicts.push(
          `- ${f} feeder, ${m}, event loop never held over ${TARGETS.loopMs} ms: ${worst ?? '—'} ms ${lv === null ? 'not decided' : lv ? '**met**' : '**NOT met**'}`,
        );
      }
    }
  }
  const loads = results.flatMap((r) => [...(r.loadAvgBefore ?? []).slice(0, 1), ...(r.loadAvgAfter ?? []).slice(0, 1)]);
  const maxLoad = loads.length ? Math.max(...loads) : 0;
  const cpus = os.cpus().length;
  const notes = [
    `${count.toLocaleString('en-US')} distinct IPv4 /24s from 11.0.0.0 up, over one veth pair (198.18.0.0/30), to the receiver (AS 64512, passive, eBGP) configured as users configure it: a named accept-all import policy (BIRD: \`import filter accept_all\`), export none, graceful restart on, no kernel FIB. Tabby runs as \`node ${DAEMON_NODE_OPTIONS.join(' ')} packages/cli/bin/tabby.js bgpd\` (the options its shim's \`#!\` line gives Node). Packed: all routes share one attribute set; diverse: prefixes 2k and 2k+1 carry AS path \`65000 100000+k\` (about ${Math.ceil(count / 2).toLocaleString('en-US')} attribute sets); diverse-lp: the diverse feed through an import policy that sets LOCAL_PREF 200 instead (Tabby: a rule \`set: { localPref: 200 }\`; BIRD: \`bgp_local_pref = 200\` in its filter; FRR: a route-map \`set local-preference 200\`), so each received set has a second one after policy. All three keep only that one (BIRD without \`import table\`, FRR without \`soft-reconfiguration inbound\`, Tabby without \`importTable\`): both feeders advertise ROUTE-REFRESH, so a policy change can ask them for their routes again.`,
    'Feeders. `fast` (the receiver-bound feeder, `fast-feeder.ts`): a Node process that encodes every UPDATE before it connects, then writes them all in one go, as fast as the socket takes them, then End-of-RIB; packed it sends 1,013 prefixes per 4,096-byte UPDATE, diverse one UPDATE per pair. `BIRD`: BIRD 2 announcing static routes (it loads them all before its session is enabled), about 256 prefixes per UPDATE packed, as real peers send, and needing about 4 s for 1M prefixes, so BIRD and Tabby both wait for it.',
    "Seconds: from the session reaching Established (the feeder's timestamp, ms precision) to the first poll showing all prefixes and, for Tabby, nothing left to decide or export (`show status`: pending_selection and export_backlog 0; BIRD decides as it imports). Where Tabby's count was complete earlier, that time is in brackets. Polls every 25 ms (fast feeder) or 100 ms (BIRD feeder) through the receiver's own CLI.",
    ...(idleS > 0
      ? [
          `Idle: after done, ${IDLE_SETTLE_S} s for what the ingest left running (a collection, compiling) to end, then the receiver's CPU over ${idleS} s (ms per second; /proc counts in 10 ms ticks) and its RSS (VmRSS) at the end, holding the table with its session up, nothing arriving (the feeders send a keepalive a minute at most) and no poll. Tabby's window may hold the one-off work of V8's memory reducer: about 8 s after allocation stops it runs a major collection or two (a few ms on the main thread, more on helper threads) that hand memory back (RSS below the peak); after it, an idle Tabby holding the table uses about 0.5 ms of CPU a second (a one-second timeline of its CPU in a development run).`,
        ]
      : []),
    "CPU s: the receiver's user+system CPU time (utime+stime from /proc) from starting the feed to done; on a shared machine it is steadier than wall time. Of which system: the part in the kernel (stime), most of it page faults; page faults: the minor faults in the same time (the first touch of each 4 KB page of new memory: about 7 µs of system time each on this VM). Peak RSS: the receiver's VmHWM at the end, start-up baseline included. Event loop held: Tabby's `show status` `event_loop_max_delay_ms` (Node's event-loop delay monitor, 10 ms resolution, running while the daemon has work) at the end. Slowest CLI answer: the longest a poll waited.",
    `Receivers run one after the other, BIRD then Tabby (then the others), each with a fresh pair of namespaces and a fresh feeder, the whole sequence repeated; timeout ${timeoutS} s per run. Ratios: each run of a receiver over BIRD's run of the same round (just before it, same feeder and mode), the median of those over the rounds: the machine's speed drifts by a quarter from minute to minute, and a round's runs see the same speed (the verdicts also count the rounds within the target). BIRD and Tabby run ${rounds} rounds, FRR and GoBGP (ten to a hundred times slower) the first ${SLOW_RUNS} of them. FRR and GoBGP are measured when installed and asked for (\`BGP_INGEST_RECEIVERS\`).`,
    `Machine load: ${cpus} CPUs; the 1-minute load average during the run reached ${maxLoad.toFixed(1)}${maxLoad > cpus * 0.75 ? ' — other jobs were running at the same time, so absolute times are inflated and noisier than on an idle machine; ratios within the run are more meaningful' : ''}.`,
  ];
  const versions = [...new Set(results.filter((r) => r.version).map((r) => `${r.receiver}: ${r.version}`))];
  const markdown = [
    quick
      ? `Quick mode: ${count.toLocaleString('en-US')} prefixes instead of 1,000,000; the targets are meant for the full table and are only indicative here.\n`
      : '',
    ...summary,
    '',
    ...(skipped.size ? [`Not measured: ${[...skipped].join('; ')}.`, ''] : []),
    'Targets (issue 20, ratios to BIRD in the same run): with the receiver-bound feeder, time and CPU at or below 1.0x; through both feeders, peak RSS at or below 1.25x; with BIRD as feeder, CPU at or below 1.5x; the event loop never held over 50 ms.',
    '',
    ...verdicts,
    '',
    ...(idle.length > 2 ? [`## Holding the table, idle (${idleS} s)`, '', ...idle, ''] : []),
    '## Every run',
    '',
    ...runs,
    '',
    '## How it is measured',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    `Versions: ${versions.join('; ')}.`,
  ].join('\n');
  return { markdown, met };
}
