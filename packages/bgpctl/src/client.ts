import net from 'node:net';

/** A failure talking to the speaker, with a message fit for one line on a terminal. */
export class ControlClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlClientError';
  }
}

interface Waiting {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** A connection to a speaker's control socket (newline-delimited JSON requests and responses). */
export class ControlClient {
  private nextId = 1;
  private waiting = new Map<number, Waiting>();
  private buf = '';

  private constructor(
    private readonly sock: net.Socket,
    readonly path: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () =>
      this.failAll(new ControlClientError('CLOSED', `the speaker closed the control socket ${path}`)),
    );
    sock.on('error', () => {});
  }

  /** Connects, turning the usual failures into errors that say what to check. */
  static connect(path: string, timeoutMs = 5000): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ControlClientError('TIMEOUT', `no answer on control socket ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(sock, path));
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const why =
          err.code === 'ENOENT'
            ? `no control socket at ${path}: is the speaker running? (pick another socket with -s PATH)`
            : err.code === 'ECONNREFUSED'
              ? `nothing is listening on ${path}: the speaker is not running (stale socket)`
              : err.code === 'EACCES'
                ? `permission denied on ${path}: run as root or as a member of the socket's group`
                : `cannot connect to ${path}: ${err.message}`;
        reject(new ControlClientError(err.code ?? 'CONNECT_FAILED', why));
      });
    });
  }

  /** Sends one request and resolves with its result, or rejects with the speaker's error. */
  request<T = unknown>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(`${JSON.stringify({ id, command, args })}\n`);
    });
  }

  close(): void {
    this.sock.end();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
      let msg: { id: number; ok: boolean; result?: unknown; error?: { code: string; message: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        this.failAll(new ControlClientError('BAD_RESPONSE', `unreadable answer from ${this.path}`));
        return;
      }
      const w = this.waiting.get(msg.id);
      if (!w) continue;
      this.waiting.delete(msg.id);
      if (msg.ok) w.resolve(msg.result);
      else w.reject(new ControlClientError(msg.error?.code ?? 'ERROR', msg.error?.message ?? 'request failed'));
    }
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}
