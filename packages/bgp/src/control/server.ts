import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { ControlError, type ControlRequest, type ControlResponse, MAX_REQUEST_BYTES } from './protocol.js';

export type ControlHandlerFn = (command: string, args: Record<string, unknown>) => unknown | Promise<unknown>;

/** Is something answering on this UNIX socket path? */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Serves the control protocol on a UNIX socket (mode 0660). Each client is read and answered on
 * its own; a slow or stuck client only delays itself, and answers are written with backpressure.
 */
export class ControlServer {
  private server: net.Server | null = null;
  private clients = new Set<net.Socket>();

  constructor(
    readonly path: string,
    private readonly handler: ControlHandlerFn,
  ) {}

  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketInUse(this.path)) {
        throw new ControlError('SOCKET_IN_USE', `control socket ${this.path} is in use: is another speaker running?`);
      }
      unlinkSync(this.path);
    }
    const server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, 0o660);
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.destroy();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private serve(sock: net.Socket): void {
    this.clients.add(sock);
    sock.on('close', () => this.clients.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    let chain = Promise.resolve();
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_REQUEST_BYTES) {
        sock.destroy();
        return;
      }
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
        if (!line) continue;
        chain = chain.then(() => this.answer(sock, line));
      }
    });
  }

  private async answer(sock: net.Socket, line: string): Promise<void> {
    let id = 0;
    let response: ControlResponse;
    try {
      const req = JSON.parse(line) as ControlRequest;
      id = typeof req.id === 'number' ? req.id : 0;
      if (typeof req.command !== 'string') throw new ControlError('BAD_REQUEST', 'request has no "command" string');
      const result = await this.handler(req.command, req.args ?? {});
      response = { id, ok: true, result: result ?? null };
    } catch (err) {
      const code =
        err instanceof ControlError ? err.code : err instanceof SyntaxError ? 'BAD_REQUEST' : 'INTERNAL_ERROR';
      response = { id, ok: false, error: { code, message: (err as Error).message } };
    }
    if (sock.destroyed) return;
    if (!sock.write(`${JSON.stringify(response)}\n`)) {
      await new Promise<void>((r) => {
        sock.once('drain', r);
        sock.once('close', r);
      });
    }
  }
}
