import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonCommand } from '@tabby/bgp';
import { exec, type Netns, waitFor } from '@tabby/test-helpers';
import { NsDaemon } from './ns-daemon.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const BGPD_BIN = join(repo, 'packages/bgp/bin/bgpd.js');
export const BGPCTL_BIN = join(repo, 'packages/bgpctl/bin/bgpctl.js');

/** A Tabby daemon with a control socket: bgpctl queries shared by bgpd and rr. */
export abstract class ControlledDaemon extends NsDaemon {
  abstract get socket(): string;

  /** Spawns `argv` and waits for its control socket to answer. */
  protected async spawnAndWait(what: string, argv: string[]): Promise<void> {
    this.proc = this.ns.spawn(argv);
    try {
      await waitFor(
        `${what} control socket`,
        async () => (await this.ctl(['show', 'status'], true)).exitCode === 0,
        30_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${what} output:\n${this.log}`);
    }
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
}

/** A `tabby bgpd` process in a namespace, with its config file and control socket in a temp dir. */
export class TabbyDaemon extends ControlledDaemon {
  constructor(ns: Netns, config: string) {
    super(ns, 'bgpd', 'bgpd.yaml', config);
  }

  get socket(): string {
    return join(this.dir, 'bgpd.sock');
  }

  override write(config: string): void {
    super.write(`controlSocket: ${this.socket}\n${config}`);
  }

  start(extraArgs: string[] = []): Promise<void> {
    return this.spawnAndWait('bgpd', [
      ...daemonCommand(BGPD_BIN),
      '-c',
      this.configFile,
      '--log-level',
      'debug',
      ...extraArgs,
    ]);
  }
}
