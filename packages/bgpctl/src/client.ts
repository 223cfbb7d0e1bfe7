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
  timer: NodeJS.Timeout;
}

/** Default time to wait for the speaker (connect, then each answer). */
export const DEFAULT_TIMEOUT_MS = 5000;

/** The longest answer accepted; a bigger one is refused rather than exhausting memory. */
const MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/** A connection to a speaker's control socket (newline-delimited JSON requests and responses). */
export class ControlClient {
  private nextId = 1;
  private waiting = new Map<number, Waiting>();
  /** The pieces of an answer line not yet complete, and their length. */
  private parts: string[] = [];
  private partLength = 0;
  private failed: ControlClientError | null = null;

  private constructor(
    private readonly sock: net.Socket,
    readonly path: string,
    private readonly timeoutMs: number,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('close', () =>
      this.fail(new ControlClientError('CLOSED', `the speaker closed the control socket ${path} before answering`)),
    );
    sock.on('error', () => {});
  }

  /** Connects, turning the usual failures into errors that say what to check. */
  static connect(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const sock = net.createConnection({ path });
      const timer = setTimeout(() => {
        sock.destroy();
        reject(new ControlClientError('TIMEOUT', `no answer on control socket ${path} within ${seconds(timeoutMs)}`));
      }, timeoutMs);
      sock.once('connect', () => {
        clearTimeout(timer);
        resolve(new ControlClient(sock, path, timeoutMs));
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

  /**
   * Sends one request and resolves with its result, or rejects with the speaker's error, with
   * TIMEOUT when no answer comes within the timeout, or with BAD_RESPONSE for an answer that is
   * not one.
   */
  request<T = unknown>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new ControlClientError(
            'TIMEOUT',
            `no answer to "${command}" from ${this.path} within ${seconds(this.timeoutMs)} (is the speaker stopped or overloaded? --timeout SECONDS waits longer)`,
          ),
        );
      }, this.timeoutMs);
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.sock.write(`${JSON.stringify({ id, command, args })}\n`);
    });
  }

  close(): void {
    for (const w of this.waiting.values()) clearTimeout(w.timer);
    this.waiting.clear();
    this.sock.destroy();
  }

  private onData(d: string): void {
    let from = 0;
    for (let nl = d.indexOf('\n'); nl >= 0; nl = d.indexOf('\n', from)) {
      this.parts.push(d.slice(from, nl));
      const line = this.parts.join('');
      this.parts = [];
      this.partLength = 0;
      from = nl + 1;
      this.onLine(line);
      if (this.failed) return;
    }
    if (from < d.length) {
      this.parts.push(d.slice(from));
      this.partLength += d.length - from;
      if (this.partLength > MAX_ANSWER_BYTES) {
        this.fail(
          new ControlClientError('BAD_RESPONSE', `an answer from ${this.path} is larger than 256 MiB: use --limit`),
        );
      }
    }
  }

  private onLine(line: string): void {
    const bad = (why: string) =>
      this.fail(new ControlClientError('BAD_RESPONSE', `unreadable answer from ${this.path}: ${why}`));
    let msg: unknown;
    try {
      msg = JSON.parse(line);
    } catch {
      bad('not JSON');
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      bad('not an object');
      return;
    }
    const m = msg as { id?: unknown; ok?: unknown; result?: unknown; error?: unknown };
    if (typeof m.id !== 'number' || typeof m.ok !== 'boolean') {
      bad('no "id" and "ok"');
      return;
    }
    const w = this.waiting.get(m.id);
    if (!w) {
      // An answer to nothing we asked (id 0: the speaker refused the connection or a request).
      if (m.id === 0 && !m.ok) this.fail(errorOf(m.error));
      return;
    }
    this.waiting.delete(m.id);
    clearTimeout(w.timer);
    if (m.ok) w.resolve(m.result);
    else w.reject(errorOf(m.error));
  }

  private fail(err: ControlClientError): void {
    this.failed ??= err;
    for (const w of this.waiting.values()) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.waiting.clear();
    this.sock.destroy();
  }
}

/** The speaker's error answer as a ControlClientError, whatever shape it came in. */
function errorOf(e: unknown): ControlClientError {
  const x = (e && typeof e === 'object' ? e : {}) as { code?: unknown; message?: unknown };
  const code = typeof x.code === 'string' ? x.code : 'ERROR';
  const message = typeof x.message === 'string' && x.message ? x.message : `the speaker refused the request (${code})`;
  return new ControlClientError(code, message);
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
