// Full-table ingest: a feeder in one namespace announces N IPv4 /24s (1M; 100k with --quick) to a
// receiver in another, over one veth pair. Two feeders: the receiver-bound one (fast-feeder.ts:
// pre-encoded UPDATEs written as fast as the socket takes them) and BIRD 2 (about 256 prefixes per
// UPDATE, as real peers send). Packed: one attribute set for all; diverse: a distinct AS path every
// 2 prefixes. Receivers are configured as users configure them (a named accept-all import policy,
// export none, graceful restart on); `diverse-lp` is the diverse feed through an import policy that
// sets LOCAL_PREF. Measures seconds from the session reaching Established to the
// receiver holding all N with nothing left to decide, its CPU time, peak RSS (VmHWM) and, for
// Tabby, the longest the event loop was held; then, holding the table, its CPU per second and RSS
// while nothing happens (5 s from 2 s after done); BIRD and Tabby (FRR and GoBGP when asked for
// and installed) one after the other in the same run, each case repeated. Root, iproute2 and
// bird/birdc are needed. Namespaces are created and always deleted here.
//
// Development knobs (environment): BGP_INGEST_PREFIXES=N overrides the size, BGP_INGEST_RECEIVERS
// (e.g. "tabby,bird,frr,gobgp"), BGP_INGEST_MODES ("packed,diverse,diverse-lp"), BGP_INGEST_FEEDERS
// ("fast,bird") and BGP_INGEST_RUNS (5; FRR and GoBGP run 2 at most) select what runs, BGP_INGEST_IDLE_S (5; 0: none) the idle
// window; BGP_INGEST_TABBY_NODE_ARGS adds Node options to Tabby's bgpd (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/p").
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandExists, isRoot, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { daemonPid, type ProcStats, procStats } from './bench-daemon.js';
import { FastFeeder } from './fast-feeder.js';
import {
  BirdFeeder,
  BirdReceiver,
  FEEDER_ADDR,
  FrrReceiver,
  feedOf,
  GobgpReceiver,
  type Mode,
  type PollResult,
  type Receiver,
  RX_ADDR,
  TabbyReceiver,
} from './ingest-receivers.js';
import { type CaseResult, IDLE_SETTLE_S, ingestReport, SLOW_RUNS, TARGETS } from './ingest-report.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

const RECEIVERS = ['BIRD', 'Tabby', 'FRR', 'GoBGP'] as const;
/** Run unless BGP_INGEST_RECEIVERS says otherwise (GoBGP needs over 300 s for 1M prefixes). */
const DEFAULT_RECEIVERS = ['BIRD', 'Tabby', 'FRR'];
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

function makeReceiver(name: ReceiverName, ns: Netns, mode: Mode): Receiver {
  switch (name) {
    case 'Tabby':
      return new TabbyReceiver(ns, mode);
    case 'BIRD':
      return new BirdReceiver(ns, mode);
    case 'FRR':
      return new FrrReceiver(ns, mode);
    case 'GoBGP':
      return new GobgpReceiver(ns, mode);
  }
}

