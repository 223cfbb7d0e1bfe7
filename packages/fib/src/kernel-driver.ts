import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnBound } from './child-process.js';
import { kernelPrefix } from './cidr.js';
import { RouteType } from './constants.js';
import { CommandFailedError, ReadBackError } from './errors.js';
import { parseBatchErrors, run } from './ip-command.js';
import { routeArgs } from './kernel-route.js';
import { type Logger, silentLogger } from './logger.js';
import type { RouteDriver, RouteOp, RouteOpFailure, TableEvent, TableSnapshot } from './route-driver.js';
import { RouteTextParser } from './route-text.js';

export interface KernelDriverOptions {
  /** Network namespace name (`ip -n NAME`); omitted: the namespace this process runs in. */
  netns?: string;
  /** Routing table number (default 254, main). */
  table?: number;
  /** Path of the `ip` binary (default `ip` on PATH). */
  ipPath?: string;
  logger?: Logger;
}

const TYPES_BY_TOKEN: Record<string, true> = {
  unicast: true,
  local: true,
  broadcast: true,
  anycast: true,
  multicast: true,
  blackhole: true,
  unreachable: true,
  prohibit: true,
  throw: true,
  nat: true,
};

/**
 * Parses one line of `ip -N monitor route` (`[Deleted ][TYPE ]DST ... [dev D] [table T] [proto P]`).
 * Returns undefined for continuation lines (ECMP next hops) and unparsable lines.
 */
export function parseMonitorLine(
  line: string,
):
  | { deleted: boolean; dst: string; protocol: number; dev: string | undefined; via: string | undefined; table: number }
  | undefined {
  if (!line || line.startsWith('\t') || line.startsWith(' ')) return undefined;
  const t = line.trim().split(/\s+/);
  let i = 0;
  const deleted = t[0] === 'Deleted';
  if (deleted) i++;
  const first = t[i];
  if (first !== undefined && (TYPES_BY_TOKEN[first] || /^\d+$/.test(first))) i++;
  let dst = t[i];
  if (!dst) return undefined;
  const v6 = line.includes(':');
  if (dst === 'default') dst = v6 ? '::/0' : '0.0.0.0/0';
  else if (!dst.includes('/')) dst = dst.includes(':') ? `${dst}/128` : `${dst}/32`;
  let protocol = 3;
  let dev: string | undefined;
  let via: string | undefined;
  let table = 254;
  for (let k = i + 1; k < t.length - 1; k++) {
    const v = t[k + 1]!;
    if (t[k] === 'proto') protocol = /^\d+$/.test(v) ? Number(v) : (PROTO_NAMES[v] ?? -1);
    else if (t[k] === 'dev') dev = v;
    else if (t[k] === 'via') via = v === 'inet' || v === 'inet6' ? t[k + 2] : v;
    else if (t[k] === 'table') table = /^\d+$/.test(v) ? Number(v) : v === 'main' ? 254 : v === 'local' ? 255 : -1;
  }
  return { deleted, dst, protocol, dev, via, table };
}

/** Lines per piece of `ip -batch` input. */
const BATCH_PIECE = 1000;

const PROTO_NAMES: Record<string, number> = { kernel: 2, boot: 3, static: 4, bird: 12, bgp: 186 };

/**
 * Route driver over iproute2: reads back with `ip -N route show` (plain text, streamed), writes with one
 * `ip -force -batch -` per apply (each line an atomic replace or delete), and watches with
 * `ip monitor route` and `ip monitor link`. No native code.
 */
export class KernelDriver implements RouteDriver {
  readonly kind = 'kernel';
  readonly netns: string | undefined;
  readonly table: number;
  private readonly ip: string;
  private readonly log: Logger;
  private readonly monitors = new Set<ChildProcess>();
  private closed = false;

  constructor(opts: KernelDriverOptions = {}) {
    this.netns = opts.netns;
    this.table = opts.table ?? 254;
    this.ip = opts.ipPath ?? 'ip';
    this.log = opts.logger ?? silentLogger;
  }

  /** argv for `ip [-n NS] ARGS`. */
  ipArgv(args: readonly string[]): string[] {
    return this.netns ? [this.ip, '-n', this.netns, ...args] : [this.ip, ...args];
  }

  async read(): Promise<TableSnapshot> {
    const table = String(this.table);
    // Plain text (`-N`: types, protocols and scopes as numbers) through a spool file, parsed by a
    // tight line parser while `ip` is still dumping: no JSON string of the whole table.
    const v4 = new RouteTextParser(false);
    const v6 = new RouteTextParser(true);
    const [, res6, links] = await Promise.all([
      run(this.ipArgv(['-4', '-N', 'route', 'show', 'table', table]), { spool: true, onStdout: (t) => v4.push(t) }),
      run(this.ipArgv(['-6', '-N', 'route', 'show', 'table', table]), {
        allowFailure: true,
        spool: true,
        onStdout: (t) => v6.push(t),
      }),
      run(this.ipArgv(['-json', 'link', 'show'])),
    ]);
    const routes = v4.end();
    if (res6.exitCode !== 0) {
      // An empty IPv6 table (or IPv6 disabled) is not an error.
      if (!/does not exist|not supported|Address family/i.test(res6.stderr))
        throw new ReadBackError(`IPv6 table ${table}`, res6.stderr.trim());
    } else for (const r of v6.end()) routes.push(r);
    let names: string[];
    try {
      names = (JSON.parse(links.stdout || '[]') as { ifname: string }[]).map((l) => l.ifname);
    } catch (err) {
      throw new ReadBackError('links', (err as Error).message);
    }
    return { routes, links: names };
  }

