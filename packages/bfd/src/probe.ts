// A minimal BFD process for interop tests and diagnostics: a BfdService driven over a control
// socket (newline-delimited JSON, one answer line per request). Not a daemon for production:
// the BGP speaker runs BfdService in-process.
//
//   node packages/bfd/dist/probe.js --control /tmp/bfd.sock [--port 3784] [--source-check off] [--gtsm nftables]
//
// Requests: {"cmd":"add","req":SessionRequest} -> {"ok":true,"id":N}
//           {"cmd":"update","id":N,"timers":{...}} | {"cmd":"admin","id":N,"down":true} | {"cmd":"remove","id":N}
//           {"cmd":"status"} -> {"ok":true,"sessions":[SessionStatus...]}
//           {"cmd":"events","since":K} -> {"ok":true,"events":[...],"next":K2} (state changes, up, down)
//           {"cmd":"busy","ms":M} -> blocks this (main) thread for M ms, then {"ok":true}
//           {"cmd":"stop"} -> {"ok":true}, then the process exits
import { unlinkSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { SessionRequest } from './config.js';
import { BfdService, type BfdSessionHandle } from './service.js';
import type { SingleHopSourceCheck } from './udp-transport.js';

const MAX_EVENTS = 10_000;
const MAX_LINE = 64 * 1024;

function fail(message: string): never {
  process.stderr.write(`bfd probe: ${message}\n`);
  process.exit(1);
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        control: { type: 'string' },
        port: { type: 'string' },
        'multihop-port': { type: 'string' },
        'source-check': { type: 'string' },
        gtsm: { type: 'string' },
      },
    }).values;
  try {
    args = parse();
  } catch (err) {
    fail((err as Error).message);
  }
  if (!args.control) fail('--control PATH is required');
  const check = (args['source-check'] ?? 'connected-subnet') as SingleHopSourceCheck;
  if (check !== 'connected-subnet' && check !== 'off') fail('--source-check must be connected-subnet or off');
  const gtsm = args.gtsm ?? 'off';
  if (gtsm !== 'nftables' && gtsm !== 'off') fail('--gtsm must be nftables or off');
  const port = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a port number`);
    return n;
  };

  const events: object[] = [];
  let dropped = 0;
  const push = (e: object) => {
    if (events.length >= MAX_EVENTS) {
      events.shift();
      dropped++;
    }
    events.push(e);
  };
  const service = await BfdService.start({
    singleHopPort: port(args.port, '--port'),
    multiHopPort: port(args['multihop-port'], '--multihop-port'),
    singleHopSourceCheck: check,
    gtsm,
    logger: {
      debug() {},
      info: (o, m) => process.stderr.write(`${JSON.stringify({ level: 'info', msg: m, ...o })}\n`),
      warn: (o, m) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg: m, ...o })}\n`),
      error: (o, m) => process.stderr.write(`${JSON.stringify({ level: 'error', msg: m, ...o })}\n`),
    },
  });
  const handles = new Map<number, BfdSessionHandle>();

  const handle = async (line: string): Promise<object> => {
    let m: {
      cmd?: string;
      id?: number;
      req?: SessionRequest;
      timers?: object;
      down?: boolean;
      since?: number;
      ms?: number;
    };
    try {
      m = JSON.parse(line);
    } catch {
      return { ok: false, code: 'BAD_REQUEST', message: 'not JSON' };
    }
    const h = typeof m.id === 'number' ? handles.get(m.id) : undefined;
    switch (m.cmd) {
      case 'add': {
        const s = service.request(m.req as SessionRequest);
        handles.set(s.id, s);
        s.on('state', (c) => push({ event: 'state', id: s.id, ...c }));
        s.on('up', (e) => push({ event: 'up', id: s.id, ...e }));
        s.on('down', (e) => push({ event: 'down', id: s.id, ...e }));
        return { ok: true, id: s.id };
      }
      case 'update':
        h?.update(m.timers ?? {});
        return { ok: !!h };
      case 'admin':
        h?.setAdminDown(m.down === true);
        return { ok: !!h };
      case 'remove':
        h?.close();
        if (h) handles.delete(h.id);
        return { ok: !!h };
      case 'status':
        return { ok: true, sessions: await service.sessions() };
      case 'events': {
        const since = Math.max(0, (m.since ?? 0) - dropped);
        return { ok: true, events: events.slice(since), next: dropped + events.length };
      }
      case 'busy': {
        const end = Date.now() + Math.min(Math.max(0, m.ms ?? 0), 60_000);
        let junk = 0;
        while (Date.now() < end) junk += JSON.stringify({ junk }).length;
        return { ok: true };
      }
      case 'stop':
        setImmediate(async () => {
          await service.stop();
          server.close();
          process.exit(0);
        });
        return { ok: true };
      default:
        return { ok: false, code: 'BAD_REQUEST', message: `unknown cmd ${JSON.stringify(m.cmd)}` };
    }
  };

  try {
    unlinkSync(args.control);
  } catch {
    // not there
  }
  const server = net.createServer((sock) => {
    let buf = '';
    let chain = Promise.resolve();
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_LINE) {
        sock.end(`${JSON.stringify({ ok: false, code: 'BAD_REQUEST', message: 'line over 64 KiB' })}\n`);
        return;
      }
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        chain = chain.then(async () => {
          let out: object;
          try {
            out = await handle(line);
          } catch (err) {
            const e = err as { code?: string; message?: string };
            out = { ok: false, code: e.code ?? 'INTERNAL_ERROR', message: e.message };
          }
          if (!sock.destroyed) sock.write(`${JSON.stringify(out)}\n`);
        });
      }
    });
  });
  server.listen(args.control);
  const bye = async () => {
    await service.stop();
    process.exit(0);
  };
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
}

main().catch((err) => fail((err as Error).message));
