import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const BGPD_BIN = join(repo, 'packages/bgp/bin/bgpd.js');
export const BGPCTL_BIN = join(repo, 'packages/bgpctl/bin/bgpctl.js');

/** A `tabby bgpd` process in a namespace, with its config file and control socket in a temp dir. */
export class TabbyDaemon {
  readonly dir = mkdtempSync(join(tmpdir(), 'tabby-bgpd-'));
  readonly socket = join(this.dir, 'bgpd.sock');
  readonly configFile = join(this.dir, 'bgpd.yaml');
  proc: NsProcess | null = null;

  constructor(
    readonly ns: Netns,
    config: string,
  ) {
    this.write(config);
  }

  write(config: string): void {
    writeFileSync(this.configFile, `controlSocket: ${this.socket}\n${config}`);
  }

  async start(extraArgs: string[] = []): Promise<void> {
    this.proc = this.ns.spawn([
      process.execPath,
      BGPD_BIN,
      '-c',
      this.configFile,
      '--log-level',
      'debug',
      ...extraArgs,
    ]);
    try {
      await waitFor(
        'bgpd control socket',
        async () => (await this.ctl(['show', 'status'], true)).exitCode === 0,
        10_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nbgpd output:\n${this.log}`);
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.kill(signal);
  }

  /** Runs bgpctl against this daemon (from the root namespace: the socket is a file). */
  ctl(args: string[], allowFailure = false) {
    return exec([process.execPath, BGPCTL_BIN, '-s', this.socket, ...args], { allowFailure });
  }

  async json<T>(...args: string[]): Promise<T> {
    const r = await this.ctl(['--json', ...args]);
    return JSON.parse(r.stdout) as T;
  }

  async peerState(name: string): Promise<string> {
    const s = await this.json<{ peers: { name: string; state: string }[] }>('show', 'summary');
    return s.peers.find((p) => p.name === name)?.state ?? 'missing';
  }

  async routes(): Promise<Map<string, Record<string, unknown>>> {
    const r = await this.json<{ routes: Record<string, unknown>[] }>('show', 'rib');
    return new Map(r.routes.filter((x) => x.best).map((x) => [x.prefix as string, x]));
  }

  get log(): string {
    return this.proc?.output ?? '';
  }
}
