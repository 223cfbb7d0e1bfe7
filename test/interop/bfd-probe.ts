import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SessionRequest, SessionStatus } from '@tabby/bfd';
import { type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';

const repo = fileURLToPath(new URL('../..', import.meta.url));
export const PROBE_BIN = join(repo, 'packages/bfd/dist/probe.js');

export interface ProbeEvent {
  event: 'state' | 'up' | 'down';
  id: number;
  from?: string;
  to?: string;
  diag?: number;
  reason?: string;
  remoteState?: string;
  at: number;
}

/** Tabby's BFD (a BfdService in `packages/bfd/dist/probe.js`) in a namespace, driven over its control socket. */
export class BfdProbe {
  readonly dir = mkdtempSync(join(tmpdir(), 'tabby-bfd-'));
  readonly socket = join(this.dir, 'bfd.sock');
  proc: NsProcess | null = null;

  constructor(readonly ns: Netns) {}

  async start(args: string[] = []): Promise<void> {
    this.proc = this.ns.spawn([process.execPath, PROBE_BIN, '--control', this.socket, ...args]);
    try {
      await waitFor('bfd probe control socket', async () => (await this.call({ cmd: 'status' })).ok, 20_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprobe output:\n${this.proc.output}`);
    }
  }

  /** One request, one answer line. */
  call(req: object): Promise<{ ok: boolean; [k: string]: unknown }> {
    return new Promise((resolve, reject) => {
      const c = net.createConnection(this.socket);
      let buf = '';
      c.setEncoding('utf8');
      c.on('error', reject);
      c.on('connect', () => c.write(`${JSON.stringify(req)}\n`));
      c.on('data', (d: string) => {
        buf += d;
        const i = buf.indexOf('\n');
        if (i >= 0) {
          c.end();
          resolve(JSON.parse(buf.slice(0, i)));
        }
      });
    });
  }

  async add(req: SessionRequest): Promise<number> {
    const r = await this.call({ cmd: 'add', req });
    if (!r.ok) throw new Error(`probe add failed: ${JSON.stringify(r)}`);
    return r.id as number;
  }

  async remove(id: number): Promise<void> {
    await this.call({ cmd: 'remove', id });
  }

  async sessions(): Promise<SessionStatus[]> {
    return (await this.call({ cmd: 'status' })).sessions as SessionStatus[];
  }

  async session(id: number): Promise<SessionStatus | undefined> {
    return (await this.sessions()).find((s) => s.id === id);
  }

  async events(): Promise<ProbeEvent[]> {
    return (await this.call({ cmd: 'events', since: 0 })).events as ProbeEvent[];
  }

  /** Blocks the probe's main thread (not its BFD worker) for `ms`. */
  async busy(ms: number): Promise<void> {
    await this.call({ cmd: 'busy', ms });
  }

  get log(): string {
    return this.proc?.output ?? '';
  }
}
