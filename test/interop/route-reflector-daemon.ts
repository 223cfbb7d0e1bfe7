import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonCommand } from '@tabby/bgp';
import type { Netns } from '@tabby/test-helpers';
import { ControlledDaemon } from './tabby-daemon.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const RR_BIN = join(repo, 'packages/route-reflector/bin/tabby-rr.js');

/** A `tabby rr` process in a namespace, with its config file and control socket in a temp dir. */
export class TabbyRrDaemon extends ControlledDaemon {
  constructor(ns: Netns, config: string) {
    super(ns, 'rr', 'rr.yaml', config);
  }

  get socket(): string {
    return join(this.dir, 'rr.sock');
  }

  start(extraArgs: string[] = []): Promise<void> {
    const argv = [
      ...daemonCommand(RR_BIN),
      '--config',
      this.configFile,
      '--socket',
      this.socket,
      '--log-level',
      'debug',
    ];
    return this.spawnAndWait('tabby rr', [...argv, ...extraArgs]);
  }
}