  /** The `ip -batch` line for one op. */
  batchLine(op: RouteOp): string {
    if (op.op === 'replace') return `route replace ${routeArgs(op.route, this.table)}`;
    const r = op.route;
    let s = `route del ${r.type === RouteType.Unicast ? '' : `${r.type} `}${kernelPrefix(r.dst)}`;
    if (r.metric !== undefined) s += ` metric ${r.metric}`;
    if (r.dev && !r.nextHops) s += ` dev ${r.dev}`;
    if (this.table !== 254) s += ` table ${this.table}`;
    return `${s} proto ${r.protocol}`;
  }

  /**
   * The batch input in pieces of `BATCH_PIECE` lines: no string of the whole batch, and lines that
   * die young instead of piling up for the garbage collector. They go into a spool file that `ip`
   * reads (or, without room for one, into its stdin as it takes them in).
   */
  private *batchText(ops: readonly RouteOp[]): Generator<string> {
    for (let i = 0; i < ops.length; i += BATCH_PIECE) {
      const end = Math.min(ops.length, i + BATCH_PIECE);
      const lines = new Array<string>(end - i);
      for (let k = i; k < end; k++) lines[k - i] = this.batchLine(ops[k]!);
      yield `${lines.join('\n')}\n`;
    }
  }

  async apply(ops: readonly RouteOp[]): Promise<RouteOpFailure[]> {
    if (ops.length === 0) return [];
    const res = await run(this.ipArgv(['-force', '-batch', '-']), {
      input: this.batchText(ops),
      spoolInput: true,
      allowFailure: true,
    });
    if (res.exitCode === 0) return [];
    const errors = parseBatchErrors(res.stderr);
    if (errors.size === 0)
      throw new CommandFailedError(this.ipArgv(['-force', '-batch', '-']), res.exitCode, res.stderr);
    const failures: RouteOpFailure[] = [];
    for (const [line, reason] of errors) {
      const op = ops[line - 1];
      if (!op) continue;
      // Deleting what is already gone reaches the goal.
      if (op.op === 'delete' && /No such process/.test(reason)) continue;
      failures.push({ op, reason });
    }
    return failures;
  }

  watch(onEvent: (ev: TableEvent) => void): () => void {
    // A monitor that died may have missed events: report it as a change, which forces a resync.
    const gap = (): void => onEvent({ kind: 'link' });
    const routeMon = this.startMonitor(
      ['-N', 'monitor', 'route'],
      (line) => {
        const p = parseMonitorLine(line);
        if (!p || p.table !== this.table) return;
        onEvent({ kind: 'route', deleted: p.deleted, dst: p.dst, protocol: p.protocol, dev: p.dev, via: p.via });
      },
      gap,
    );
    const linkMon = this.startMonitor(
      ['monitor', 'link'],
      (line) => {
        if (line && !line.startsWith(' ')) onEvent({ kind: 'link' });
      },
      gap,
    );
    return () => {
      routeMon();
      linkMon();
    };
  }

  private startMonitor(args: string[], onLine: (line: string) => void, onGap: () => void): () => void {
    let stopped = false;
    let child: ChildProcess | undefined;
    let backoffMs = 1000;
    let startedAt = 0;
    const start = (): void => {
      startedAt = Date.now();
      if (stopped || this.closed) return;
      const argv = this.ipArgv(args);
      const c = spawnBound(argv, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      this.monitors.add(c);
      c.on('error', (err) => this.log.warn({ err, argv }, 'ip monitor failed to start'));
      if (c.stdout) createInterface({ input: c.stdout }).on('line', onLine);
      c.on('exit', (code) => {
        this.monitors.delete(c);
        if (stopped || this.closed) return;
        // Back off while it keeps dying (e.g. the namespace is gone); reset after a healthy run.
        backoffMs = Date.now() - startedAt > 60_000 ? 1000 : Math.min(backoffMs * 2, 30_000);
        this.log.warn({ code, argv, retryMs: backoffMs }, 'ip monitor exited; restarting and resyncing');
        onGap();
        setTimeout(start, backoffMs).unref();
      });
    };
    start();
    return () => {
      stopped = true;
      if (child) {
        this.monitors.delete(child);
        child.kill('SIGTERM');
      }
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.monitors) c.kill('SIGTERM');
    this.monitors.clear();
  }
}
