import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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

  /** Freezes the process (SIGSTOP): it keeps its port and connections but answers nothing. */
  pause(): void {
    if (this.running) this.proc?.kill('SIGSTOP');
  }

  /** Thaws a paused process (SIGCONT). */
  resume(): void {
    if (this.running) this.proc?.kill('SIGCONT');
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

  /** Stops the server and removes its data directory and every saved copy of it. */
  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
    for (const c of this.copies) rmSync(c, { recursive: true, force: true });
    this.copies.clear();
    servers.delete(this);
  }

  /** Copies of the data directory made by `saveData`, removed by `destroy`. */
  readonly copies = new Set<string>();

  /**
   * Copies the data directory as it is now (stop the server first, so it is consistent) and
   * returns the copy's path, for `restoreData`: an operator's backup.
   */
  saveData(): string {
    if (this.running) throw new Error('saveData: stop the server first');
    const copy = mkdtempSync(`${this.dataDir}-copy-`);
    this.copies.add(copy);
    cpSync(this.dataDir, copy, { recursive: true });
    return copy;
  }

  /** Replaces the data directory with a copy from `saveData` (the server must be stopped). */
  restoreData(copy: string): void {
    this.wipeData();
    cpSync(copy, this.dataDir, { recursive: true });
  }

  /** Empties the data directory (the server must be stopped): it starts again with nothing. */
  wipeData(): void {
    if (this.running) throw new Error('wipeData: stop the server first');
    for (const name of readdirSync(this.dataDir)) rmSync(join(this.dataDir, name), { recursive: true, force: true });
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
      for (const c of s.copies) rmSync(c, { recursive: true, force: true });
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

/** Membership of an etcd server in a cluster of several (see `startEtcdCluster`). */
export interface EtcdMembership {
  /** This member's name (`--name`). */
  name: string;
  /** Every member as `name=http://127.0.0.1:peerPort`, comma-separated (`--initial-cluster`). */
  initialCluster: string;
  /** Unique per cluster, so members of two test clusters never join each other. */
  token: string;
}

/** A real `etcd` on 127.0.0.1 with its data in a temp dir: a single-member cluster unless `membership` says otherwise. */
export class EtcdServer extends LoopbackServer {
  readonly name: string;

  constructor(
    port: number,
    readonly peerPort: number,
    private readonly membership?: EtcdMembership,
  ) {
    super(port, 'etcd');
    this.name = membership?.name ?? 'tabby-test';
  }

  get endpoint(): string {
    return `http://${this.host}:${this.port}`;
  }

  get peerUrl(): string {
    return `http://${this.host}:${this.peerPort}`;
  }

  get url(): string {
    return `etcd://${this.host}:${this.port}`;
  }

  protected argv(): string[] {
    const client = this.endpoint;
    const peer = this.peerUrl;
    const args = ['etcd', '--name', this.name, '--data-dir', this.dataDir];
    args.push('--listen-client-urls', client, '--advertise-client-urls', client);
    args.push('--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer);
    args.push('--initial-cluster', this.membership?.initialCluster ?? `${this.name}=${peer}`);
    if (this.membership) args.push('--initial-cluster-token', this.membership.token);
    args.push('--log-level', 'warn');
    return args;
  }

  /** `/health` says true: the member has a leader (a member of a cluster without quorum is not healthy). */
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
 * A real etcd cluster of several members on loopback, for failover and quorum tests. Members are
 * stopped, killed and started again one by one (`members[i].kill()`, `.start()`); a member that
 * starts waits until it is healthy, so start members together when the cluster has no quorum.
 */
export class EtcdCluster {
  constructor(readonly members: EtcdServer[]) {}

  /** Client endpoints (`http://127.0.0.1:port`), in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => m.endpoint);
  }

  /** `etcd://127.0.0.1:p1,127.0.0.1:p2,...`: the URL a Tabby component is given. */
  get url(): string {
    return `etcd://${this.members.map((m) => `${m.host}:${m.port}`).join(',')}`;
  }

  /** Starts every member that is not running, together. */
  async start(): Promise<void> {
    await Promise.all(this.members.map((m) => m.start()));
  }

  /** Kills every member and removes every data directory. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((m) => m.destroy()));
  }

  /** Last lines of every member's output (for failure messages). */
  get output(): string {
    return this.members.map((m) => `--- ${m.name}\n${m.output}`).join('\n');
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

/**
 * Starts a real etcd cluster of `size` members (default 3) on free loopback ports and waits until
 * every member is healthy. Call `destroy()` in `afterAll`. A member that exits during start-up (a
 * port taken by someone else) makes the whole cluster start again on new ports, three times at
 * most; a cluster that fails to start is destroyed before the error is thrown.
 */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  let last: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ports = await Promise.all(Array.from({ length: size }, async () => [await freePort(), await freePort()]));
    const names = ports.map((_, i) => `tabby-m${i + 1}`);
    const initialCluster = ports.map(([, peer], i) => `${names[i]}=http://127.0.0.1:${peer}`).join(',');
    const token = `tabby-test-${process.pid}-${Date.now()}-${attempt}`;
    const cluster = new EtcdCluster(
      ports.map(
        ([port, peer], i) =>
          new EtcdServer(port as number, peer as number, { name: names[i] as string, initialCluster, token }),
      ),
    );
    try {
      await cluster.start();
      return cluster;
    } catch (err) {
      last = err;
      await cluster.destroy();
      if (!(err instanceof Error) || !err.message.includes('exited during start-up')) throw err;
    }
  }
  throw last;
}
