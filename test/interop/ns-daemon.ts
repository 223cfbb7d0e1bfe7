import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Netns, NsProcess } from '@tabby/test-helpers';

/** A daemon run inside a namespace from a config file in its own temp dir. */
export abstract class NsDaemon {
  readonly dir: string;
  readonly configFile: string;
  proc: NsProcess | null = null;

  constructor(
    readonly ns: Netns,
    kind: string,
    configName: string,
    config: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `tabby-${kind}-`));
    this.configFile = join(this.dir, configName);
    this.write(config);
  }

  write(config: string): void {
    writeFileSync(this.configFile, config);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.proc?.kill(signal);
  }

  /** What the daemon printed (for failure messages). */
  get log(): string {
    return this.proc?.output ?? '';
  }
}
