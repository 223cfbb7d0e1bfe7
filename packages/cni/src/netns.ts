import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { CniError, CniErrorCode } from './errors.js';
import { type RunResult, run } from './exec.js';

const NAMED_DIRS = new Set(['/var/run/netns', '/run/netns']);

/**
 * A network namespace the plugin works in: the current one (the host, by default), a named one
 * (`ip netns` name, or a path under /run/netns or /var/run/netns), or any other path (for
 * example `/proc/<pid>/ns/net`), entered with `nsenter --net=PATH`.
 */
export class Netns {
  private constructor(
    /** `current`, `named` or `path`. */
    readonly kind: 'current' | 'named' | 'path',
    /** The bind-mount path (empty for the current namespace). */
    readonly path: string,
    /** The `ip netns` name (named namespaces only). */
    readonly name: string,
  ) {}

  /** The current namespace. */
  static current(): Netns {
    return new Netns('current', '', '');
  }

  /** From a name or a path; empty or undefined means the current namespace. */
  static from(spec: string | undefined): Netns {
    if (!spec) return Netns.current();
    if (!spec.includes('/')) return new Netns('named', `/run/netns/${spec}`, spec);
    if (NAMED_DIRS.has(dirname(spec))) return new Netns('named', spec, basename(spec));
    return new Netns('path', spec, '');
  }

  /** Whether the namespace exists (the current one always does). */
  exists(): boolean {
    return this.kind === 'current' || existsSync(this.path);
  }

  /** What `ip link ... netns X` accepts for this namespace, if anything: its name, or our PID for the current one. */
  get linkTarget(): string | undefined {
    if (this.kind === 'named') return this.name;
    if (this.kind === 'current') return String(process.pid);
    return undefined;
  }

  toString(): string {
    return this.kind === 'current' ? 'current network namespace' : `network namespace ${this.path}`;
  }

  /** argv that runs `argv` inside this namespace. */
  wrap(argv: readonly string[]): string[] {
    return this.kind === 'current' ? [...argv] : ['nsenter', `--net=${this.path}`, ...argv];
  }

  /** Runs `ip ARGS` in this namespace. */
  ip(args: readonly string[], opts: { allowFailure?: boolean; input?: string } = {}): Promise<RunResult> {
    const argv = this.kind === 'named' ? ['ip', '-n', this.name, ...args] : this.wrap(['ip', ...args]);
    return run(argv, opts);
  }

  /** Runs `ip -json ARGS` and parses the output (an empty output is `[]`). */
  async ipJson<T>(args: readonly string[]): Promise<T[]> {
    const { stdout } = await this.ip(['-json', ...args]);
    return stdout.trim() ? (JSON.parse(stdout) as T[]) : [];
  }

  /** Runs several `ip` commands in one `ip -batch -` process; fails on the first failing line. */
  async ipBatch(lines: readonly string[]): Promise<void> {
    if (!lines.length) return;
    await this.ip(['-batch', '-'], { input: `${lines.join('\n')}\n` });
  }

  /** Writes a sysctl under /proc/sys (path form: `net/ipv4/conf/cali1/proxy_arp`) in this namespace. */
  async sysctl(key: string, value: string): Promise<void> {
    if (key.includes('..')) throw new CniError(CniErrorCode.Internal, `bad sysctl key ${key}`);
    if (this.kind === 'current') {
      try {
        await writeFile(`/proc/sys/${key}`, value);
      } catch (err) {
        throw new CniError(CniErrorCode.InterfaceFailure, `cannot set /proc/sys/${key}: ${(err as Error).message}`);
      }
      return;
    }
    await run(this.wrap(['sh', '-c', `echo "$1" > "/proc/sys/$2"`, 'sysctl', value, key]));
  }

  /** Whether a link of that name exists here. */
  async linkExists(ifname: string): Promise<boolean> {
    const r = await this.ip(['-json', 'link', 'show', 'dev', ifname], { allowFailure: true });
    return r.exitCode === 0 && r.stdout.trim() !== '' && r.stdout.trim() !== '[]';
  }
}
