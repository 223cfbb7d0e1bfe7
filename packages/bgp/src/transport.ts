import net from 'node:net';
import { loopWatch } from './loop-delay.js';

/** One established byte stream to a peer (a TCP connection in production). */
export interface Connection {
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Queues bytes for sending. Returns false once the send buffer is above its high-water mark. */
  write(bytes: Uint8Array): boolean;
  /** Bytes queued but not yet handed to the kernel (the OutQ of `bgpctl show summary`). */
  readonly pendingBytes: number;
  /** Bytes handed to the kernel so far: it stops moving while the peer's TCP window is closed. */
  readonly sentBytes: number;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
  onData(cb: (chunk: Uint8Array) => void): void;
  /** Called once when the stream is gone, with the error that ended it, if any. */
  onClose(cb: (err?: Error) => void): void;
  onDrain(cb: () => void): void;
  /** Stop delivering data until `resume()` (flow control for slow processing). */
  pause(): void;
  resume(): void;
}

export interface ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  timeoutMs?: number;
}

export interface ListenOptions {
  host: string;
  port: number;
}

export interface Listener {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * How the speaker reaches the network. {@link tcpTransport} in production; {@link MemoryNetwork}
 * in tests, so sessions run in-process without sockets.
 */
export interface Transport {
  connect(opts: ConnectOptions): Promise<Connection>;
  listen(opts: ListenOptions, onConnection: (conn: Connection) => void): Promise<Listener>;
}

/** Strips the IPv4-mapped IPv6 prefix Node reports on dual-stack sockets. */
export function plainAddress(addr: string | undefined): string {
  if (!addr) return '';
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr;
}

/** How long connections are closed and their ends handled for, per turn of the event loop (ms; tests change it). */
export const closePacing = { ms: 2 };

/**
 * What happens as connections go, a few milliseconds' worth per turn of the event loop: closing a
 * socket whose peer sent its FIN (15 to 40 µs: the kernel sends our FIN, and takes it in at once
 * when the peer is on this host), and telling the session a socket closed (its end: the peer
 * goes down, its routes are dropped, a log line). 10,000 reflector clients leaving together held
 * the loop for a quarter of a second, with FINs; with resets (a client that closes with bytes
 * unread), Node closes each socket at once, and the sessions' ends alone held it 110-320 ms.
 * A job waits here a few turns at most.
 */
const going: (() => void)[] = [];
let goingHead = 0;
let goingScheduled = false;

function whenGoing(job: () => void): void {
  going.push(job);
  if (!goingScheduled) {
    goingScheduled = true;
    setImmediate(runGoing);
  }
}

function runGoing(): void {
  goingScheduled = false;
  const until = performance.now() + closePacing.ms;
  while (goingHead < going.length) {
    going[goingHead++]!();
    if (performance.now() >= until) break;
  }
  if (goingHead < going.length) {
    goingScheduled = true;
    setImmediate(runGoing);
  } else {
    going.length = 0;
    goingHead = 0;
  }
}

/** A read shorter than this took all the kernel had (Node reads up to 64 KB at once). */
const SHORT_READ = 16 * 1024;

/**
 * How long a connection stops reading after a short read (ms; 0: never; tests change it). Peers
 * such as BIRD write a full table an UPDATE (4 KB) at a time, a few milliseconds apart: read as it
 * comes, each one is a wakeup, a read and a turn of the work loop (decision, FIB feed, exports) of
 * its own. Resting lets what arrives meanwhile be read and handled at once: BIRD feeding a full
 * table took 0.35-0.43 CPU s, 0.25-0.32 with a rest of 5 ms. Only a peer sending a stream rests
 * (a short read within twice that of its last one): a peer that sends faster fills the reads and
 * never waits, and a lone message (a KEEPALIVE) is read at once. Resting connections are woken
 * WAKE_PER_TURN a turn.
 */
export const readPacing = { ms: 5 };

/** Connections woken per turn of the event loop (each then handles what it was sent meanwhile). */
const WAKE_PER_TURN = 256;

/** Connections resting after a short read; one timer wakes them, WAKE_PER_TURN a turn. */
const resting: TcpConnection[] = [];
let wakeScheduled = false;

function rest(c: TcpConnection): void {
  resting.push(c);
  if (!wakeScheduled) {
    wakeScheduled = true;
    setTimeout(wakeResting, readPacing.ms);
  }
}

function wakeResting(): void {
  for (const c of resting.splice(0, WAKE_PER_TURN)) c.wake();
  if (resting.length) setImmediate(wakeResting);
  else wakeScheduled = false;
}

/** Why a connection is not reading: its session paused it, or it rests after a short read. */
const HELD_BY_SESSION = 1;
const RESTING = 2;

class TcpConnection implements Connection {
  private written = 0;
  private held = 0;
  private lastShortRead = Number.NEGATIVE_INFINITY;
  constructor(private readonly socket: net.Socket) {
    loopWatch.busy();
    socket.setNoDelay(true);
    // The peer's FIN ends the session: the socket goes (see `whenGoing`). Sockets are made
    // half-open so that Node does not first end our side, which waits for our send queue to
    // empty: forever when the peer has stopped reading, and a shutdown per socket when 10,000
    // peers leave together.
    socket.on('end', () => {
      loopWatch.busy();
      whenGoing(() => socket.destroy());
    });
  }
  get localAddress() {
    return plainAddress(this.socket.localAddress);
  }
  get localPort() {
    return this.socket.localPort ?? 0;
  }
  get remoteAddress() {
    return plainAddress(this.socket.remoteAddress);
  }
  get remotePort() {
    return this.socket.remotePort ?? 0;
  }
  get pendingBytes() {
    return this.socket.destroyed ? 0 : this.socket.writableLength;
  }
  get sentBytes() {
    return this.written - this.pendingBytes;
  }
  write(bytes: Uint8Array): boolean {
    if (this.socket.destroyed) return false;
    this.written += bytes.length;
    return this.socket.write(bytes);
  }
  end(): void {
    this.socket.end();
  }
  destroy(): void {
    this.socket.destroy();
  }
  onData(cb: (chunk: Uint8Array) => void): void {
    this.socket.on('data', (chunk: Uint8Array) => {
      loopWatch.busy();
      cb(chunk);
      // Short, and the last of what Node had read (a rest begins only once all of it is handled).
      if (chunk.length >= SHORT_READ || this.socket.readableLength > 0 || readPacing.ms <= 0) return;
      if ((this.held & RESTING) !== 0) return;
      // Only a peer that is sending a stream rests: a short read soon after the last one.
      const now = performance.now();
      const streaming = now - this.lastShortRead < 2 * readPacing.ms;
      this.lastShortRead = now;
      if (streaming) {
        this.hold(RESTING);
        rest(this);
      }
    });
  }
  onClose(cb: (err?: Error) => void): void {
    let error: Error | undefined;
    this.socket.on('error', (err) => {
      error = err;
    });
    this.socket.once('close', () => {
      loopWatch.busy();
      whenGoing(() => cb(error));
    });
  }
  onDrain(cb: () => void): void {
    this.socket.on('drain', cb);
  }
  pause(): void {
    this.hold(HELD_BY_SESSION);
  }
  resume(): void {
    this.release(HELD_BY_SESSION);
  }
  /** The rest after a short read is over. */
  wake(): void {
    this.release(RESTING);
  }
  private hold(why: number): void {
    if (this.held === 0) this.socket.pause();
    this.held |= why;
  }
  private release(why: number): void {
    if (this.held === 0) return;
    this.held &= ~why;
    if (this.held === 0 && !this.socket.destroyed) this.socket.resume();
  }
}

/** Real TCP through `node:net`. */
export const tcpTransport: Transport = {
  connect(opts) {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({
        host: opts.host,
        port: opts.port,
        allowHalfOpen: true,
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(Object.assign(new Error(`connect to ${opts.host}:${opts.port} timed out`), { code: 'ETIMEDOUT' }));
      }, opts.timeoutMs ?? 30_000);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TcpConnection(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      });
    });
  },
  async listen(opts, onConnection) {
    try {
      return await listenTcp(opts, onConnection);
    } catch (err) {
      // '::' (dual stack) on a host without IPv6: fall back to IPv4 only.
      const code = (err as NodeJS.ErrnoException).code;
      if (opts.host === '::' && (code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL')) {
        return listenTcp({ ...opts, host: '0.0.0.0' }, onConnection);
      }
      throw err;
    }
  },
};

