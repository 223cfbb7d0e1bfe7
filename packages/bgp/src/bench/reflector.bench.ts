// Route-reflector benchmarks (issue 5), Tabby's bgpd (clusterId + routeReflectorClient peers) and
// BIRD 2 (`rr client`) as the reflector, one after the other in the same run.
//
// Fan-out: one reflector, 200 iBGP clients (50 with --quick); once every session is Established,
// client 0 announces 10,000 /24s (2,000); measured: seconds from the first UPDATE sent to every
// other client holding all of them, and the reflector's peak RSS and CPU time.
// Session scale: 1,000, 5,000 and 10,000 clients (BIRD: 1,000 only; it needs minutes; --quick:
// 200) connect at once; the first 1,000 each announce 1 prefix as soon as their session is
// Established, so the reflector distributes 1,000 routes to every client; measured: seconds to
// all-Established, to every client holding every other client's route, sessions lost
// (NOTIFICATION, hold timer expiry on either side, connection closed), peak RSS, CPU, the
// reflector's listen-queue overflows and (Tabby) its longest event-loop stall.
//
// The reflector runs in one namespace (198.18.0.1/15 on eth0); the clients are lightweight
// sessions in one Node process (reflector-driver.ts) in a second namespace (198.18.0.2/24 on eth0),
// each from its own address 198.19.0.1 ... on that namespace's `lo`. The reflector namespace routes
// 198.19.0.0/16 via 198.18.0.2, so each side holds one neighbour entry whatever the number of
// clients (with the clients on-link, the kernel's global gc_thresh3 of 1,024 neighbour entries
// capped the case at 1,023 clients), while the clients' addresses and next hops stay inside the
// reflector's connected /15 (no multihop, BIRD's `direct` and `gateway direct` unchanged).
// Fan-out: hold time 9 s, keepalive 3 s; scale: hold time 30 s, keepalive 10 s (issue 20).
// Development knobs (environment): BGP_RR_REFLECTORS (e.g. "tabby"), BGP_RR_CASES ("fanout,scale"),
// BGP_RR_SCALE_CLIENTS (the scale case's sizes, e.g. "10000" or "1000,5000"; BIRD runs the
// smallest), BGP_RR_SETTLE_S (seconds the scale case keeps the sessions after the routes are in;
// default two hold times), BGP_RR_SCALE_REPEAT (how many times Tabby runs the largest size;
// default 3, 1 in quick mode), BGP_RR_SOMAXCONN (net.core.somaxconn in the reflector namespace; the
// kernel's default otherwise), BGP_RR_TABBY_NODE_ARGS (extra Node options for Tabby's bgpd, e.g.
// "--cpu-prof --cpu-prof-dir=/tmp/p"; with it bgpd is stopped with SIGTERM, so the profile gets
// written).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandExists, isRoot, NetLab, type Netns } from '@tabby/test-helpers';
import { DAEMON_NODE_OPTIONS } from '../node-options.js';
import { controlRequest } from './bench-daemon.js';
import {
  ASN,
  BirdReflector,
  CLUSTER_ID,
  clientAddr,
  FIRST_CLIENT,
  type Reflector,
  type ReflectorName,
  RR_ADDR,
  TabbyReflector,
} from './reflector-daemons.js';
import type { DriverConfig, DriverEvent } from './reflector-driver.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

const CL_ADDR = '198.18.0.2';
/** Hold time of the fan-out case (keepalive a third of it). */
const HOLD = 9;
/** Hold time of the scale case (issue 20: 10,000 clients with hold time 30 s). */
const SCALE_HOLD = 30;
const CLIENT_NET = '198.19.0.0/16';
/**
 * Clients of the scale case that announce a route (one each): every client is sent 1,000 routes
 * (issue 5's "1,000 routes per client"). One route from every client of 10,000 would be 10^8
 * single-route UPDATEs (each has its own ORIGINATOR_ID), more than the driver can decode.
 */
