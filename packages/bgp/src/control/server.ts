import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { type Logger, silentLogger } from '../logger.js';
import { loopWatch } from '../loop-delay.js';
import { ControlError, type ControlResponse, ControlStream, LIMITS } from './protocol.js';

/** Answers one command: a value, a {@link ControlStream} for long listings, or a promise of either. */
export type ControlHandlerFn = (command: string, args: Record<string, unknown>) => unknown | Promise<unknown>;

export interface ControlServerOptions {
  /** Where handler bugs (`INTERNAL_ERROR`) are logged with their details. */
  logger?: Logger;
  /** Tighter limits (tests). */
  limits?: Partial<Record<keyof typeof LIMITS, number>>;
}

/** A request waiting for its turn, or an answer already decided (an error). */
type Job =
  | { id: number; command: string; args: Record<string, unknown> }
  | { id: number; error: { code: string; message: string } };

/** Text pulled from a stream before it is written (one socket write per chunk). */
const CHUNK = 64 * 1024;
/** The longest one client works before the next one gets a go, within a turn (ms). */
const SLICE_MS = 1;

class Client {
  readonly queue: Job[] = [];
  /** The bytes of a line not yet complete. */
  partial: Buffer[] = [];
  partialBytes = 0;
  /** The answer being produced: pieces to pull, and text pulled but not yet written. */
  stream: Iterator<string | undefined, void> | null = null;
  out = '';
  /** A handler's promise is awaited. */
  awaiting = false;
  /** The client does not read as fast as we write: 'drain' is awaited. */
  blocked = false;
  /** Ends a client that stays blocked for `maxStallMs`. */
  stallTimer: NodeJS.Timeout | undefined;
  /** Destroys a connection we ended if it has not closed within `LINGER_MS`. */
  lingerTimer: NodeJS.Timeout | undefined;
  /** No more requests come: the client half-closed or was refused; end once the queue is answered. */
  noMore = false;
  gone = false;
  inRing = false;

  constructor(readonly sock: net.Socket) {}

  /** Nothing to do for this client until a promise settles or it reads. */
  get waiting(): boolean {
    return this.awaiting || this.blocked;
  }
}

/** How long a connection we end may take to deliver its last answers before it is destroyed. */
const LINGER_MS = 1000;

/** Is something answering on this UNIX socket path? */
export function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function what(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

const REQUEST_KEYS = new Set(['id', 'command', 'args']);

/** A request line as a job: the request, or the error to answer it with. */
function parseRequest(line: string): Job {
  const bad = (id: number, message: string): Job => ({ id, error: { code: 'BAD_REQUEST', message } });
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return bad(0, 'the request is not JSON: send one object per line, {"id":1,"command":"show summary","args":{}}');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return bad(0, `a request is a JSON object {"id":1,"command":"show summary","args":{}}, not ${what(v)}`);
  }
  const r = v as Record<string, unknown>;
  const id = r.id ?? 0;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    return bad(0, `"id" must be a non-negative integer, not ${what(id)}`);
  }
  const extra = Object.keys(r).find((k) => !REQUEST_KEYS.has(k));
  if (extra !== undefined) return bad(id, `unknown request field ${JSON.stringify(extra.slice(0, 40))}`);
  if (typeof r.command !== 'string' || !r.command) return bad(id, 'the request has no "command" string');
  const args = r.args === undefined ? {} : r.args;
  if (args === null || typeof args !== 'object' || Array.isArray(args)) {
    return bad(id, `"args" must be an object, not ${what(args)}`);
  }
  return { id, command: r.command, args: args as Record<string, unknown> };
}

/**
 * Serves the control protocol on a UNIX socket (mode 0660).
 *
 * What a client can cost is bounded: a line is at most `maxLineBytes`, at most `maxPending`
 * requests wait per connection (one more is refused with TOO_MANY_REQUESTS and the connection is
 * closed once the others are answered), at most `maxClients` connections. Requests of one
 * connection are answered one at a time, in order. All clients share one scheduler: each turn of
 * the event loop gives them `turnMs` of work in all, round-robin, long listings a slice at a time
 * (see {@link ControlStream}), answers written as they are produced and only as fast as the client
 * reads them. The work of a client that left stops at its next slice.
 */
export class ControlServer {
  private server: net.Server | null = null;
  private readonly clients = new Set<Client>();
  private readonly ring: Client[] = [];
  private turnScheduled = false;
  private readonly limits: Record<keyof typeof LIMITS, number>;
  private readonly log: Logger;