/** The accept queue asked for (the kernel takes the smaller of it and net.core.somaxconn). */
const LISTEN_BACKLOG = 65_535;

function listenTcp(opts: ListenOptions, onConnection: (conn: Connection) => void): Promise<Listener> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => onConnection(new TcpConnection(socket)));
    server.once('error', reject);
    // The kernel caps the accept queue at net.core.somaxconn (4,096 by default): asking for more
    // costs nothing and lets a host that raised it take 10,000 reflector clients' handshakes at once.
    server.listen({ host: opts.host, port: opts.port, backlog: LISTEN_BACKLOG }, () => {
      server.removeListener('error', reject);
      const addr = server.address() as net.AddressInfo;
      resolve({
        host: plainAddress(addr.address),
        port: addr.port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
          }),
      });
    });
  });
}

/** One end of an in-memory connection. Delivery is asynchronous, as over TCP. */
class MemoryConnection implements Connection {
  peer!: MemoryConnection;
  private dataCbs: ((c: Uint8Array) => void)[] = [];
  private closeCbs: ((err?: Error) => void)[] = [];
  private queued: Uint8Array[] = [];
  private closed = false;
  pendingBytes = 0;
  private written = 0;

  get sentBytes(): number {
    return this.written - this.pendingBytes;
  }