const SCALE_ANNOUNCERS = 1_000;
const DRIVER = fileURLToPath(new URL('./reflector-driver.js', import.meta.url));

const mb = (kb: number) => Math.round(kb / 1024);
const round2 = (x: number) => Math.round(x * 100) / 100;
const load = () => os.loadavg().map(round2);

type CaseName = 'fanout' | 'scale';
type Status = 'ok' | 'timeout' | 'failed' | 'not-measured';

interface CaseSizes {
  clients: number;
  prefixes: number;
  hold: number;
  timeoutMs: number;
  settleMs: number;
}

interface CaseResult {
  reflector: ReflectorName;
  case: CaseName;
  clients: number;
  /** Prefixes announced in all. */
  prefixes: number;
  status: Status;
  reason?: string;
  /** Fan-out: from the first UPDATE sent to every other client holding all prefixes. */
  fanoutSeconds?: number;
  /** Scale: from the driver's first connect to every session Established. */
  allEstablishedSeconds?: number;
  /** Scale: from the first connect to every client holding every other client's routes. */
  allRoutesSeconds?: number;
  /** Sessions that went down after Established (reasons below). */
  sessionsLost?: number;
  downReasons?: Record<string, number>;
  /** The reflector namespace's TcpExtListenOverflows: handshakes dropped for a full accept queue. */
  listenOverflows?: number;
  /** TCP connects the driver made (more than `clients` when some had to retry). */
  connectAttempts?: number;
  peakRssMb?: number;
  rssAtEndMb?: number;
  /** Reflector CPU (user+system) over the case, from the driver's start. */
  cpuSeconds?: number;
  /** Tabby: the longest the reflector's event loop was held while the clients were up (`show status`, ms). */
  loopMaxMs?: number;
  /** The same at the end, once every client had disconnected at once (the driver's exit). */
  loopMaxWithDisconnectMs?: number;
  holdTime?: number;
  driverCpuSeconds?: number;
  /** What the clients received: prefixes announced (own excepted), already held among them, withdrawn. */
  received?: { announced: number; again: number; withdrawn: number };
  version?: string;
  loadAvgBefore?: number[];
  loadAvgAfter?: number[];
}

/** Adds the clients' source addresses on the client namespace's `lo`, in one `ip -batch`. */
async function addClientAddresses(ns: Netns, n: number, dir: string): Promise<void> {
  const file = join(dir, 'addrs.batch');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`addr add ${clientAddr(i)}/32 dev lo`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  await ns.ip(['-batch', file]);
}

/** A TcpExt counter of the namespace (/proc/net/netstat as seen from inside it). */
async function tcpExtCounter(ns: Netns, name: string): Promise<number | null> {
  const r = await ns.exec(['cat', '/proc/net/netstat'], { allowFailure: true });
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('TcpExt:'));
  if (lines.length < 2) return null;
  const keys = lines[0]!.split(/\s+/);
  const vals = lines[1]!.split(/\s+/);
  const i = keys.indexOf(name);
  return i > 0 ? Number(vals[i]) : null;
}

interface DriverRun {
  events: DriverEvent[];
  endReason: string;
}

