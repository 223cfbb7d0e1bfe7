import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ports `freePort` handed out lately, so two servers started together never get the same one. */
const handedOut = new Set<number>();

function kernelPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Asks the kernel for a free TCP port on `host` (bind to port 0, read it, close), never one this
 * process was handed in its last 1,000 calls.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await kernelPort(host);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (handedOut.size > 1000) handedOut.delete(handedOut.values().next().value as number);
    return port;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when something accepts TCP connections on `host`:`port`. */
export function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** A real server process on loopback that can be stopped and started again on the same port and data. */
export abstract class LoopbackServer {
  readonly host = '127.0.0.1';
  readonly dataDir: string;
  protected proc: ChildProcess | null = null;
  protected log = '';

  constructor(
    readonly port: number,
    kind: string,
  ) {
    this.dataDir = mkdtempSync(join(tmpdir(), `tabby-${kind}-`));
    servers.add(this);
  }

  protected abstract argv(): string[];
  protected abstract ready(): Promise<boolean>;

  get running(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Starts the server (again) and waits until it answers, up to 20 s. */
  async start(): Promise<void> {
    if (this.running) return;
    const [cmd, ...args] = this.argv();
    this.log = '';
    const proc = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc.stdout?.setEncoding('utf8').on('data', (d: string) => this.appendLog(d));
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => this.appendLog(d));
    this.proc = proc;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${cmd} exited during start-up:\n${this.log}`);
      if (await this.ready()) {
        // Another server on the port would answer too, while ours fails to bind and exits: make
        // sure ours is still up a moment later.
        await sleep(150);
        if (!this.running) throw new Error(`${cmd} exited during start-up:\n${this.log}`);
        return;
      }
      await sleep(50);
    }
    await this.kill();
    throw new Error(`${cmd} did not become ready on ${this.host}:${this.port} within 20 s:\n${this.log}`);
  }

  private appendLog(d: string): void {
    this.log = (this.log + d).slice(-20_000);
  }

  /** Graceful stop (SIGTERM), waiting for exit; data stays for a later `start()`. */
  stop(): Promise<void> {
    return this.signal('SIGTERM');
  }

  /** Abrupt stop (SIGKILL). */
  kill(): Promise<void> {
    return this.signal('SIGKILL');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and removes its data directory. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
    servers.delete(this);
  }

  /** Last lines the server printed (for failure messages). */
  get output(): string {
    return this.log;
  }
}

const servers = new Set<LoopbackServer>();
process.on('exit', () => {
  for (const s of servers) {
    try {
      (s as unknown as { proc: ChildProcess | null }).proc?.kill('SIGKILL');
      rmSync(s.dataDir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
});

/** A real `redis-server` on 127.0.0.1 with append-only persistence in a temp dir. */
export class RedisServer extends LoopbackServer {
  constructor(
    port: number,
    readonly password?: string,
  ) {
    super(port, 'redis');
  }

  get url(): string {
    return `redis://${this.password ? `:${encodeURIComponent(this.password)}@` : ''}${this.host}:${this.port}/0`;
  }

  protected argv(): string[] {
    const args = ['redis-server', '--bind', this.host, '--port', String(this.port), '--dir', this.dataDir];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no');
    if (this.password) args.push('--requirepass', this.password);
    return args;
  }

  protected ready(): Promise<boolean> {
    return tcpOpen(this.host, this.port);
  }
}

/** A real single-member `etcd` on 127.0.0.1 with its data in a temp dir. */
export class EtcdServer extends LoopbackServer {
  constructor(
    port: number,
    readonly peerPort: number,
  ) {
    super(port, 'etcd');
  }

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  get url(): string {
    return `etcd://${this.host}:${this.port}`;
  }

  protected argv(): string[] {
    const client = this.endpoint;
    const peer = `http://${this.host}:${this.peerPort}`;
    return [
      'etcd',
      '--name',
      'tabby-test',
      '--data-dir',
      this.dataDir,
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `tabby-test=${peer}`,
      '--log-level',
      'warn',
    ];
  }

  protected async ready(): Promise<boolean> {
    try {
      const res = await fetch(`${this.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      if (!res.ok) return false;
      const body = (await res.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  }
}

/**
 * Starts the server `make` builds on free ports. A port is free when picked, but another process
 * may bind it before the server does: a server that exits during start-up is built again on new
 * ports, three times at most.
 */
async function startOnFreePorts<T extends LoopbackServer>(make: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const srv = await make();
    try {
      await srv.start();
      return srv;
    } catch (err) {
      last = err;
      await srv.destroy();
      if (!(err instanceof Error) || !err.message.includes('exited during start-up')) throw err;
    }
  }
  throw last;
}

/** Starts a real Redis on a free loopback port. Call `destroy()` in `afterAll`. */
export function startRedis(opts: { password?: string } = {}): Promise<RedisServer> {
  return startOnFreePorts(async () => new RedisServer(await freePort(), opts.password));
}

/** Starts a real etcd on free loopback ports. Call `destroy()` in `afterAll`. */
export function startEtcd(): Promise<EtcdServer> {
  return startOnFreePorts(async () => new EtcdServer(await freePort(), await freePort()));
}