/** Cases left out, and why. */
function unmeasured(name: ReceiverName, mode: Mode): string | null {
  if (mode !== 'diverse-lp') return null;
  if (name === 'GoBGP') return 'no LOCAL_PREF import policy configured for GoBGP';
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (kb: number) => Math.round(kb / 1024);
const round2 = (x: number) => Math.round(x * 100) / 100;
const load = () => os.loadavg().map((x) => Math.round(x * 100) / 100);

/**
 * The receiver holding the table with its session up and nothing arriving (the feeders send a
 * keepalive a minute at most), asked nothing: CPU per second over `seconds` and RSS at the end.
 */
async function idleStats(
  receiver: Receiver,
  seconds: number,
): Promise<{ idleCpuMsPerS: number; idleRssMb: number } | null> {
  await sleep(IDLE_SETTLE_S * 1000);
  const a = receiver.stats();
  await sleep(seconds * 1000);
  const b = receiver.stats();
  if (!a || !b || a.pid !== b.pid) return null;
  return {
    idleCpuMsPerS: Math.round(((b.cpuSeconds - a.cpuSeconds) * 10_000) / seconds) / 10,
    idleRssMb: mb(b.vmRssKb),
  };
}

/** The feeder of a case: BIRD 2 announcing static routes, or the pre-encoded receiver-bound feeder. */
export type FeederKind = 'fast' | 'BIRD';

async function runCase(
  ctx: Ctx,
  feederKind: FeederKind,
  name: ReceiverName,
  mode: Mode,
  count: number,
  opts: { timeoutMs: number; pollMs: number; feederTimeoutMs: number; idleS: number },
): Promise<CaseResult> {
  const base: CaseResult = { feeder: feederKind, receiver: name, mode, prefixes: count, status: 'failed' };
  const missing = missingTools(name) ?? unmeasured(name, mode);
  if (missing) return { ...base, status: 'not-measured', reason: missing };
  const lab = new NetLab();
  let receiver: Receiver | null = null;
  let bird: BirdFeeder | null = null;
  let fast: FastFeeder | null = null;
  try {
    const rxNs = await lab.netns('rx');
    const fdNs = await lab.netns('feeder');
    await lab.link(rxNs, 'eth0', `${RX_ADDR}/30`, fdNs, 'eth0', `${FEEDER_ADDR}/30`);
    receiver = makeReceiver(name, rxNs, mode);
    const version = await receiver.version();
    await receiver.start();
    await receiver.poll().catch(() => {}); // Tabby starts its event-loop monitor on the first `show status`
    let feederStats: () => ProcStats | null;
    if (feederKind === 'BIRD') {
      const f = new BirdFeeder(fdNs, count, mode);
      bird = f;
      const tf = Date.now();
      await f.start(opts.feederTimeoutMs);
      ctx.log(`${name}/${mode}: feeder holds ${count} routes after ${((Date.now() - tf) / 1000).toFixed(1)} s`);
      feederStats = () => f.stats();
    } else {
      fast = new FastFeeder(fdNs, RX_ADDR, FEEDER_ADDR, count, feedOf(mode));
      let pid = 0;
      feederStats = () => (pid ? procStats(pid) : null);
      const f = fast;
      f.start();
      await waitFor(
        'the feeder has encoded its UPDATEs',
        () => f.at('encoded') !== null || !f.proc?.running,
        60_000,
        20,
      );
      pid = daemonPid(f.pid, 'node');
    }
    const before = receiver.stats();
    const feederBefore = feederStats();
    const loadAvgBefore = load();
    if (bird) await bird.enable();
    const enabledAt = Date.now();
    let observedEstablished: number | null = null;
    let done: number | null = null;
    let countedAt: number | null = null;
    let last: PollResult = { established: false, count: 0, settled: false };
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
      if (fast && !fast.proc?.running) throw new Error(`the feeder exited: ${fast.proc?.output.slice(-1000)}`);
      if (last.established && observedEstablished === null) observedEstablished = t;
      if (Date.now() - enabledAt > opts.timeoutMs) break;
      if (last.established && last.count >= count) {
        countedAt ??= Date.now();
        if (last.settled) {
          done = Date.now();
          break;
        }
      }
      if (Date.now() - lastLog > 15_000) {
        lastLog = Date.now();
        ctx.log(`${name}/${mode}: ${last.count} of ${count} after ${((Date.now() - enabledAt) / 1000).toFixed(0)} s`);
      }
      // Until Established is seen, poll quickly; then at the case's interval.
      const interval = observedEstablished === null ? 20 : opts.pollMs;
      await sleep(Math.max(0, interval - (Date.now() - t)));
    }
    const after: ProcStats | null = receiver.stats();
    const feederAfter = feederStats();
    const idle = done !== null && opts.idleS > 0 ? await idleStats(receiver, opts.idleS) : null;
    const establishedAt = bird ? await bird.establishedAt() : fast!.at('established');
    const sentAt = fast?.at('sent') ?? null;
    const result: CaseResult = {
      ...base,
      version,
      finalCount: last.count,
      polls,
      maxPollMs,
      pollErrors,
      ...(last.loopMaxMs !== undefined ? { loopMaxMs: last.loopMaxMs } : {}),
      ...(lastPollError ? { lastPollError } : {}),
      ...(feederBefore && feederAfter
        ? { feederCpuSeconds: round2(feederAfter.cpuSeconds - feederBefore.cpuSeconds) }
        : {}),
      ...(sentAt !== null && establishedAt !== null
        ? { feederSendSeconds: round2((sentAt - establishedAt) / 1000) }
        : {}),
      ...idle,
      loadAvgBefore,
      loadAvgAfter: load(),
      ...(after
        ? {
            pid: after.pid,
            peakRssMb: mb(after.vmHwmKb),
            rssAtEndMb: mb(after.vmRssKb),
            cpuSeconds: after.cpuSeconds,
            ...(before
              ? {
                  ingestCpuSeconds: round2(after.cpuSeconds - before.cpuSeconds),
                  ingestSysSeconds: round2(after.sysSeconds - before.sysSeconds),
                  ingestMinorFaults: after.minorFaults - before.minorFaults,
                }
              : {}),
          }
        : {}),
    };
    if (done === null) {
      return {
        ...result,
        status: 'timeout',
        reason: `${last.count} of ${count} prefixes${last.settled ? '' : ' (selection or export pending)'} after ${opts.timeoutMs / 1000} s${last.established ? '' : ' (session not Established)'}`,
      };
    }
    if (establishedAt === null) {
      return { ...result, status: 'failed', reason: 'the feeder session is not Established at the end (it flapped?)' };
    }
    return {
      ...result,
      status: 'ok',
      seconds: Math.round((done - establishedAt) / 10) / 100,
      ...(countedAt !== null && countedAt < done
        ? { countedSeconds: Math.round((countedAt - establishedAt) / 10) / 100 }
        : {}),
      ...(observedEstablished !== null
        ? { secondsFromObservedEstablished: Math.round((done - observedEstablished) / 10) / 100 }
        : {}),
    };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message.split('\n').slice(0, 6).join(' | ') };
  } finally {
    await receiver?.stop().catch(() => {});
    await bird?.stop().catch(() => {});
    await fast?.stop().catch(() => {});
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

export default async function ingest(ctx: Ctx) {
  if (!isRoot() || !commandExists('ip')) throw new Error('bgp-ingest needs root and iproute2 (network namespaces)');
  if (!commandExists('bird') || !commandExists('birdc'))
    throw new Error('bgp-ingest needs BIRD 2 (bird, birdc) as feeder and receiver');
  const envCount = Number(process.env.BGP_INGEST_PREFIXES ?? '');
  const count = envCount > 0 ? Math.min(envCount, 1 << 20) : ctx.quick ? 100_000 : 1_000_000;
  const pick = <T extends string>(env: string | undefined, all: readonly T[], dflt: readonly string[] = all): T[] => {
    const want = (env ?? dflt.join(',')).toLowerCase().split(',');
    return all.filter((x) => want.includes(x.toLowerCase()));
  };
  const receivers = pick(process.env.BGP_INGEST_RECEIVERS, RECEIVERS, DEFAULT_RECEIVERS);
  const modes = pick<Mode>(process.env.BGP_INGEST_MODES, ['packed', 'diverse', 'diverse-lp']);
  const feeders = pick<FeederKind>(process.env.BGP_INGEST_FEEDERS, ['fast', 'BIRD']);
  const repeats = Math.max(1, Number(process.env.BGP_INGEST_RUNS ?? '') || 5);
  const timeoutMs = ctx.quick ? 60_000 : 300_000;
  const idleEnv = Number(process.env.BGP_INGEST_IDLE_S ?? '');
  const idleS = process.env.BGP_INGEST_IDLE_S && idleEnv >= 0 ? idleEnv : ctx.quick ? 2 : 5;
  const build = buildInfo();
  const results: CaseResult[] = [];
  for (const feeder of feeders) {
    const opts = { timeoutMs, pollMs: feeder === 'fast' ? 25 : 100, feederTimeoutMs: timeoutMs, idleS };
    for (const mode of modes) {
      for (let run = 1; run <= repeats; run++) {
        for (const name of receivers) {
          if (run > SLOW_RUNS && (name === 'FRR' || name === 'GoBGP')) continue;
          ctx.log(`${feeder} feeder, ${name}/${mode} run ${run}: ${count} prefixes ...`);
          const r = { ...(await runCase(ctx, feeder, name, mode, count, opts)), run };
          ctx.log(
            `${name}/${mode}: ${r.status}${r.seconds !== undefined ? ` ${r.seconds} s` : ''}${r.ingestCpuSeconds !== undefined ? `, CPU ${r.ingestCpuSeconds} s (system ${r.ingestSysSeconds}, ${r.ingestMinorFaults} page faults)` : ''}${r.peakRssMb !== undefined ? `, peak RSS ${r.peakRssMb} MB` : ''}${r.loopMaxMs !== undefined ? `, loop held ${r.loopMaxMs} ms` : ''}${r.idleCpuMsPerS !== undefined ? `; idle ${r.idleCpuMsPerS} ms CPU/s, RSS ${r.idleRssMb} MB` : ''}${r.reason ? ` (${r.reason})` : ''}`,
          );
          results.push(r);
        }
      }
    }
  }
  const r = ingestReport(results, count, ctx.quick, feeders, modes, timeoutMs / 1000, idleS, repeats);
  const markdown = `${r.markdown}\n\nSpeaker build measured: commit ${build.commit} plus the working tree as built (dist hash ${build.distSha256}).`;
  return {
    title: `bgp: full-table ingest, ${count.toLocaleString('en-US')} IPv4 prefixes (Tabby vs BIRD${receivers.includes('FRR') ? ', FRR' : ''}${receivers.includes('GoBGP') ? ', GoBGP' : ''})`,
    markdown,
    results: {
      prefixes: count,
      runs: repeats,
      timeoutMs,
      idleSeconds: idleS,
      targets: TARGETS,
      targetsMet: r.met,
      feeder: { address: FEEDER_ADDR, asn: 65000 },
      build,
      cases: results,
    },
  };
}
