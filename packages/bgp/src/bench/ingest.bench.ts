// Full-table ingest: a BIRD 2 feeder in one namespace announces N IPv4 /24s (1M; 100k with
// --quick) to a receiver in another, over one veth pair. Packed: one attribute set for all; diverse:
// a distinct AS path every 2 prefixes. Measures seconds from the session reaching Established to
// the receiver holding all N (first poll of its CLI showing the full count), its peak RSS (VmHWM)
// and its CPU time, for Tabby, BIRD, FRR and GoBGP as receivers in the same run, one after the
// other. Root, iproute2, bird/birdc, and for the peers FRR (/usr/lib/frr/bgpd, vtysh) and GoBGP
// (gobgpd, gobgp) are needed; a missing peer is reported as not measured. Namespaces are created
// and always deleted here.
//
// Development knobs (environment): BGP_INGEST_PREFIXES=N overrides the size, BGP_INGEST_RECEIVERS
// (e.g. "tabby,bird") and BGP_INGEST_MODES (e.g. "packed") select what runs; BGP_INGEST_TABBY_NODE_ARGS
// adds Node options to Tabby's bgpd (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p").
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandExists, isRoot, NetLab, type Netns } from '@tabby/test-helpers';
import type { ProcStats } from './bench-daemon.js';
import {
  BirdFeeder,
  BirdReceiver,
  FEEDER_ADDR,
  FrrReceiver,
  GobgpReceiver,
  type Mode,
  type PollResult,
  type Receiver,
  RX_ADDR,
  TabbyReceiver,
} from './ingest-receivers.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

type Status = 'ok' | 'timeout' | 'failed' | 'not-measured';

interface CaseResult {
  receiver: string;
  mode: Mode;
  prefixes: number;
  status: Status;
  /** Why it is not `ok`. */
  reason?: string;
  /** Seconds from Established (feeder's timestamp, ms precision) to the first poll showing all prefixes. */
  seconds?: number;
  /** Same end point, measured from the receiver's first poll that showed Established. */
  secondsFromObservedEstablished?: number;
  /** Prefixes held at the end (or at the timeout). */
  finalCount?: number;
  peakRssMb?: number;
  rssAtEndMb?: number;
  cpuSeconds?: number;
  /** The receiver's CPU time (user+system) from enabling the feeder's session to done. */
  ingestCpuSeconds?: number;
  /** The feeder BIRD's CPU time over the same span (it competes for the same 2 cores). */
  feederCpuSeconds?: number;
  pid?: number;
  version?: string;
  loadAvgBefore?: number[];
  loadAvgAfter?: number[];
  polls?: number;
  /** Slowest answer to a poll (ms): how long the receiver's CLI went unanswered during the ingest. */
  maxPollMs?: number;
  /** Polls that failed (no parseable answer); the first poll after Established counts from there. */
  pollErrors?: number;
  lastPollError?: string;
}

const RECEIVERS = ['BIRD', 'Tabby', 'FRR', 'GoBGP'] as const;
type ReceiverName = (typeof RECEIVERS)[number];

function missingTools(name: ReceiverName): string | null {
  const need: Record<ReceiverName, string[]> = {
    BIRD: ['bird', 'birdc'],
    Tabby: [],
    FRR: ['/usr/lib/frr/bgpd', 'vtysh'],
    GoBGP: ['gobgpd', 'gobgp'],
  };
  const missing = need[name].filter((c) => !commandExists(c));
  return missing.length ? `not installed: ${missing.join(', ')}` : null;
}