/** Starts the driver in `ns`, collects its events until it ends (or the outer timeout passes), then stops it after `beforeClose`. */
async function runDriver(
  ctx: Ctx,
  label: string,
  ns: Netns,
  cfg: DriverConfig,
  beforeClose: () => Promise<void>,
): Promise<DriverRun> {
  const proc = ns.spawn([process.execPath, DRIVER, JSON.stringify(cfg)]);
  const events: DriverEvent[] = [];
  let buf = '';
  let lastLog = 0;
  const done = new Promise<string>((resolve) => {
    proc.child.stdout?.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        let e: DriverEvent;
        try {
          e = JSON.parse(line) as DriverEvent;
        } catch {
          continue;
        }
        events.push(e);
        if (e.ev === 'progress' && e.t - lastLog >= 10_000) {
          lastLog = e.t;
          ctx.log(
            `${label}: ${(e.t / 1000).toFixed(0)} s: ${e.established}/${cfg.clients} Established, ${e.complete} complete, min held ${e.minHeld}, ${e.down} down`,
          );
        } else if (e.ev !== 'progress' && e.ev !== 'down') {
          ctx.log(`${label}: ${e.ev} at ${(e.t / 1000).toFixed(2)} s`);
        }
        if (e.ev === 'end') resolve(e.reason);
      }
    });
    void proc.wait().then(() => resolve('driver exited'));
  });
  const timer = new Promise<string>((resolve) => setTimeout(() => resolve('outer timeout'), cfg.timeoutMs + 30_000));
  const endReason = await Promise.race([done, timer]);
  await beforeClose();
  await proc.kill('SIGTERM');
  if (endReason !== 'done' && endReason !== 'timeout') {
    ctx.log(`${label}: driver ended with "${endReason}"; output tail: ${proc.output.slice(-500)}`);
  }
  return { events, endReason };
}