  constructor(
    readonly path: string,
    private readonly handler: ControlHandlerFn,
    opts: ControlServerOptions = {},
  ) {
    this.limits = { ...LIMITS, ...opts.limits };
    this.log = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    if (existsSync(this.path)) {
      if (await socketInUse(this.path)) {
        throw new ControlError('SOCKET_IN_USE', `control socket ${this.path} is in use: is another speaker running?`);
      }
      unlinkSync(this.path);
    }
    const server = net.createServer({ allowHalfOpen: true }, (sock) => this.serve(sock));
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
    for (const c of this.clients) c.sock.destroy();
    this.ring.length = 0;
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  /** Connections, requests waiting, and answers being produced, right now. */
  stats(): { clients: number; pending: number; streaming: number } {
    let pending = 0;
    let streaming = 0;
    for (const c of this.clients) {
      pending += c.queue.length;
      if (c.stream) streaming += 1;
    }
    return { clients: this.clients.size, pending, streaming };
  }

  private serve(sock: net.Socket): void {
    loopWatch.busy();
    sock.on('error', () => sock.destroy());
    if (this.clients.size >= this.limits.maxClients) {
      const line = response(0, 'TOO_MANY_CLIENTS', `more than ${this.limits.maxClients} control connections at once`);
      sock.write(line, () => sock.destroy());
      return;
    }
    const c = new Client(sock);
    this.clients.add(c);
    sock.on('close', () => this.drop(c));
    sock.on('data', (b: Buffer) => {
      loopWatch.busy();
      this.onData(c, b);
    });
    sock.on('end', () => {
      c.noMore = true;
      this.wake(c);
    });
    sock.on('drain', () => {
      clearTimeout(c.stallTimer);
      if (!c.blocked) return;
      c.blocked = false;
      this.wake(c);
    });
  }

  private drop(c: Client): void {
    clearTimeout(c.stallTimer);
    clearTimeout(c.lingerTimer);
    c.gone = true;
    c.queue.length = 0;
    c.stream?.return?.();
    c.stream = null;
    c.out = '';
    this.clients.delete(c);
  }

  private onData(c: Client, b: Buffer): void {
    let start = 0;
    for (let nl = b.indexOf(10); nl >= 0 && !c.noMore; nl = b.indexOf(10, start)) {
      const piece = b.subarray(start, nl);
      start = nl + 1;
      if (c.partialBytes + piece.length > this.limits.maxLineBytes) {
        this.tooLong(c);
        return;
      }
      const line = c.partialBytes ? Buffer.concat([...c.partial, piece]) : piece;
      c.partial = [];
      c.partialBytes = 0;
      this.onLine(c, line.toString('utf8').trim());
    }
    if (c.noMore || start >= b.length) return;
    const rest = b.subarray(start);
    if (c.partialBytes + rest.length > this.limits.maxLineBytes) {
      this.tooLong(c);
      return;
    }
    c.partial.push(rest);
    c.partialBytes += rest.length;
  }

  private tooLong(c: Client): void {
    const max = this.limits.maxLineBytes;
    this.refuse(c, { id: 0, error: { code: 'REQUEST_TOO_LONG', message: `a request line is at most ${max} bytes` } });
  }

  private onLine(c: Client, line: string): void {
    if (!line) return;
    const job = parseRequest(line);
    if (c.queue.length + (c.stream || c.awaiting ? 1 : 0) >= this.limits.maxPending) {
      const message = `more than ${this.limits.maxPending} requests waiting on one connection: read the answers before sending more`;
      this.refuse(c, { id: job.id, error: { code: 'TOO_MANY_REQUESTS', message } });
      return;
    }
    c.queue.push(job);
    this.wake(c);
  }

  /**
   * Answers `job` (an error) after the requests already accepted, then closes. Nothing more is
   * read from the client: a flood of requests costs it a full socket buffer, not our CPU.
   */
  private refuse(c: Client, job: Job): void {
    c.queue.push(job);
    c.noMore = true;
    c.partial = [];
    c.partialBytes = 0;
    c.sock.pause();
    this.wake(c);
  }

  /**
   * Puts a client with work in the ring. One that was idle goes first: a short request (show
   * summary) is answered before the next slices of long listings, which go round at the back.
   */
  private wake(c: Client): void {
    if (c.gone || c.waiting || c.inRing) return;
    c.inRing = true;
    if (c.stream) this.ring.push(c);
    else this.ring.unshift(c);
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(() => this.turn());
  }

  /** One turn: up to `turnMs` of work for all clients, round-robin, a slice each. */
  private turn(): void {
    this.turnScheduled = false;
    const end = performance.now() + this.limits.turnMs;
    while (this.ring.length) {
      const c = this.ring.shift()!;
      c.inRing = false;
      this.step(c, Math.min(end, performance.now() + SLICE_MS));
      if (!c.gone && !c.waiting && (c.stream || c.queue.length)) {
        c.inRing = true;
        this.ring.push(c);
      }
      if (performance.now() >= end) break;
    }
    if (this.ring.length && !this.turnScheduled) {
      this.turnScheduled = true;
      setImmediate(() => this.turn());
    }
  }

  /** Works for `c` until `deadline`, or until it waits (for a promise or for the client to read). */
  private step(c: Client, deadline: number): void {
    while (!c.gone && !c.waiting) {
      if (c.stream) {
        if (!this.pull(c, deadline)) return;
        continue;
      }
      const job = c.queue.shift();
      if (!job) {
        if (c.noMore) this.end(c);
        return;
      }
      if ('error' in job) this.send(c, response(job.id, job.error.code, job.error.message));
      else this.run(c, job);
      if (performance.now() >= deadline) {
        // A client with nothing left to answer is not put back in the ring: end it now.
        if (c.noMore && !c.queue.length && !c.waiting && !c.stream && !c.gone) this.end(c);
        return;
      }
    }
  }

  private run(c: Client, job: { id: number; command: string; args: Record<string, unknown> }): void {
    let result: unknown;
    try {
      result = this.handler(job.command, job.args);
    } catch (err) {
      this.send(c, this.errorResponse(job, err));
      return;
    }
    if (!(result instanceof Promise)) {
      this.begin(c, job, result);
      return;
    }
    c.awaiting = true;
    result.then(
      (v) => {
        c.awaiting = false;
        if (c.gone) return;
        this.begin(c, job, v);
        this.wake(c);
      },
      (err) => {
        c.awaiting = false;
        if (c.gone) return;
        this.send(c, this.errorResponse(job, err));
        this.wake(c);
      },
    );
  }

  private begin(c: Client, job: { id: number; command: string }, result: unknown): void {
    if (result instanceof ControlStream) {
      c.stream = result.pieces;
      c.out = `{"id":${job.id},"ok":true,"result":`;
      return;
    }
    let line: string;
    try {
      line = `${JSON.stringify({ id: job.id, ok: true, result: result ?? null } satisfies ControlResponse)}\n`;
    } catch (err) {
      line = this.errorResponse(job, err);
    }
    this.send(c, line);
  }

  /** Pulls pieces of the current answer until the deadline; false when out of time or waiting. */
  private pull(c: Client, deadline: number): boolean {
    const it = c.stream!;
    for (let n = 1; ; n++) {
      let r: IteratorResult<string | undefined, void>;
      try {
        r = it.next();
      } catch (err) {
        // Half an answer is out: the line cannot be finished, so the connection goes.
        this.log.error({ err: (err as Error).stack ?? String(err) }, 'control: listing failed');
        c.sock.destroy();
        return false;
      }
      if (r.done) {
        c.stream = null;
        this.send(c, `${c.out}}\n`);
        c.out = '';
        return !c.waiting;
      }
      if (r.value) c.out += r.value;
      if (c.out.length >= CHUNK) {
        this.send(c, c.out);
        c.out = '';
        if (c.waiting) return false;
      }
      if (n % 32 === 0 && performance.now() >= deadline) return false;
    }
  }

  /** Writes; when the client does not keep up, waits for 'drain' before doing more for it. */
  private send(c: Client, text: string): void {
    if (c.gone || c.sock.destroyed) return;
    if (c.sock.write(text)) return;
    c.blocked = true;
    clearTimeout(c.stallTimer);
    c.stallTimer = setTimeout(() => {
      this.log.info({ stallMs: this.limits.maxStallMs }, 'control client left its answer unread: disconnected');
      c.sock.destroy();
    }, this.limits.maxStallMs);
    c.stallTimer.unref();
  }

  /** Everything is answered and no more requests come: close, even if the client does not. */
  private end(c: Client): void {
    if (c.sock.writableEnded) return;
    c.sock.end();
    c.lingerTimer = setTimeout(() => c.sock.destroy(), LINGER_MS);
    c.lingerTimer.unref();
  }

  private errorResponse(job: { id: number; command: string }, err: unknown): string {
    if (err instanceof ControlError) return response(job.id, err.code, err.message);
    this.log.error({ command: job.command, err: (err as Error)?.stack ?? String(err) }, 'control: request failed');
    return response(
      job.id,
      'INTERNAL_ERROR',
      `internal error answering "${job.command}"; the speaker's log has the details`,
    );
  }
}

function response(id: number, code: string, message: string): string {
  return `${JSON.stringify({ id, ok: false, error: { code, message } } satisfies ControlResponse)}\n`;
}
