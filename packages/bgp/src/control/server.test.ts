import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ControlError, ControlStream, type LIMITS } from './protocol.js';
import { ControlServer } from './server.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'tabby-ctl-')), 'bgpd.sock');
}

/** Sends raw lines and collects `n` response lines. */
function talk(path: string, lines: string[], n: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    let buf = '';
    const out: unknown[] = [];
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (out.length >= n) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
    s.write(lines.map((l) => `${l}\n`).join(''));
  });
}

async function start(
  handler: ConstructorParameters<typeof ControlServer>[1],
  limits: Partial<Record<keyof typeof LIMITS, number>> = {},
): Promise<ControlServer> {
  const srv = new ControlServer(socketPath(), handler, { limits });
  await srv.start();
  servers.push(srv);
  return srv;
}

describe('ControlServer', () => {
  it('answers requests in order with ids, results and coded errors, on a 0660 socket', async () => {
    const srv = await start((command, args) => {
      if (command === 'echo') return args;
      throw new ControlError('UNKNOWN_COMMAND', `unknown command "${command}"`);
    });
    expect(statSync(srv.path).mode & 0o777).toBe(0o660);
    const out = await talk(
      srv.path,
      ['{"id":1,"command":"echo","args":{"x":1}}', '{"id":2,"command":"nope"}', 'not json'],
      3,
    );
    expect(out).toEqual([
      { id: 1, ok: true, result: { x: 1 } },
      { id: 2, ok: false, error: { code: 'UNKNOWN_COMMAND', message: 'unknown command "nope"' } },
      { id: 0, ok: false, error: expect.objectContaining({ code: 'BAD_REQUEST' }) },
    ]);
  });

  it('keeps answering other clients while one request is stuck', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const srv = await start(async (command) => {
      if (command === 'slow') await stuck;
      return command;
    });
    const slow = talk(srv.path, ['{"id":1,"command":"slow"}'], 1);
    const fast = await talk(srv.path, ['{"id":7,"command":"fast"}'], 1);
    expect(fast).toEqual([{ id: 7, ok: true, result: 'fast' }]);
    release();
    expect(await slow).toEqual([{ id: 1, ok: true, result: 'slow' }]);
  });

  it('replaces a stale socket file but refuses one that is in use', async () => {
    const first = await start(() => 'one');
    const second = new ControlServer(first.path, () => 'two');
    await expect(second.start()).rejects.toMatchObject({ code: 'SOCKET_IN_USE' });
    await first.stop();
    servers.length = 0;
    // A daemon killed with SIGKILL leaves its socket file behind with nobody listening.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(first.path)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(first.path)).toBe(true);
    const third = await start(() => 'three');
    expect(await talk(third.path, ['{"id":1,"command":"x"}'], 1)).toEqual([{ id: 1, ok: true, result: 'three' }]);
  });
});