function makeReceiver(name: ReceiverName, ns: Netns): Receiver {
  switch (name) {
    case 'Tabby':
      return new TabbyReceiver(ns);
    case 'BIRD':
      return new BirdReceiver(ns);
    case 'FRR':
      return new FrrReceiver(ns);
    case 'GoBGP':
      return new GobgpReceiver(ns);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => Math.round(kb / 1024);
const round2 = (x: number) => Math.round(x * 100) / 100;
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

async function runCase(
  ctx: Ctx,
  name: ReceiverName,
  mode: Mode,
  count: number,
  opts: { timeoutMs: number; pollMs: number; feederTimeoutMs: number },
): Promise<CaseResult> {
  const base: CaseResult = { receiver: name, mode, prefixes: count, status: 'failed' };
  const missing = missingTools(name);
  if (missing) return { ...base, status: 'not-measured', reason: missing };
  const lab = new NetLab();
  let receiver: Receiver | null = null;
  let feeder: BirdFeeder | null = null;
  try {
    const rxNs = await lab.netns('rx');
    const fdNs = await lab.netns('feeder');
    await lab.link(rxNs, 'eth0', `${RX_ADDR}/30`, fdNs, 'eth0', `${FEEDER_ADDR}/30`);
    receiver = makeReceiver(name, rxNs);
    const version = await receiver.version();
    await receiver.start();
    feeder = new BirdFeeder(fdNs, count, mode);
    const tf = Date.now();
    await feeder.start(opts.feederTimeoutMs);
    ctx.log(`${name}/${mode}: feeder holds ${count} routes after ${((Date.now() - tf) / 1000).toFixed(1)} s`);
    const before = receiver.stats();
    const feederBefore = feeder.stats();
    const loadAvgBefore = load();
    await feeder.enable();
    const enabledAt = Date.now();
    let observedEstablished: number | null = null;
    let done: number | null = null;
    let last: PollResult = { established: false, count: 0 };
    let polls = 0;
    let maxPollMs = 0;
    let pollErrors = 0;
    let lastPollError = '';
    let lastLog = Date.now();
    while (Date.now() - enabledAt < opts.timeoutMs) {
      const t = Date.now();
      try {
        last = await receiver.poll();
        maxPollMs = Math.max(maxPollMs, Date.now() - t);
      } catch (err) {
        // an answer that does not parse (or a CLI that failed): count it and keep polling
        pollErrors += 1;
        lastPollError = (err as Error).message.split('\n')[0] ?? '';
      }
      polls += 1;
      if (!receiver.proc?.running) throw new Error(`${name} exited: ${receiver.proc?.output.slice(-1000)}`);
      if (last.established && observedEstablished === null) {
        observedEstablished = t;
      }
      if (Date.now() - enabledAt > opts.timeoutMs) break;
      if (last.established && last.count >= count) {
        done = Date.now();
        break;
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        ctx.log(`${name}/${mode}: ${last.count} of ${count} after ${((Date.now() - enabledAt) / 1000).toFixed(0)} s`);
      }
      // Until Established is seen, poll quickly; then at the modest interval.
      const interval = observedEstablished === null ? 50 : opts.pollMs;
      await sleep(Math.max(0, interval - (Date.now() - t)));
    }
    const after: ProcStats | null = receiver.stats();
    const feederAfter = feeder.stats();
    const establishedAt = await feeder.establishedAt();
    const result: CaseResult = {
      ...base,
      version,
      finalCount: last.count,
      polls,
      maxPollMs,
      pollErrors,
      ...(lastPollError ? { lastPollError } : {}),
      ...(feederBefore && feederAfter
        ? { feederCpuSeconds: round2(feederAfter.cpuSeconds - feederBefore.cpuSeconds) }
        : {}),
      loadAvgBefore,
      loadAvgAfter: load(),
      ...(after
        ? {
            pid: after.pid,
            peakRssMb: mb(after.vmHwmKb),
            rssAtEndMb: mb(after.vmRssKb),
            cpuSeconds: after.cpuSeconds,
            ...(before ? { ingestCpuSeconds: round2(after.cpuSeconds - before.cpuSeconds) } : {}),
          }
        : {}),
    };
    if (done === null) {
      return {
        ...result,
        status: 'timeout',
        reason: `${last.count} of ${count} prefixes after ${opts.timeoutMs / 1000} s${last.established ? '' : ' (session not Established)'}`,
      };
    }
    if (establishedAt === null) {
      return { ...result, status: 'failed', reason: 'the feeder session is not Established at the end (it flapped?)' };
    }
    return {
      ...result,
      status: 'ok',
      seconds: Math.round((done - establishedAt) / 10) / 100,
      ...(observedEstablished !== null
        ? { secondsFromObservedEstablished: Math.round((done - observedEstablished) / 10) / 100 }
        : {}),
    };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message.split('\n').slice(0, 6).join(' | ') };
  } finally {
    await receiver?.stop().catch(() => {});
    await feeder?.stop().catch(() => {});
    await lab.destroy();
  }
}

/**
 * Which speaker build was measured: the commit checked out and a hash of the built speaker and
 * codec (`dist/`, benchmarks excluded), since the working tree may hold uncommitted changes.
 */
function buildInfo(): { commit: string; distSha256: string } {
  const repo = fileURLToPath(new URL('../../../..', import.meta.url));
  let commit = 'unknown';
  try {
    const head = readFileSync(join(repo, '.git/HEAD'), 'utf8').trim();
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) commit = head;
    else if (existsSync(join(repo, '.git', ref))) commit = readFileSync(join(repo, '.git', ref), 'utf8').trim();
    else {
      const packed = readFileSync(join(repo, '.git/packed-refs'), 'utf8');
      commit =
        packed
          .split('\n')
          .find((l) => l.endsWith(` ${ref}`))
          ?.split(' ')[0] ?? 'unknown';
    }
  } catch {
    // not a git checkout
  }
  const h = createHash('sha256');
  for (const pkg of ['bgp', 'wire']) {
    const dir = join(repo, 'packages', pkg, 'dist');
    if (!existsSync(dir)) continue;
    const files = (readdirSync(dir, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.js') && !f.startsWith('bench'))
      .sort();
    for (const f of files) h.update(`${pkg}/${f}\0`).update(readFileSync(join(dir, f)));
  }
  return { commit: commit.slice(0, 12), distSha256: h.digest('hex').slice(0, 16) };
}

const ANCHORS = [
  { receiver: 'BIRD', mode: 'packed', seconds: 4.0, rssMb: 94 },
  { receiver: 'BIRD', mode: 'diverse', seconds: 10.4, rssMb: 146 },
  { receiver: 'FRR', mode: 'packed', seconds: 12.1, rssMb: 687 },
  { receiver: 'GoBGP', mode: 'packed', seconds: 85, rssMb: 1200 },
] as const;

const TARGET_BIRD_RATIO = 1.5;
const TARGET_RSS_MB = 300;

function fmt(n: number | undefined, digits = 1): string {
  return n === undefined ? '—' : n.toFixed(digits);
}

function report(results: CaseResult[], count: number, quick: boolean, modes: Mode[]) {
  const timeoutS = quick ? 60 : 300;
  const find = (r: string, m: Mode) => results.find((x) => x.receiver === r && x.mode === m);
  const rows: string[] = [
    '| receiver | mode | seconds | peak RSS (MB) | time vs BIRD | CPU s | CPU vs BIRD | slowest CLI answer (s) | status |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const m of modes) {
    const bird = find('BIRD', m);
    for (const r of results.filter((x) => x.mode === m)) {
      const ratio =
        r.status === 'ok' && bird?.status === 'ok' && bird.seconds ? `${(r.seconds! / bird.seconds).toFixed(2)}x` : '—';
      const cpuRatio =
        r.ingestCpuSeconds !== undefined && bird?.status === 'ok' && bird.ingestCpuSeconds
          ? `${(r.ingestCpuSeconds / bird.ingestCpuSeconds).toFixed(1)}x`
          : '—';
      const status = r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`;
      const secs = r.status === 'ok' ? fmt(r.seconds, 2) : r.status === 'timeout' ? `> ${timeoutS}` : '—';
      const poll = r.maxPollMs === undefined ? '—' : fmt(r.maxPollMs / 1000);
      rows.push(
        `| ${r.receiver} | ${m} | ${secs} | ${r.peakRssMb ?? '—'} | ${ratio} | ${fmt(r.ingestCpuSeconds)} | ${cpuRatio} | ${poll} | ${status.replace(/\|/g, '/')} |`,
      );
    }
  }
  // Targets, per mode.
  const verdicts: string[] = [];
  const met: Record<string, boolean | null> = {};
  for (const m of modes) {
    const t = find('Tabby', m);
    const bird = find('BIRD', m);
    const frr = find('FRR', m);
    const gobgp = find('GoBGP', m);
    const check = (key: string, ok: boolean | null, text: string) => {
      met[`${m}.${key}`] = ok;
      verdicts.push(`- ${m}, ${text}: ${ok === null ? 'not decided' : ok ? '**met**' : '**NOT met**'}`);
    };
    if (t?.status !== 'ok') {
      verdicts.push(
        `- ${m}: Tabby did not finish (${t?.status ?? 'not run'}: ${t?.reason ?? ''}), so no target is met`,
      );
      for (const k of ['fasterThanFrr', 'fasterThanGobgp', 'withinBird', 'rss']) met[`${m}.${k}`] = false;
      continue;
    }
    const beats = (peer: CaseResult | undefined): boolean | null => {
      if (!peer || peer.status === 'not-measured' || peer.status === 'failed') return null;
      if (peer.status === 'timeout') return true; // the peer did not finish within the timeout Tabby met
      return t.seconds! < peer.seconds!;
    };
    const fr = beats(frr);
    check(
      'fasterThanFrr',
      fr,
      `faster than FRR (${fmt(t.seconds, 2)} s vs ${frr?.status === 'ok' ? `${fmt(frr.seconds, 2)} s` : (frr?.status ?? 'not run')})`,
    );
    const gb = beats(gobgp);
    check(
      'fasterThanGobgp',
      gb,
      `faster than GoBGP (${fmt(t.seconds, 2)} s vs ${gobgp?.status === 'ok' ? `${fmt(gobgp.seconds, 2)} s` : (gobgp?.status ?? 'not run')})`,
    );
    const br = bird?.status === 'ok' ? t.seconds! / bird.seconds! : null;
    check(
      'withinBird',
      br === null ? null : br <= TARGET_BIRD_RATIO,
      `within ${TARGET_BIRD_RATIO}x of BIRD's time (${br === null ? 'BIRD not measured' : `${br.toFixed(2)}x`})`,
    );
    check(
      'rss',
      t.peakRssMb === undefined ? null : t.peakRssMb < TARGET_RSS_MB,
      `peak RSS under ${TARGET_RSS_MB} MB (${t.peakRssMb ?? '—'} MB)`,
    );
  }
  const loads = results.flatMap((r) => [...(r.loadAvgBefore ?? []).slice(0, 1), ...(r.loadAvgAfter ?? []).slice(0, 1)]);
  const maxLoad = loads.length ? Math.max(...loads) : 0;
  const cpus = os.cpus().length;
  const notes = [
    `${count.toLocaleString('en-US')} distinct IPv4 /24s from 11.0.0.0 up, announced by BIRD 2 (AS 65000) over one veth pair (198.18.0.0/30) to the receiver (AS 64512, passive, eBGP, import everything, export nothing, no kernel FIB). Packed: all routes share one attribute set (BIRD packs them into full UPDATEs); diverse: prefixes 2k and 2k+1 carry AS path \`65000 ${100000}+k\`, a distinct path per pair (about ${Math.ceil(count / 2).toLocaleString('en-US')} attribute sets).`,
    "Seconds: from the session reaching Established (the feeder BIRD's protocol timestamp, ms precision; the receiver's side changes state within the same round trip) to the first poll of the receiver showing all prefixes. Polls every 200 ms through the receiver's own interface: Tabby `show status` (loc_rib_prefixes) on its control socket, BIRD `birdc show protocols all` (imported), FRR `vtysh show bgp ipv4 unicast summary json` (pfxRcd), GoBGP `gobgp neighbor ADDR -j` (accepted). The feeder loads all its static routes before its BGP protocol is enabled, so feeder start-up is never counted.",
    "Peak RSS: VmHWM of the receiver daemon process (/proc/PID/status; for Tabby the Node process), read when the count is complete, so it includes the start-up baseline. CPU s: the receiver's user+system CPU time (utime+stime) from enabling the feeder's session to done; on a shared machine it is a steadier measure of the work than wall time. Slowest CLI answer: the longest a single poll waited for the receiver to answer during the ingest (Tabby's control socket is served by the same event loop as the BGP session, so this shows how long the loop was held).",
    `Receivers run one after the other, each with a fresh pair of namespaces and a fresh feeder; timeout ${quick ? 60 : 300} s per receiver. The table's ratio is the receiver's time over BIRD's in the same mode and run.`,
    `Machine load: ${cpus} CPUs; the 1-minute load average during the run reached ${maxLoad.toFixed(1)}${maxLoad > cpus * 0.75 ? ' — other jobs were running at the same time, so absolute times are inflated and noisier than on an idle machine; ratios within the run are more meaningful' : ''}.`,
  ];
  const anchorRows = [
    '| receiver | mode | seconds | peak RSS (MB) |',
    '|---|---|---:|---:|',
    ...ANCHORS.map((a) => `| ${a.receiver} | ${a.mode} | ${a.seconds} | ${a.rssMb} |`),
  ];
  const versions = [...new Set(results.filter((r) => r.version).map((r) => `${r.receiver}: ${r.version}`))];
  const markdown = [
    quick
      ? `Quick mode: ${count.toLocaleString('en-US')} prefixes instead of 1,000,000; the targets below are meant for the full table and are only indicative here.\n`
      : '',
    ...rows,
    '',
    `Targets (from the issue): faster than FRR and GoBGP, within ${TARGET_BIRD_RATIO}x of BIRD's time, peak RSS under ${TARGET_RSS_MB} MB.`,
    '',
    ...verdicts,
    '',
    '## How it is measured',
    '',
    ...notes.map((n) => `- ${n}`),
    '',
    '## Anchors from the issue (measured earlier on this kind of machine, 1M prefixes; for orientation only)',
    '',
    ...anchorRows,
    '',
    `Versions: ${versions.join('; ')}.`,
  ].join('\n');
  return { markdown, met };
}

export default async function ingest(ctx: Ctx) {
  if (!isRoot() || !commandExists('ip')) throw new Error('bgp-ingest needs root and iproute2 (network namespaces)');
  if (!commandExists('bird') || !commandExists('birdc'))
    throw new Error('bgp-ingest needs BIRD 2 (bird, birdc) as feeder');
  const envCount = Number(process.env.BGP_INGEST_PREFIXES ?? '');
  const count = envCount > 0 ? Math.min(envCount, 1 << 20) : ctx.quick ? 100_000 : 1_000_000;
  const pick = <T extends string>(env: string | undefined, all: readonly T[]): T[] => {
    if (!env) return [...all];
    const want = env.toLowerCase().split(',');
    return all.filter((x) => want.includes(x.toLowerCase()));
  };
  const receivers = pick(process.env.BGP_INGEST_RECEIVERS, RECEIVERS);
  const modes = pick<Mode>(process.env.BGP_INGEST_MODES, ['packed', 'diverse']);
  const opts = {
    timeoutMs: ctx.quick ? 60_000 : 300_000,
    pollMs: 200,
    feederTimeoutMs: ctx.quick ? 60_000 : 300_000,
  };
  const build = buildInfo();
  const results: CaseResult[] = [];
  for (const mode of modes) {
    for (const name of receivers) {
      ctx.log(`${name}/${mode}: ${count} prefixes ...`);
      const r = await runCase(ctx, name, mode, count, opts);
      ctx.log(
        `${name}/${mode}: ${r.status}${r.seconds !== undefined ? ` ${r.seconds} s` : ''}${r.peakRssMb !== undefined ? `, peak RSS ${r.peakRssMb} MB` : ''}${r.ingestCpuSeconds !== undefined ? `, CPU ${r.ingestCpuSeconds} s` : ''}${r.reason ? ` (${r.reason})` : ''}`,
      );
      results.push(r);
    }
  }
  const r = report(results, count, ctx.quick, modes);
  const markdown = `${r.markdown}\n\nSpeaker build measured: commit ${build.commit} plus the working tree as built (dist hash ${build.distSha256}).`;
  const met = r.met;
  return {
    title: `bgp: full-table ingest, ${count.toLocaleString('en-US')} IPv4 prefixes (Tabby vs BIRD, FRR, GoBGP)`,
    markdown,
    results: {
      prefixes: count,
      pollMs: opts.pollMs,
      timeoutMs: opts.timeoutMs,
      targets: { birdRatio: TARGET_BIRD_RATIO, peakRssMb: TARGET_RSS_MB, fasterThan: ['FRR', 'GoBGP'] },
      targetsMet: met,
      anchors: ANCHORS,
      feeder: { address: FEEDER_ADDR, asn: 65000 },
      build,
      cases: results,
    },
  };
}
