// A daemon a benchmark runs in a network namespace (Tabby, BIRD, FRR, GoBGP), with its memory and
// CPU read from /proc, and the Tabby control socket as a benchmark asks it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';

const repo = fileURLToPath(new URL('../../../..', import.meta.url));
export const BGPD_BIN = join(repo, 'packages/bgp/bin/bgpd.js');
/** The `tabby` command, as users run the speaker (`tabby bgpd`, see deploy/systemd). */
export const TABBY_BIN = join(repo, 'packages/cli/bin/tabby.js');

/** Memory and CPU of a daemon process, from /proc. */
export interface ProcStats {
  pid: number;
  comm: string;
  vmHwmKb: number;
  vmRssKb: number;
  cpuSeconds: number;
  /** Of which in the kernel (system time: page faults, syscalls). */
  sysSeconds: number;
  /** Minor page faults (each a first touch of a 4 KB page of memory). */
  minorFaults: number;
}

function readProc(pid: number, file: string): string | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return null;
  }
}

/**
 * The daemon's own pid: `ip netns exec` execs into the command, so the spawned pid is usually the
 * daemon itself; if it is still `ip` (or a wrapper), follow the first child whose name matches.
 */
export function daemonPid(pid: number, comm: string): number {
  let cur = pid;
  for (let depth = 0; depth < 4; depth++) {
    const c = readProc(cur, 'comm')?.trim();
    if (c === comm) return cur;
    const kids = (readProc(cur, `task/${cur}/children`) ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    if (!kids.length) break;
    cur = kids[0]!;
  }
  throw new Error(`no process named ${comm} under pid ${pid} (found ${readProc(pid, 'comm')?.trim() ?? 'none'})`);
}

export function procStats(pid: number): ProcStats | null {
  const status = readProc(pid, 'status');
  const stat = readProc(pid, 'stat');
  if (!status || !stat) return null;
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  // Fields after the `(comm)`: state is field 3, minflt 10, utime 14, stime 15 (in clock ticks).
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return {
    pid,
    comm: readProc(pid, 'comm')?.trim() ?? '',
    vmHwmKb: kb('VmHWM'),
    vmRssKb: kb('VmRSS'),
    cpuSeconds: ticks / 100,
    sysSeconds: Number(rest[12]) / 100,
    minorFaults: Number(rest[7]),
  };
}

/** One request on a newline-delimited JSON control socket (Tabby's bgpd); resolves with its result. */
export function controlRequest(path: string, command: string, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = net.createConnection({ path });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`control socket ${path}: no answer to "${command}" in ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify({ id: 1, command })}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.destroy();
      try {
        const r = JSON.parse(buf.slice(0, nl)) as { ok: boolean; result?: unknown; error?: { message: string } };
        if (r.ok) resolve(r.result);
        else reject(new Error(r.error?.message ?? 'control request failed'));
      } catch (err) {
        reject(err);
      }
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/**
 * A daemon a benchmark runs in a namespace (Tabby, BIRD, FRR or GoBGP): its own temporary folder,
 * started and waited for until `ready()`, its peak memory and CPU read from /proc, killed and
 * cleaned up by `stop()`.
 */
export abstract class BenchDaemon {
  readonly dir: string;
  proc: NsProcess | null = null;
  pid = 0;
  abstract readonly name: string;
  /** The daemon's process name in /proc/PID/comm. */
  protected abstract readonly comm: string;
  abstract version(): Promise<string>;
  protected abstract argv(): string[];
  protected abstract ready(): Promise<boolean>;
  protected stopSignal: NodeJS.Signals = 'SIGKILL';

  constructor(
    readonly ns: Netns,
    dirPrefix: string,
    private readonly readyTimeoutMs = 20_000,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), dirPrefix));
  }

  async start(): Promise<void> {
    const proc = this.ns.spawn(this.argv(), { env: { ...process.env, TZ: 'UTC' } });
    this.proc = proc;
    try {
      await waitFor(
        `${this.name} ready`,
        async () => {
          if (!proc.running) throw new Error(`${this.name} exited`);
          return this.ready();
        },
        this.readyTimeoutMs,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${this.name} output:\n${proc.output.slice(-2000)}`);
    }
    this.pid = daemonPid(proc.pid!, this.comm);
  }

  stats(): ProcStats | null {
    return this.pid ? procStats(this.pid) : null;
  }

  async stop(): Promise<void> {
    await this.proc?.kill(this.stopSignal);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
