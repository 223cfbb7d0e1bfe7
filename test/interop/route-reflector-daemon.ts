import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, type Netns, waitFor } from '@tabby/test-helpers';
import { NsDaemon } from './ns-daemon.js';
import { BGPCTL_BIN } from './tabby-daemon.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const RR_BIN = join(repo, 'packages/route-reflector/bin/tabby-rr.js');

/** A `tabby rr` process in a namespace, with its config file and control socket in a temp dir. */
export class TabbyRrDaemon extends NsDaemon {
  constructor(ns: Netns, config: string) {
    super(ns, 'rr', 'rr.yaml', config);
  }

  get socket(): string {
    return join(this.dir, 'rr.sock');
  }

  async start(extraArgs: string[] = []): Promise<void> {
    this.proc = this.ns.spawn([
      process.execPath,
      RR_BIN,
      '--config',
      this.configFile,
      '--socket',
      this.socket,
      '--log-level',
      'debug',
      ...extraArgs,
    ]);
    try {
      await waitFor('rr control socket', async () => (await this.ctl(['show', 'status'], true)).exitCode === 0, 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ntabby rr output:\n${this.log}`);
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
}
