import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClusterSource, ClusterView } from './model.js';

/** Default port of `--ui` without one. */
export const DEFAULT_UI_PORT = 8080;

export interface UiServerOptions {
  source: ClusterSource;
  /** 0: any free port. */
  port: number;
  /** Default 127.0.0.1: the page shows the cluster's routes to whoever reaches it. */
  host?: string;
  /** How often the source is read (ms); a change is pushed to every open page at once. */
  intervalMs?: number;
}

/** Open pages at most (each holds one event stream). */
const MAX_STREAMS = 64;

const STATIC: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/style.css': 'style.css',
};
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
};
// Same depth from src/ and dist/.
const STATIC_DIR = new URL('../static/', import.meta.url);

/**
 * Serves the cluster map: the page (`/`), the current view (`/api/view`), its changes as
 * server-sent events (`/api/events`: a `view` event per change, a `problem` event when the view
 * cannot be read and again when it can) and the path tracer
 * (`/api/trace?from=POD&to=POD[&family=6]`). Reads the source every `intervalMs` (or twice as
 * long as a read takes) while a page is open, one read at a time.
 */
export class UiServer {
  private server: Server | null = null;
  private streams = new Set<ServerResponse>();
  private current: ClusterView | null = null;
  private currentJson = '';
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  private stopped = false;
  private reading: Promise<void> | null = null;
  private lastReadMs = 0;
  private readonly files = new Map<string, Buffer>();

  constructor(private readonly opts: UiServerOptions) {
    for (const f of new Set(Object.values(STATIC))) this.files.set(f, readFileSync(new URL(f, STATIC_DIR)));
  }

  /** Listens and starts reading the source; resolves with the page's address. */
  async start(): Promise<string> {
    await this.read();
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    const host = this.opts.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new Error(
            err.code === 'EADDRINUSE'
              ? `the map's port ${this.opts.port} on ${host} is taken: pick another with --ui PORT`
              : `cannot serve the map on ${host}:${this.opts.port}: ${err.message}`,
          ),
        ),
      );
      server.listen(this.opts.port, host, () => resolve());
    });
    this.keepalive = setInterval(() => {
      for (const s of this.streams) s.write(': keepalive\n\n');
    }, 15_000);
    this.schedule();
    const port = (server.address() as AddressInfo).port;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** One read of the source at a time: a caller during a read waits for that one. */
  private read(): Promise<void> {
    this.reading ??= this.readOnce().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  /**
   * The next read, while a page watches (nothing is read for nobody); a slow read (a big lab)
   * stretches the interval to twice its time.
   */
  private schedule(): void {
    if (this.stopped) return;
    const delay = Math.max(this.opts.intervalMs ?? 250, 2 * this.lastReadMs);
    this.timer = setTimeout(async () => {
      if (this.streams.size) await this.read();
      this.schedule();
    }, delay);
  }

  private async readOnce(): Promise<void> {
    const started = performance.now();
    try {
      const view = await this.opts.source.view();
      this.problem('');
      const json = JSON.stringify(view);
      if (json !== this.currentJson) {
        this.current = view;
        this.currentJson = json;
        for (const s of this.streams) s.write(`event: view\ndata: ${json}\n\n`);
      }
    } catch (err) {
      this.problem((err as Error).message);
    }
    this.lastReadMs = performance.now() - started;
  }

  /** Tells open pages that the view cannot be read (and since when it can again: ''). */
  private problem(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    for (const s of this.streams) s.write(`event: problem\ndata: ${JSON.stringify({ error: message })}\n\n`);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'GET') return this.send(res, 405, { error: 'only GET' });
    const file = STATIC[url.pathname];
    if (file) {
      res.writeHead(200, { 'content-type': TYPES[file.split('.').pop()!]!, 'cache-control': 'no-cache' });
      res.end(this.files.get(file));
      return;
    }
    if (url.pathname === '/api/view') {
      if (!this.streams.size) await this.read(); // nobody watching: the last read may be old
      if (!this.current) return this.send(res, 503, { error: this.lastError || 'not read yet' });
      return this.send(res, 200, this.current);
    }
    if (url.pathname === '/api/events') return this.stream(res);
    if (url.pathname === '/api/trace') {
      const from = url.searchParams.get('from') ?? '';
      const to = url.searchParams.get('to') ?? '';
      const family = url.searchParams.get('family') === '6' ? 6 : 4;
      if (!from || !to) return this.send(res, 400, { error: 'name two pods: /api/trace?from=POD&to=POD' });
      try {
        return this.send(res, 200, { from, to, family, hops: await this.opts.source.trace(from, to, family) });
      } catch (err) {
        return this.send(res, 400, { error: (err as Error).message });
      }
    }
    this.send(res, 404, { error: `no page ${url.pathname}` });
  }

  private stream(res: ServerResponse): void {
    if (this.streams.size >= MAX_STREAMS) {
      this.send(res, 503, { error: 'too many open pages' });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`retry: 1000\n\n`);
    if (this.current) res.write(`event: view\ndata: ${this.currentJson}\n\n`);
    if (this.lastError) res.write(`event: problem\ndata: ${JSON.stringify({ error: this.lastError })}\n\n`);
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    // The first page after none: what was read last may be old.
    if (this.streams.size === 1) void this.read();
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/**
 * The port of `--ui [PORT]`: none given (an empty string) is DEFAULT_UI_PORT; undefined stays
 * undefined (no map). Throws a one-line error for anything but 0 to 65535.
 */
export function uiPort(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === '') return DEFAULT_UI_PORT;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--ui: ${JSON.stringify(String(value))} is no port (0 to 65535; 0 picks a free one)`);
  return port;
}

/**
 * Serves a lab's map on 127.0.0.1:`port` and says where; null (after saying why) when it cannot,
 * such as a port that is taken.
 */
export async function startMap(
  source: ClusterSource,
  port: number,
  io: { stdout: (s: string) => void; stderr: (s: string) => void },
): Promise<UiServer | null> {
  const server = new UiServer({ source, port });
  try {
    const url = await server.start();
    io.stdout(`Cluster map: ${url} (live; the path tracer is its second tab)\n`);
    return server;
  } catch (err) {
    await server.stop();
    io.stderr(`tabby lab: ${(err as Error).message}\n`);
    return null;
  }
}
