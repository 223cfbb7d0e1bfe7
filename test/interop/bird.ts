import { join } from 'node:path';
import { type Netns, waitFor } from '@tabby/test-helpers';
import { NsDaemon } from './ns-daemon.js';

/** A real BIRD 2 daemon in a namespace, driven through birdc. */
export class BirdDaemon extends NsDaemon {
  readonly socket = join(this.dir, 'bird.ctl');

  constructor(ns: Netns, config: string) {
    super(ns, 'bird', 'bird.conf', config);
  }

  async start(): Promise<void> {
    this.proc = this.ns.spawn(['bird', '-f', '-c', this.configFile, '-s', this.socket]);
    try {
      await waitFor(
        'bird control socket',
        async () => (await this.birdc('show status')).includes('Daemon is up'),
        30_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nbird output:\n${this.log}`);
    }
  }

  async birdc(command: string): Promise<string> {
    const r = await this.ns.exec(['birdc', '-s', this.socket, ...command.split(' ')], { allowFailure: true });
    return r.stdout;
  }

  /** Protocol state from `show protocols` (e.g. `Established`). */
  async protocolInfo(name: string): Promise<string> {
    const out = await this.birdc(`show protocols ${name}`);
    const line = out.split('\n').find((l) => l.startsWith(name));
    return line?.trim().split(/\s+/).slice(5).join(' ') ?? '';
  }

  /** `show route all` for one table, as text per prefix. */
  async routes(table = 'master4'): Promise<Map<string, string>> {
    const out = await this.birdc(`show route all table ${table}`);
    const map = new Map<string, string>();
    let cur = '';
    for (const line of out.split('\n')) {
      const m = /^([0-9a-f.:]+\/\d+)\s/.exec(line);
      if (m) {
        cur = m[1]!;
        map.set(cur, line);
      } else if (cur && /^\s/.test(line)) map.set(cur, `${map.get(cur)}\n${line}`);
    }
    return map;
  }
}
