// A `tabby bgpd` under control-socket load, for the test that holds it to issue 15's bounds
// (control/control-load.test.ts) and for the loop-latency benchmark (control-load.bench.ts).
//
// The daemon runs as its own process from dist (bin/bgpd.js) and peers over real TCP on loopback
// (127.0.0.1, 127.0.0.2) with an in-process speaker that feeds it a table and holds the session
// with a short hold time. Load comes from clients that pipeline requests on the control socket; a
// sampler in a worker thread (its own event loop, so the load generators cannot delay it) sends
// `show summary` at a steady pace and times each answer.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { freePort, waitFor } from '@tabby/test-helpers';
import { parseConfig } from '../config/load.js';
import { daemonCommand } from '../node-options.js';
import { Speaker } from '../speaker.js';
import { tcpTransport } from '../transport.js';
import { BGPD_BIN, procStats } from './bench-daemon.js';

export interface LabOptions {
  /** Routes the feeder announces (distinct /32s from 198.19.0.0, then 198.18.0.0). */
  routes: number;
  /** Hold time of the session (s); the keepalive is a third of it. */
  holdTime: number;
}

/** One request on the control socket; resolves with the result, rejects with the error code. */
export function request(
  path: string,
  command: string,
  args: Record<string, unknown> = {},
  timeoutMs = 10_000,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path });
    const parts: string[] = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, command, args })}\n`));
    sock.on('data', (d: string) => {
      const nl = d.indexOf('\n');
      if (nl < 0) {
        parts.push(d);
        return;
      }
      parts.push(d.slice(0, nl));
      clearTimeout(timer);
      sock.destroy();
      const r = JSON.parse(parts.join('')) as { ok: boolean; result?: unknown; error?: { code: string } };
      if (r.ok) resolve(r.result);
      else reject(Object.assign(new Error(r.error?.code ?? 'ERROR'), { code: r.error?.code }));
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Route i of the feed: 198.19.0.0/32 upwards, then 198.18.0.0/32 upwards (131,072 in all). */
function prefix(i: number): string {
  const a = i < 65536 ? 0xc6130000 + i : 0xc6120000 + i - 65536;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
}

/** The daemon, its feeder, and their session. */
export class ControlLoadLab {
  private dir = mkdtempSync(join(tmpdir(), 'tabby-ctl-load-'));
  readonly socket = join(this.dir, 'bgpd.sock');
  daemon: ChildProcess | null = null;
  feeder: Speaker | null = null;
  /** What the daemon wrote (its log), for failure messages. */
  output = '';
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly opts: LabOptions) {}

  async start(): Promise<void> {
    const port = await freePort('127.0.0.1');
    const file = join(this.dir, 'bgpd.yaml');
    writeFileSync(
      file,
      `routerId: 198.18.0.1
asn: 64512
listen: { address: 127.0.0.1, port: ${port} }
controlSocket: ${this.socket}
gracefulRestart: { enabled: false }
peers:
  - { name: feeder, address: 127.0.0.2, asn: 64512, passive: true, holdTime: ${this.opts.holdTime} }