/** A client that writes raw text and collects answer lines until the server closes or `n` arrive. */
function raw(path: string) {
  const s = net.createConnection({ path });
  const lines: Record<string, unknown>[] = [];
  let closed = false;
  s.setEncoding('utf8');
  const parts: string[] = [];
  s.on('data', (d: string) => {
    // Only the new text is searched: an answer can be tens of megabytes.
    let from = 0;
    for (let nl = d.indexOf('\n'); nl >= 0; nl = d.indexOf('\n', from)) {
      parts.push(d.slice(from, nl));
      lines.push(JSON.parse(parts.join('')));
      parts.length = 0;
      from = nl + 1;
    }
    if (from < d.length) parts.push(d.slice(from));
  });
  s.on('error', () => {});
  s.on('close', () => {
    closed = true;
  });
  return { s, lines, closed: () => closed };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('ControlServer: requests are checked', () => {
  it('answers anything that is not a request object with BAD_REQUEST, never INTERNAL_ERROR', async () => {
    const srv = await start((command, args) => ({ command, args }));
    const bad = [
      'null',
      '[]',
      '5',
      '"show summary"',
      'true',
      '{"id":-1,"command":"x"}',
      '{"id":"1","command":"x"}',
      '{"id":1}',
      '{"id":1,"command":7}',
      '{"id":1,"command":"x","args":null}',
      '{"id":1,"command":"x","args":[1]}',
      '{"id":1,"command":"x","args":"a"}',
      '{"id":1,"command":"x","extra":1}',
      '{"id":1,"command":"x"',
    ];
    const out = (await talk(srv.path, [...bad, '{"id":9,"command":"ok"}'], bad.length + 1)) as Record<
      string,
      unknown
    >[];
    expect(out.slice(0, -1).map((r) => (r.error as { code: string } | undefined)?.code ?? JSON.stringify(r))).toEqual(
      bad.map(() => 'BAD_REQUEST'),
    );
    expect(out.at(-1)).toEqual({ id: 9, ok: true, result: { command: 'ok', args: {} } });
  });

  it('turns a handler bug into INTERNAL_ERROR without its JavaScript message, and logs it', async () => {
    const logged: unknown[] = [];
    const log = { debug() {}, info() {}, warn() {}, error: (o: object) => logged.push(o) };
    const srv = new ControlServer(
      socketPath(),
      () => {
        throw new TypeError("Cannot read properties of undefined (reading 'x')");
      },
      { logger: log },
    );
    await srv.start();
    servers.push(srv);
    const [r] = (await talk(srv.path, ['{"id":1,"command":"show summary"}'], 1)) as {
      id: number;
      error: { code: string; message: string };
    }[];
    expect(r).toMatchObject({ id: 1, ok: false, error: { code: 'INTERNAL_ERROR' } });
    expect(r!.error.message).not.toContain('Cannot read');
    expect(logged).toHaveLength(1);
  });
});

describe('ControlServer: what one client can cost is bounded', () => {
  it('refuses a line longer than the limit and closes, without buffering it', async () => {
    const srv = await start(() => 'x');
    const c = raw(srv.path);
    c.s.write('{"id":1,"command":"a"}\n');
    c.s.write(`{"id":2,"command":"${'a'.repeat(70_000)}`);
    await until('closed', c.closed);
    expect(c.lines).toEqual([
      { id: 1, ok: true, result: 'x' },
      { id: 0, ok: false, error: { code: 'REQUEST_TOO_LONG', message: 'a request line is at most 65536 bytes' } },
    ]);
  });

  it('answers up to 64 pipelined requests, refuses the next with TOO_MANY_REQUESTS, then closes', async () => {
    const srv = await start((command) => command);
    const c = raw(srv.path);
    c.s.write(Array.from({ length: 2000 }, (_, i) => `{"id":${i + 1},"command":"c${i + 1}"}\n`).join(''));
    await until('closed', c.closed);
    expect(c.lines.length).toBeGreaterThanOrEqual(65);
    const last = c.lines.at(-1) as { id: number; error: { code: string } };
    expect(last.error.code).toBe('TOO_MANY_REQUESTS');
    // Everything before the refusal is answered, in order.
    expect(c.lines.slice(0, -1)).toEqual(
      c.lines.slice(0, -1).map((_, i) => ({ id: i + 1, ok: true, result: `c${i + 1}` })),
    );
    // The client can see the close before the server has handled its own side of it.
    await until('the server let the client go', () => srv.stats().clients === 0);
    expect(srv.stats()).toEqual({ clients: 0, pending: 0, streaming: 0 });
  });

  it('keeps no timer for a client once it has gone', async () => {
    const srv = await start((command) => command);
    const set = vi.spyOn(globalThis, 'setTimeout');
    const clear = vi.spyOn(globalThis, 'clearTimeout');
    try {
      // Each client half-closes once answered: the server ends its side and lets it go.
      for (let i = 0; i < 20; i++) await talk(srv.path, ['{"id":1,"command":"c"}'], 1);
      await until('the server let the clients go', () => srv.stats().clients === 0);
      const cleared = new Set(clear.mock.calls.map(([t]) => t));
      // The server's own timers are the long ones (until() polls every 5 ms).
      const left = set.mock.results.filter((r, i) => (set.mock.calls[i]?.[1] ?? 0) >= 100 && !cleared.has(r.value));
      expect(left).toHaveLength(0);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });

  it('closes a refused connection even when the turn ends with its last answer', async () => {
    // A turn of no time: every step stops after one answer, as a busy daemon's turns do.
    const srv = await start((command) => command, { turnMs: 0, maxPending: 4 });
    const c = raw(srv.path);
    c.s.write(Array.from({ length: 10 }, (_, i) => `{"id":${i + 1},"command":"c${i + 1}"}\n`).join(''));
    await until('closed', c.closed);
    expect((c.lines.at(-1) as { error: { code: string } }).error.code).toBe('TOO_MANY_REQUESTS');
  });

  it('keeps at most the limit of requests from a client that sends 60 MB of them and never reads', async () => {
    let max = 0;
    const srv = await start((command) => {
      max = Math.max(max, srv.stats().pending);
      return command;
    });
    const s = net.createConnection({ path: srv.path });
    s.on('error', () => {});
    const line = `{"id":1,"command":"${'x'.repeat(1000)}"}\n`;
    const chunk = line.repeat(1000); // 1 MB
    let sent = 0;
    await new Promise<void>((resolve) => {
      const more = () => {
        while (sent < 60 && !s.destroyed) {
          sent += 1;
          if (!s.write(chunk)) {
            s.once('drain', more);
            return;
          }
        }
        resolve();
      };
      s.once('connect', more);
      s.once('close', () => resolve());
    });
    // Refused at the 65th request; what follows is read and dropped, and the connection closed.
    await until('the server closed the connection', () => srv.stats().clients === 0);
    s.destroy();
    expect(max).toBeLessThanOrEqual(64);
  });

  it('refuses connections beyond the limit with TOO_MANY_CLIENTS', async () => {
    const srv = new ControlServer(socketPath(), () => 'x', { limits: { maxClients: 2 } });
    await srv.start();
    servers.push(srv);
    const a = raw(srv.path);
    const b = raw(srv.path);
    a.s.write('{"id":1,"command":"x"}\n');
    b.s.write('{"id":1,"command":"x"}\n');
    await until('two answered', () => a.lines.length === 1 && b.lines.length === 1);
    const c = raw(srv.path);
    await until('third refused', c.closed);
    expect(c.lines).toEqual([{ id: 0, ok: false, error: expect.objectContaining({ code: 'TOO_MANY_CLIENTS' }) }]);
    a.s.destroy();
    b.s.destroy();
  });
});

describe('ControlServer: long listings', () => {
  /** A listing of `n` items whose pieces are counted, and whose end (or abandonment) is seen. */
  function listing(n: number) {
    const seen = { pulled: 0, finished: false };
    function* pieces(): Generator<string | undefined, void> {
      try {
        yield '[';
        for (let i = 0; i < n; i++) {
          seen.pulled += 1;
          yield `${i ? ',' : ''}{"n":${i},"pad":"${'p'.repeat(200)}"}`;
        }
        yield ']';
      } finally {
        seen.finished = true;
      }
    }
    return { seen, stream: () => new ControlStream(pieces()) };
  }

  it('are written in slices while other clients get answers, in one well-formed line each', async () => {
    const big = listing(200_000);
    const srv = await start((command) => (command === 'big' ? big.stream() : 'fast'));
    const heavy = raw(srv.path);
    heavy.s.write('{"id":1,"command":"big"}\n');
    await until('listing started', () => big.seen.pulled > 0);
    const fast = raw(srv.path);
    fast.s.write('{"id":2,"command":"fast"}\n');
    await until('fast answered', () => fast.lines.length === 1);
    expect(big.seen.pulled).toBeLessThan(200_000); // answered while the listing was still being produced
    await until('listing done', () => heavy.lines.length === 1, 30_000);
    const r = heavy.lines[0] as { id: number; ok: boolean; result: { n: number }[] };
    expect([r.id, r.ok, r.result.length, r.result.at(-1)?.n]).toEqual([1, true, 200_000, 199_999]);
    heavy.s.destroy();
    fast.s.destroy();
  });

  it('follow a client that does not read, and stop when it goes', async () => {
    const big = listing(1_000_000);
    const srv = await start(() => big.stream());
    const s = net.createConnection({ path: srv.path });
    s.on('error', () => {});
    s.pause(); // reads nothing
    s.write('{"id":1,"command":"big"}\n');
    await until('listing started', () => big.seen.pulled > 0);
    // Pulled only as fast as the socket takes it: stalls well before the end.
    let last = -1;
    await until('stalled', () => {
      const stalled = big.seen.pulled === last;
      last = big.seen.pulled;
      return stalled;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(big.seen.pulled).toBe(last);
    expect(big.seen.pulled).toBeLessThan(1_000_000);
    s.destroy();
    await until('abandoned', () => big.seen.finished);
    expect(big.seen.pulled).toBe(last);
    expect(srv.stats()).toEqual({ clients: 0, pending: 0, streaming: 0 });
  });

  it('disconnect a client that leaves its answer unread for the stall limit', async () => {
    const big = listing(1_000_000);
    const srv = await start(() => big.stream(), { maxStallMs: 300 });
    const s = net.createConnection({ path: srv.path });
    s.on('error', () => {});
    s.pause(); // reads nothing, and stays connected
    s.write('{"id":1,"command":"big"}\n');
    await until('listing started', () => big.seen.pulled > 0);
    await until('the client disconnected and its listing abandoned', () => big.seen.finished);
    expect(big.seen.pulled).toBeLessThan(1_000_000);
    expect(srv.stats()).toEqual({ clients: 0, pending: 0, streaming: 0 });
    s.destroy();
  });
});