  constructor(
    readonly localAddress: string,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    this.queued.push(Uint8Array.from(bytes));
    this.pendingBytes += bytes.length;
    this.written += bytes.length;
    if (this.queued.length === 1) queueMicrotask(() => this.flush());
    return true;
  }

  private flush(): void {
    const chunks = this.queued;
    this.queued = [];
    this.pendingBytes = 0;
    for (const c of chunks) if (!this.peer.closed) for (const cb of this.peer.dataCbs) cb(c);
  }

  end(): void {
    queueMicrotask(() => {
      this.flush();
      this.shut();
    });
  }

  destroy(): void {
    this.queued = [];
    this.pendingBytes = 0;
    this.shut();
  }

  private shut(): void {
    if (this.closed) return;
    this.closed = true;
    queueMicrotask(() => {
      for (const cb of this.closeCbs) cb();
      this.peer.shut();
    });
  }

  onData(cb: (chunk: Uint8Array) => void): void {
    this.dataCbs.push(cb);
  }
  onClose(cb: (err?: Error) => void): void {
    this.closeCbs.push(cb);
  }
  onDrain(_cb: () => void): void {
    // An in-memory write never reports backpressure.
  }
  pause(): void {
    // In-memory delivery is already chunked by the writer.
  }
  resume(): void {}
}

/**
 * An in-process network: speakers listen on and connect to address/port pairs that exist only in
 * this object. Connecting to nothing fails with ECONNREFUSED, as TCP would.
 */
export class MemoryNetwork {
  private listeners = new Map<string, (c: Connection) => void>();
  private nextPort = 40000;

  /** A transport whose outgoing connections come from `localAddress`. */
  transport(localAddress: string): Transport {
    return {
      connect: async (opts) => {
        const onConn = this.listeners.get(`${opts.host}:${opts.port}`);
        if (!onConn) {
          throw Object.assign(new Error(`connect ECONNREFUSED ${opts.host}:${opts.port}`), { code: 'ECONNREFUSED' });
        }
        const src = opts.localAddress ?? localAddress;
        const srcPort = this.nextPort++;
        const a = new MemoryConnection(src, srcPort, opts.host, opts.port);
        const b = new MemoryConnection(opts.host, opts.port, src, srcPort);
        a.peer = b;
        b.peer = a;
        queueMicrotask(() => onConn(b));
        return a;
      },
      listen: async (opts, onConnection) => {
        const host = opts.host === '0.0.0.0' || opts.host === '::' ? localAddress : opts.host;
        const port = opts.port || this.nextPort++;
        const key = `${host}:${port}`;
        if (this.listeners.has(key)) throw Object.assign(new Error(`listen EADDRINUSE ${key}`), { code: 'EADDRINUSE' });
        this.listeners.set(key, onConnection);
        return {
          host,
          port,
          close: async () => {
            this.listeners.delete(key);
          },
        };
      },
    };
  }
}