`,
    );
    // Development knob: extra Node options for the daemon, e.g. "--trace-gc" or "--cpu-prof".
    const nodeArgs = (process.env.BGP_CTL_LOAD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const [node, ...args] = daemonCommand(BGPD_BIN, nodeArgs);
    const child = spawn(node!, [...args, '-c', file, '--log-level', 'warn'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.daemon = child;
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitFor(
      'bgpd control socket',
      () => request(this.socket, 'show status', {}, 2000).then(Boolean),
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\nbgpd output:\n${this.output}`);
    });
    const feeder = new Speaker(
      parseConfig(`routerId: 198.18.0.2
asn: 64512
listen: { enabled: false }
gracefulRestart: { enabled: false }
peers:
  - { name: bgpd, address: 127.0.0.1, port: ${port}, asn: 64512, localAddress: 127.0.0.2, holdTime: ${this.opts.holdTime}, connectRetryTime: 1 }
`),
      { transport: tcpTransport },
    );
    this.feeder = feeder;
    for (let i = 0; i < this.opts.routes; i++) feeder.originate(prefix(i));
    await feeder.start();
    await waitFor(
      `${this.opts.routes} routes at bgpd`,
      async () => (await this.neighbor()).prefixes_received === this.opts.routes,
      60_000,
    );
  }

  /** The daemon's view of the session with the feeder. */
  async neighbor(): Promise<{ state: string; established_transitions: number; prefixes_received: number }> {
    return (await request(this.socket, 'show neighbor', { peer: 'feeder' })) as {
      state: string;
      established_transitions: number;
      prefixes_received: number;
    };
  }

  get pid(): number {
    return this.daemon?.pid ?? 0;
  }

  /** Peak and current memory, CPU seconds so far. */
  stats() {
    return procStats(this.pid);
  }

  get running(): boolean {
    return !!this.daemon && this.daemon.exitCode === null && this.daemon.signalCode === null;
  }

  /** Sends `signal` and resolves with the exit code and how long the exit took (ms). */
  async signal(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
    const t0 = performance.now();
    this.daemon?.kill(signal);
    const code = await this.exited;
    return { code, ms: performance.now() - t0 };
  }

  async stop(): Promise<void> {
    await this.feeder?.stop();
    if (this.running) {
      this.daemon!.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** What a load client does with the answers. */
export type Reader = 'disconnect' | 'read' | 'never';

/**
 * A client that writes `requests` pipelined `show rib` requests (limit `limit`) in one go, then:
 * `disconnect` goes at once; `read` reads every answer (counting lines and bytes) until the server
 * closes or `stop()`; `never` reads nothing and stays until `stop()`.
 */
export class Pipeliner {
  readonly sock: net.Socket;
  lines = 0;
  bytes = 0;
  closed = false;

  constructor(path: string, mode: Reader, requests = 2000, limit = 10_000) {
    const sock = net.createConnection({ path });
    this.sock = sock;
    sock.on('error', () => {});
    sock.on('close', () => {
      this.closed = true;
    });
    if (mode === 'never') sock.pause();
    else if (mode === 'read') {
      sock.setEncoding('utf8');
      sock.on('data', (d: string) => {
        this.bytes += d.length;
        for (let i = d.indexOf('\n'); i >= 0; i = d.indexOf('\n', i + 1)) this.lines += 1;
      });
    }
    let text = '';
    for (let i = 1; i <= requests; i++) {
      text += `${JSON.stringify({ id: i, command: 'show rib', args: { limit } })}\n`;
    }
    sock.write(text, () => {
      if (mode === 'disconnect') sock.destroy();
    });
  }

  stop(): void {
    this.sock.destroy();
  }
}

/** A client that sends `megabytes` of requests as fast as the server takes them, reading nothing. */
export function flood(path: string, megabytes: number): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    const chunk = `${JSON.stringify({ id: 1, command: 'show summary', args: {} })}\n`.repeat(25_000);
    let sent = 0;
    const done = () => {
      s.destroy();
      resolve(sent);
    };
    const more = () => {
      while (sent < megabytes * 2 ** 20) {
        sent += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', more);
          return;
        }
      }
      done();
    };
    s.on('error', done);
    s.once('connect', more);
  });
}

const SAMPLER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const { path, intervalMs } = workerData;
const samples = [];
// The sampler's own timeliness: how late a 10 ms timer of this thread fires (the machine's noise,
// not the daemon's).
const selfLate = [];
let tick = performance.now();
const heartbeat = setInterval(() => {
  const now = performance.now();
  selfLate.push(now - tick - 10);
  tick = now;
}, 10);
let stopping = false;
let sock;
let t0 = 0;
let id = 0;
let waitingFor = 0;
const connect = () => {
  sock = net.createConnection({ path });
  sock.setEncoding('utf8');
  let buf = '';
  sock.on('data', (d) => {
    buf += d;
    const nl = buf.indexOf('\\n');
    if (nl < 0) return;
    buf = buf.slice(nl + 1);
    samples.push(performance.now() - t0);
    waitingFor = 0;
    if (stopping) return finish();
    setTimeout(ask, intervalMs);
  });
  sock.on('error', () => {});
  sock.on('connect', ask);
};
const ask = () => {
  if (stopping) return finish();
  t0 = performance.now();
  waitingFor = ++id;
  sock.write(JSON.stringify({ id, command: 'show summary', args: {} }) + '\\n');
};
const finish = () => {
  // A request still unanswered counts with the time it has waited so far.
  if (waitingFor) samples.push(performance.now() - t0);
  clearInterval(heartbeat);
  sock.destroy();
  parentPort.postMessage({ samples, selfLate });
};
parentPort.on('message', () => {
  stopping = true;
  if (!waitingFor) finish();
  else setTimeout(finish, 5000);
});
connect();
`;

export interface Samples {
  /** Answer times of `show summary` (ms), in order. */
  samples: number[];
  /** How late the sampling thread's own 10 ms timer fired (ms): the machine's scheduling noise. */
  selfLate: number[];
}

/** Times `show summary` answers every `intervalMs` from a worker thread until `stop()`. */
export class Sampler {
  private readonly worker: Worker;
  private readonly result: Promise<Samples>;

  constructor(path: string, intervalMs = 50) {
    this.worker = new Worker(SAMPLER, { eval: true, workerData: { path, intervalMs } });
    this.result = new Promise((resolve, reject) => {
      this.worker.once('message', (m: Samples) => resolve(m));
      this.worker.once('error', reject);
    });
  }

  async stop(): Promise<Samples> {
    this.worker.postMessage('stop');
    const r = await this.result;
    await this.worker.terminate();
    return r;
  }
}

export function percentile(xs: number[], p: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