async function runCase(ctx: Ctx, name: ReflectorName, kind: CaseName, sizes: CaseSizes): Promise<CaseResult> {
  const base: CaseResult = {
    reflector: name,
    case: kind,
    clients: sizes.clients,
    prefixes: sizes.prefixes,
    status: 'failed',
  };
  if (name === 'BIRD' && !(commandExists('bird') && commandExists('birdc')))
    return { ...base, status: 'not-measured', reason: 'not installed: bird, birdc' };
  const lab = new NetLab();
  let rr: Reflector | null = null;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-rr-clients-'));
  const label = `${name}/${kind}`;
  try {
    const rrNs = await lab.netns('rr');
    const clNs = await lab.netns('clients');
    await lab.link(rrNs, 'eth0', `${RR_ADDR}/15`, clNs, 'eth0', `${CL_ADDR}/24`);
    await addClientAddresses(clNs, sizes.clients, dir);
    await rrNs.ip(['route', 'add', CLIENT_NET, 'via', CL_ADDR, 'dev', 'eth0']);
    // Development knob: the reflector namespace's accept-queue cap (the report runs the default).
    const somaxconn = process.env.BGP_RR_SOMAXCONN;
    if (somaxconn) await rrNs.exec(['sysctl', '-q', '-w', `net.core.somaxconn=${Number(somaxconn)}`]);
    rr =
      name === 'Tabby'
        ? new TabbyReflector(rrNs, sizes.clients, sizes.hold)
        : new BirdReflector(rrNs, sizes.clients, sizes.hold);
    const version = await rr.version();
    await rr.start();
    const before = rr.stats();
    const loadAvgBefore = load();
    const cfg: DriverConfig =
      kind === 'fanout'
        ? {
            rrAddr: RR_ADDR,
            asn: ASN,
            clients: sizes.clients,
            firstAddr: FIRST_CLIENT,
            holdTime: sizes.hold,
            announcers: 1,
            perClient: sizes.prefixes,
            announce: 'after-all',
            settleMs: sizes.settleMs,
            timeoutMs: sizes.timeoutMs,
          }
        : {
            rrAddr: RR_ADDR,
            asn: ASN,
            clients: sizes.clients,
            firstAddr: FIRST_CLIENT,
            holdTime: sizes.hold,
            announcers: sizes.prefixes,
            perClient: 1,
            announce: 'on-established',
            settleMs: sizes.settleMs,
            timeoutMs: sizes.timeoutMs,
          };
    // Tabby's worst event-loop stall while the clients were up: asked when the driver ends, before
    // it drops every session at once (the driver waits for it; the drop is measured apart, below).
    const loopMax = async () =>
      rr instanceof TabbyReflector
        ? ((await controlRequest(rr.socket, 'show status').catch(() => ({}))) as { event_loop_max_delay_ms?: number })
            .event_loop_max_delay_ms
        : undefined;
    let loopMaxMs: number | undefined;
    const run = await runDriver(ctx, label, clNs, cfg, async () => {
      loopMaxMs = await loopMax();
    });
    const after = rr.stats();
    // Every session closes at once: asked once they are all gone and nothing is left to do.
    if (rr instanceof TabbyReflector) {
      const gone = Date.now() + 30_000;
      while (Date.now() < gone) {
        const s = (await controlRequest(rr.socket, 'show status').catch(() => ({}))) as {
          peers_established?: number;
          pending_selection?: number;
          export_backlog?: number;
        };
        if (s.peers_established === 0 && !s.pending_selection && !s.export_backlog) break;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const loopMaxWithDisconnectMs = await loopMax();
    const listenOverflows = await tcpExtCounter(rrNs, 'ListenOverflows');
    const ev = <K extends DriverEvent['ev']>(k: K) =>
      run.events.find((e) => e.ev === k) as Extract<DriverEvent, { ev: K }> | undefined;
    const downs = run.events.filter((e): e is Extract<DriverEvent, { ev: 'down' }> => e.ev === 'down');
    const downReasons: Record<string, number> = {};
    for (const d of downs) {
      const key = d.reason.replace(/"[^"]*"/, '').trim();
      downReasons[key] = (downReasons[key] ?? 0) + 1;
    }
    const progress = run.events.filter((e): e is Extract<DriverEvent, { ev: 'progress' }> => e.ev === 'progress');
    const last = progress.at(-1);
    const end = ev('end');
    const allEst = ev('allEstablished');
    const complete = ev('complete');
    const annStart = ev('announceStart');
    const running = rr.proc?.running ?? false;
    const result: CaseResult = {
      ...base,
      version,
      holdTime: sizes.hold,
      ...(loopMaxMs !== undefined ? { loopMaxMs } : {}),
      ...(loopMaxWithDisconnectMs !== undefined ? { loopMaxWithDisconnectMs } : {}),
      sessionsLost: downs.filter((d) => d.wasEstablished).length,
      downReasons,
      ...(last ? { connectAttempts: last.connectAttempts } : {}),
      ...(listenOverflows !== null ? { listenOverflows } : {}),
      ...(end ? { driverCpuSeconds: end.driverCpuSeconds, received: end.received } : {}),
      loadAvgBefore,
      loadAvgAfter: load(),
      ...(after
        ? {
            peakRssMb: mb(after.vmHwmKb),
            rssAtEndMb: mb(after.vmRssKb),
            ...(before ? { cpuSeconds: round2(after.cpuSeconds - before.cpuSeconds) } : {}),
          }
        : {}),
      ...(allEst ? { allEstablishedSeconds: round2(allEst.t / 1000) } : {}),
    };
    if (kind === 'fanout' && complete && annStart) result.fanoutSeconds = round2((complete.t - annStart.t) / 1000);
    if (kind === 'scale' && complete) result.allRoutesSeconds = round2(complete.t / 1000);
    if (!running) return { ...result, status: 'failed', reason: `${name} exited: ${rr.proc?.output.slice(-300)}` };
    if (!complete) {
      const where = last
        ? `${last.established}/${sizes.clients} Established, ${last.complete} complete, min held ${last.minHeld}`
        : 'no progress';
      return {
        ...result,
        status: 'timeout',
        reason: `not complete after ${sizes.timeoutMs / 1000} s (${where}; driver: ${run.endReason})`,
      };
    }
    return { ...result, status: 'ok' };
  } catch (err) {
    return { ...base, status: 'failed', reason: (err as Error).message.split('\n').slice(0, 6).join(' | ') };
  } finally {
    await rr?.stop().catch(() => {});
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Tabby's fan-out against BIRD's: null when undecidable (BIRD not measured or failed). */
function fanoutVerdict(t: CaseResult | undefined, bird: CaseResult | undefined): boolean | null {
  if (!t) return null;
  if (t.status !== 'ok') return false;
  if (bird?.status === 'timeout') return true;
  if (bird?.status !== 'ok') return null;
  return t.fanoutSeconds! <= bird.fanoutSeconds!;
}

function fmt(n: number | undefined, digits = 2): string {
  return n === undefined ? '—' : n.toFixed(digits);
}

export default async function reflector(ctx: Ctx) {
  if (!isRoot() || !commandExists('ip')) throw new Error('bgp-reflector needs root and iproute2 (network namespaces)');
  const pick = <T extends string>(env: string | undefined, all: readonly T[]): T[] => {
    if (!env) return [...all];
    const want = env.toLowerCase().split(',');
    return all.filter((x) => want.includes(x.toLowerCase()));
  };
  const reflectors = pick<ReflectorName>(process.env.BGP_RR_REFLECTORS, ['BIRD', 'Tabby']);
  const cases = pick<CaseName>(process.env.BGP_RR_CASES, ['fanout', 'scale']);
  const q = ctx.quick;
  const fanout: CaseSizes = {
    clients: q ? 50 : 200,
    prefixes: q ? 2_000 : 10_000,
    hold: HOLD,
    timeoutMs: 120_000,
    settleMs: 1_000,
  };
  const envSizes = (process.env.BGP_RR_SCALE_CLIENTS ?? '')
    .split(',')
    .map(Number)
    .filter((n) => n > 0);
  const scaleSizes = envSizes.length ? envSizes : q ? [200] : [1_000, 5_000, 10_000];
  const largest = Math.max(...scaleSizes);
  // Tabby's largest size runs several times: its worst loop stall varies from run to run.
  const repeat = Math.max(1, Number(process.env.BGP_RR_SCALE_REPEAT ?? '') || (q ? 1 : 3));
  // `settleMs` keeps the sessions up past two hold times after the routes are in, to catch losses.
  const settleS = Number(process.env.BGP_RR_SETTLE_S ?? '') || 2 * SCALE_HOLD;
  const scale = (clients: number): CaseSizes => ({
    clients,
    prefixes: Math.min(clients, SCALE_ANNOUNCERS),
    hold: SCALE_HOLD,
    timeoutMs: 300_000,
    settleMs: settleS * 1000,
  });
  // BIRD needs minutes for 1,000 clients: it runs the smallest size only, as the peer figure.
  const plan: { name: ReflectorName; kind: CaseName; sizes: CaseSizes }[] = [];
  for (const kind of cases) {
    for (const name of reflectors) {
      if (kind === 'fanout') plan.push({ name, kind, sizes: fanout });
      else
        for (const n of name === 'BIRD' ? scaleSizes.slice(0, 1) : scaleSizes)
          for (let i = 0; i < (name === 'Tabby' && n === largest ? repeat : 1); i++)
            plan.push({ name, kind, sizes: scale(n) });
    }
  }
  const results: CaseResult[] = [];
  for (const { name, kind, sizes } of plan) {
    ctx.log(`${name}/${kind}: ${sizes.clients} clients, ${sizes.prefixes} prefixes ...`);
    const r = await runCase(ctx, name, kind, sizes);
    const downs = Object.entries(r.downReasons ?? {}).map(([why, n]) => `${n} x ${why}`);
    ctx.log(
      `${name}/${kind}: ${r.status}${r.fanoutSeconds !== undefined ? ` fan-out ${r.fanoutSeconds} s` : ''}${r.allEstablishedSeconds !== undefined ? `, all Established ${r.allEstablishedSeconds} s` : ''}${r.allRoutesSeconds !== undefined ? `, all routes ${r.allRoutesSeconds} s` : ''}, lost ${r.sessionsLost ?? '—'}, overflows ${r.listenOverflows ?? '—'}, peak RSS ${r.peakRssMb ?? '—'} MB, CPU ${r.cpuSeconds ?? '—'} s, loop max ${r.loopMaxMs ?? '—'} ms (${r.loopMaxWithDisconnectMs ?? '—'} with the disconnect)${r.reason ? ` (${r.reason})` : ''}${downs.length ? `; sessions down: ${downs.join(', ')}` : ''}`,
    );
    results.push(r);
  }
  const find = (n: ReflectorName, k: CaseName) => results.find((r) => r.reflector === n && r.case === k);
  const st = (r: CaseResult) => (r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason ?? ''}`.replace(/\|/g, '/'));
  const fanRows = [
    '| reflector | clients | prefixes | fan-out (s) | vs BIRD | peak RSS (MB) | vs BIRD | CPU s | worst loop stall (ms) | sessions lost | status |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  const birdFan = find('BIRD', 'fanout');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b ? `${(a / b).toFixed(2)}x` : '—';
  for (const r of results.filter((x) => x.case === 'fanout')) {
    const secs =
      r.status === 'ok' ? fmt(r.fanoutSeconds) : r.status === 'timeout' ? `> ${fanout.timeoutMs / 1000}` : '—';
    fanRows.push(
      `| ${r.reflector} | ${r.clients} | ${r.prefixes.toLocaleString('en-US')} | ${secs} | ${ratio(r.fanoutSeconds, birdFan?.fanoutSeconds)} | ${r.peakRssMb ?? '—'} | ${ratio(r.peakRssMb, birdFan?.peakRssMb)} | ${fmt(r.cpuSeconds, 1)} | ${r.loopMaxMs ?? '—'} | ${r.sessionsLost ?? '—'} | ${st(r)} |`,
    );
  }
  const scaleRows = [
    '| reflector | clients | routes reflected | all Established (s) | all routes in (s) | sessions lost | connects | listen overflows | peak RSS (MB) | CPU s | worst loop stall (ms) | with every client disconnecting (ms) | status |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results.filter((x) => x.case === 'scale')) {
    scaleRows.push(
      `| ${r.reflector} | ${r.clients.toLocaleString('en-US')} | ${r.prefixes.toLocaleString('en-US')} | ${fmt(r.allEstablishedSeconds)} | ${fmt(r.allRoutesSeconds)} | ${r.sessionsLost ?? '—'} | ${r.connectAttempts ?? '—'} | ${r.listenOverflows ?? '—'} | ${r.peakRssMb ?? '—'} | ${fmt(r.cpuSeconds, 1)} | ${r.loopMaxMs ?? '—'} | ${r.loopMaxWithDisconnectMs ?? '—'} | ${st(r)} |`,
    );
  }
  const tFan = find('Tabby', 'fanout');
  const tScale = results.filter((r) => r.reflector === 'Tabby' && r.case === 'scale' && r.clients === largest);
  const tabbyRuns = results.filter((r) => r.reflector === 'Tabby' && r.loopMaxMs !== undefined);
  const worstLoop = tabbyRuns.length ? Math.max(...tabbyRuns.map((r) => r.loopMaxMs!)) : undefined;
  const fanOk = fanoutVerdict(tFan, birdFan);
  const met: Record<string, boolean | null> = {
    fanoutUnderHalfOfBird:
      fanOk === null || !birdFan?.fanoutSeconds ? fanOk : fanOk && tFan!.fanoutSeconds! < 0.5 * birdFan.fanoutSeconds,
    fanoutRssAtMost1_5xBird:
      tFan?.peakRssMb !== undefined && birdFan?.peakRssMb ? tFan.peakRssMb <= 1.5 * birdFan.peakRssMb : null,
    scaleAllEstablishedIn10sNoneLost: tScale.length
      ? tScale.every((r) => r.status === 'ok' && r.sessionsLost === 0 && (r.allEstablishedSeconds ?? Infinity) <= 10)
      : null,
    loopNeverOver50ms: worstLoop === undefined ? null : worstLoop <= 50,
  };
  const verdict = (v: boolean | null | undefined) => (v == null ? 'not decided' : v ? '**met**' : '**NOT met**');
  const downLines = results
    .filter((r) => r.downReasons && Object.keys(r.downReasons).length)
    .map(
      (r) =>
        `- ${r.reflector}/${r.case}/${r.clients}: ${Object.entries(r.downReasons!)
          .map(([k, v]) => `${v} x ${k}`)
          .join('; ')}`,
    );
  const loads = results.flatMap((r) => [r.loadAvgBefore?.[0] ?? 0, r.loadAvgAfter?.[0] ?? 0]);
  const maxLoad = loads.length ? Math.max(...loads) : 0;
  const cpus = os.cpus().length;
  const versions = [...new Set(results.filter((r) => r.version).map((r) => `${r.reflector}: ${r.version}`))];
  const markdown = [
    q
      ? 'Quick mode: reduced sizes (fan-out 50 clients / 2,000 prefixes; scale 200 clients / 200 routes); the targets are meant for the full sizes and are only indicative here.\n'
      : '',
    '## Fan-out',
    '',
    ...fanRows,
    '',
    '## Session scale',
    '',
    ...scaleRows,
    '',
    `Targets (issue 20): fan-out under 0.5x BIRD's time: ${verdict(met.fanoutUnderHalfOfBird)}; fan-out peak RSS at most 1.5x BIRD's: ${verdict(met.fanoutRssAtMost1_5xBird)}; ${largest.toLocaleString('en-US')} clients all Established in 10 s or less, none lost (hold time ${SCALE_HOLD} s)${tScale.length > 1 ? `, in each of ${tScale.length} runs` : ''}: ${verdict(met.scaleAllEstablishedIn10sNoneLost)}; Tabby's event loop never held more than 50 ms: ${verdict(met.loopNeverOver50ms)}${worstLoop !== undefined ? ` (worst ${worstLoop} ms${tScale.length > 1 ? `; at ${largest.toLocaleString('en-US')} clients, run by run: ${tScale.map((r) => r.loopMaxMs ?? '—').join(', ')} ms` : ''})` : ''}.`,
    '',
    ...(downLines.length ? ['Sessions that went down:', '', ...downLines, ''] : []),
    '## How it is measured',
    '',
    `- The reflector (AS ${ASN}, cluster ID ${CLUSTER_ID}, every peer an iBGP route-reflector client, passive, IPv4 unicast, no kernel FIB) runs in one network namespace on ${RR_ADDR}/15: Tabby as \`node ${DAEMON_NODE_OPTIONS.join(' ')} packages/bgp/bin/bgpd.js\` (the options its shim's \`#!\` line gives Node) with \`clusterId\` and \`routeReflectorClient: true\` peers, BIRD 2 with one \`protocol bgp\` per client from a \`template bgp\` with \`direct; rr client; rr cluster id\`; both as users run them, with graceful restart on (restart time 120 s) and a named accept-all filter as each client's import and export policy. The clients do not advertise graceful restart, so a client that goes takes its routes at once. They run one after the other, each with fresh namespaces. Hold time ${HOLD} s (keepalive ${HOLD / 3} s) in the fan-out case, ${SCALE_HOLD} s (keepalive ${SCALE_HOLD / 3} s) in the scale case.`,
    `- The clients are lightweight sessions in one Node process (\`dist/bench/reflector-driver.js\`, built on @tabby/wire) in a second namespace (${CL_ADDR}/24 on its eth0), each from its own source address 198.19.0.1 upwards on that namespace's \`lo\`; the reflector namespace routes ${CLIENT_NET} via ${CL_ADDR}, so each side keeps one neighbour (ARP) entry however many clients there are, and the clients' addresses stay inside the reflector's connected /15 (single-hop sessions, next hops on a connected subnet). Each sends OPEN (4-octet AS, IPv4 unicast), KEEPALIVEs every third of the hold time, enforces the hold time on what the reflector sends, and counts the distinct prefixes it holds (announcements minus withdrawals); it answers nothing else. It reads an UPDATE's prefixes straight from its bytes and decodes one UPDATE in 64 in full as well (each session's first among them), attributes checked, the two readings required to agree: decoding all 10^7 UPDATEs of the 10,000-client case in full took about half the driver's CPU, on the cores it shares with the reflector.`,
    `- Fan-out: the driver connects every client, and 1 s after the last one is Established client 0 announces the prefixes (distinct /24s from 11.0.0.0, one attribute set, packed into 4,096-octet UPDATEs). Seconds: from writing the first UPDATE to the moment the last other client holds all of them (checked on every received UPDATE, ms precision).`,
    `- Session scale: every client connects at once; the first ${SCALE_ANNOUNCERS.toLocaleString('en-US')} (all of them when fewer) each announce 1 prefix as soon as their own session is Established, so the reflector sends every client the routes of the others (${SCALE_ANNOUNCERS.toLocaleString('en-US')} routes, one UPDATE each: each has its own ORIGINATOR_ID and next hop; one route from each of 10,000 clients would be 10^8 UPDATEs, more than the driver can decode on this machine). All Established: from the driver's first connect; all routes in: from the same start to every client holding every route but its own. Tabby runs the largest size ${repeat} time${repeat === 1 ? '' : 's'} (its worst loop stall varies from run to run; the targets must hold in every run). The sessions are then kept for ${settleS.toFixed(0)} s more. Sessions lost: a NOTIFICATION from the reflector (its hold timer expiring on our keepalives, or another error), the connection closed, or nothing received from the reflector for the hold time. Connects: TCP connections the driver opened (a refused or reset connection before Established is retried after 1 s, one with no OPEN in 240 s is dropped and retried). Listen overflows: the reflector namespace's \`TcpExtListenOverflows\` at the end of the case (handshakes the kernel dropped because the reflector's accept queue was full; the client retransmits, so these show up as slow session set-up). The namespace's \`net.core.somaxconn\` is left at the kernel's default.`,
    "- Peak RSS: VmHWM of the reflector process at the end (Tabby: the Node process; includes its start-up baseline). CPU s: its user+system time from the driver start to the end (including the settle time). Worst loop stall: Tabby's `show status` `event_loop_max_delay_ms` (Node's event-loop delay monitor from the daemon's first `show status`, just before the driver starts, running while the daemon has work; 10 ms resolution), asked when the driver ends, every client still up (the driver closes its sessions only once the answer is in); \"with every client disconnecting\": asked once more after the driver exited, all its sessions closed at once, and Tabby had no session left and nothing left to decide or export. The driver's own CPU time is in the JSON (`driverCpuSeconds`): it shares the 2 cores with the reflector.",
    `- Timeouts: fan-out ${fanout.timeoutMs / 1000} s, scale ${scale(1).timeoutMs / 1000} s per reflector and size.`,
    `- Machine load: ${cpus} CPUs; the 1-minute load average before/after the cases reached ${maxLoad.toFixed(1)}${maxLoad > cpus * 0.75 ? ' — other jobs were running at the same time, so absolute times are inflated and noisier than on an idle machine; the ratio within the run is more meaningful' : ''}.`,
    '',
    `Versions: ${versions.join('; ')}.`,
  ].join('\n');
  return {
    title: `bgp: route-reflector fan-out (${fanout.clients} clients, ${fanout.prefixes.toLocaleString('en-US')} prefixes) and session scale (${scaleSizes.map((n) => n.toLocaleString('en-US')).join(' / ')} clients), Tabby vs BIRD`,
    markdown,
    results: { fanout, scaleSizes, scaleHoldTime: SCALE_HOLD, settleSeconds: settleS, targetsMet: met, cases: results },
  };
}
