// BFD under a busy main thread: two endpoints on loopback at 100 ms x 3 while the main thread
// blocks in long slices (standing in for a full-table ingest or a control-socket flood). Measures
// the largest gap between packets sent (at the sender) and received (at the peer), and flaps, for
// sessions in a worker thread (BfdService) and, as the baseline, for the same engine on the main
// thread. Later: the 1M-prefix ingest and the 2,000-request control flood as the load.
import dgram from 'node:dgram';
import { systemClock } from '../clock.js';
import { sessionConfig } from '../config.js';
import { BfdEngine, type SessionStatus } from '../engine.js';
import { BfdService } from '../service.js';
import { UdpTransport } from '../udp-transport.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

const TIMERS = { minTxMs: 100, minRxMs: 100, multiplier: 3 } as const;

async function freePort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const p = s.address().port;
  s.close();
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Blocks the main thread in slices of `sliceMs`, yielding once between slices, for `totalMs`; churns memory. */
async function busy(totalMs: number, sliceMs: number): Promise<number> {
  const end = Date.now() + totalMs;
  let longest = 0;
  let keep: object[] = [];
  while (Date.now() < end) {
    const t = Date.now();
    while (Date.now() - t < sliceMs) {
      keep.push({ prefix: `198.18.${keep.length & 255}.0/24`, path: [65001, 65002, keep.length] });
      if (keep.length > 200_000) keep = [];
    }
    longest = Math.max(longest, Date.now() - t);
    await new Promise((r) => setImmediate(r));
  }
  return longest;
}

interface Row {
  where: string;
  maxTxGapMs: number;
  maxRxGapMs: number;
  flaps: number;
  detectTimeMs: number;
}

function row(where: string, s: SessionStatus[]): Row {
  return {
    where,
    maxTxGapMs: Math.max(...s.map((x) => x.maxTxGapMs)),
    maxRxGapMs: Math.max(...s.map((x) => x.maxRxGapMs)),
    flaps: s.reduce((n, x) => n + x.flaps, 0),
    detectTimeMs: Math.max(...s.map((x) => x.detectTimeMs)),
  };
}

const ready = (s: SessionStatus[]) =>
  s.length === 2 && s.every((x) => x.state === 'Up' && x.detectTimeMs === 300 && !x.pollActive);

async function inWorker(loadMs: number, sliceMs: number): Promise<Row> {
  const port = await freePort();
  const opts = { singleHopPort: port, singleHopSourceCheck: 'off' as const };
  const a = await BfdService.start(opts);
  const b = await BfdService.start(opts);
  try {
    a.request({ peer: '127.0.0.2', local: '127.0.0.1', ...TIMERS });
    b.request({ peer: '127.0.0.1', local: '127.0.0.2', ...TIMERS });
    const both = async () => [...(await a.sessions()), ...(await b.sessions())];
    await until('worker sessions Up', async () => ready(await both()));
    await busy(loadMs, sliceMs);
    return row('worker thread (BfdService)', await both());
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
}

async function onMainThread(loadMs: number, sliceMs: number): Promise<Row> {
  const port = await freePort();
  const make = () =>
    new BfdEngine({
      clock: systemClock,
      random: Math.random,
      onEvent: () => {},
      transport: (e) => new UdpTransport(e, { clock: systemClock, singleHopPort: port, singleHopSourceCheck: 'off' }),
    });
  const a = make();
  const b = make();
  try {
    a.add(1, sessionConfig({ peer: '127.0.0.2', local: '127.0.0.1', ...TIMERS }));
    b.add(1, sessionConfig({ peer: '127.0.0.1', local: '127.0.0.2', ...TIMERS }));
    const both = () => [...a.status(), ...b.status()];
    await until('main-thread sessions Up', () => ready(both()));
    await busy(loadMs, sliceMs);
    return row('main thread (baseline)', both());
  } finally {
    a.stop();
    b.stop();
  }
}

export default async function bench(ctx: Ctx) {
  const loadMs = ctx.quick ? 5_000 : 20_000;
  const sliceMs = 1_000;
  ctx.log(`100 ms x 3, main thread blocked in ${sliceMs} ms slices for ${loadMs / 1000} s`);
  const rows = [await inWorker(loadMs, sliceMs), await onMainThread(loadMs, sliceMs)];
  for (const r of rows)
    ctx.log(
      `${r.where}: largest gap sent ${r.maxTxGapMs.toFixed(1)} ms, received ${r.maxRxGapMs.toFixed(1)} ms, flaps ${r.flaps}`,
    );
  const table = rows
    .map(
      (r) =>
        `| ${r.where} | ${r.maxTxGapMs.toFixed(1)} | ${r.maxRxGapMs.toFixed(1)} | ${r.detectTimeMs} | ${r.flaps} |`,
    )
    .join('\n');
  return {
    title: 'BFD: largest packet gap with a busy main thread',
    markdown: `Two BFD endpoints on loopback at 100 ms x 3 (detection time 300 ms) while the main thread blocks in ${sliceMs} ms slices for ${loadMs / 1000} s, allocating as it goes.

| sessions run on | largest gap sent (ms) | largest gap received (ms) | detection time (ms) | flaps |
|---|---|---|---|---|
${table}
`,
    results: { loadMs, sliceMs, rows },
  };
}
