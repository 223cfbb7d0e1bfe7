// The receiver-bound feeder of the ingest benchmark: a BGP speaker that pre-encodes every UPDATE
// before it connects, then writes them all as fast as the socket takes them, so the receiver, not
// the feeder, sets the pace (BIRD as feeder needs about 4 s for 1M prefixes, more than BIRD or
// Tabby need to take them). The UPDATEs are built here byte by byte, not with @tabby/wire, so the
// receiver's codec is not also the feeder's.
//
// Run as a process in the feeder's namespace:
//   node fast-feeder.js ADDRESS COUNT packed|diverse OWN-ADDRESS
// It encodes the feed, then connects to ADDRESS:179 (AS 65000 to AS 64512; its own address is
// router ID and next hop), prints one JSON
// line per event on stdout ({"event":"encoded"|"established"|"sent","t":ms,...}), sends
// End-of-RIB after the last UPDATE, keeps the session up with KEEPALIVEs, and exits on a
// NOTIFICATION, a closed connection or SIGTERM.
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Netns, NsProcess } from '@tabby/test-helpers';

export type FeedMode = 'packed' | 'diverse';

export const FEED_AS = 65000;
export const FEED_PEER_AS = 64512;
/** First AS of the per-pair AS paths in diverse mode (4-octet ASNs), as the BIRD feeder's. */
export const FEED_DIVERSE_AS_BASE = 100_000;
const MAX_MESSAGE = 4096;
const HOLD_TIME = 180;

function header(buf: Buffer, at: number, length: number, type: number): void {
  buf.fill(0xff, at, at + 16);
  buf.writeUInt16BE(length, at + 16);
  buf[at + 18] = type;
}

function ipv4Bytes(addr: string): number[] {
  return addr.split('.').map(Number);
}

/** Our OPEN: multiprotocol IPv4 unicast, route refresh, 4-octet AS, graceful restart (aware). */
export function encodeOpen(routerId: string, asn: number): Buffer {
  const caps = [
    [1, 4, 0, 1, 0, 1], // multiprotocol: AFI 1, SAFI 1
    [2, 0], // route refresh
    [65, 4, (asn >>> 24) & 255, (asn >>> 16) & 255, (asn >>> 8) & 255, asn & 255], // 4-octet AS
    [64, 6, 0, 120, 0, 1, 1, 0], // graceful restart: 120 s, IPv4 unicast, forwarding state not kept
  ].flat();
  const params = [2, caps.length, ...caps];
  const body = [4, (asn >> 8) & 255, asn & 255, HOLD_TIME >> 8, HOLD_TIME & 255, ...ipv4Bytes(routerId)];
  const len = 19 + body.length + 1 + params.length;
  const buf = Buffer.alloc(len);
  header(buf, 0, len, 1);
  buf.set([...body, params.length, ...params], 19);
  return buf;
}

export function keepalive(): Buffer {
  const buf = Buffer.alloc(19);
  header(buf, 0, 19, 4);
  return buf;
}

/** The IPv4 unicast End-of-RIB: an UPDATE with nothing in it. */
export function endOfRib(): Buffer {
  const buf = Buffer.alloc(23);
  header(buf, 0, 23, 2);
  return buf;
}

/** ORIGIN IGP, AS_PATH (one AS_SEQUENCE of 4-octet ASNs), NEXT_HOP. */
function attributes(asPath: number[], nextHop: number[]): number[] {
  const seg = [
    2,
    asPath.length,
    ...asPath.flatMap((a) => [(a >>> 24) & 255, (a >>> 16) & 255, (a >>> 8) & 255, a & 255]),
  ];
  return [0x40, 1, 1, 0, 0x40, 2, seg.length, ...seg, 0x40, 3, 4, ...nextHop];
}

/**
 * Every UPDATE of the feed, concatenated: `count` distinct /24s from 11.0.0.0 up (the BIRD
 * feeder's prefixes). Packed: one attribute set (AS path 65000), as many prefixes per UPDATE as
 * fit 4,096 bytes (1,013); diverse: prefixes 2k and 2k+1 in one UPDATE with AS path
 * `65000 100000+k`.
 */
export function encodeFeed(count: number, mode: FeedMode, nextHop: string): { bytes: Buffer; updates: number } {
  const nh = ipv4Bytes(nextHop);
  const perUpdate = mode === 'packed' ? Math.floor((MAX_MESSAGE - 23 - attributes([FEED_AS], nh).length) / 4) : 2;
  const updates = Math.ceil(count / perUpdate);
  const maxAttrs = attributes([FEED_AS, FEED_DIVERSE_AS_BASE], nh).length;
  const buf = Buffer.alloc(updates * (23 + maxAttrs) + count * 4);
  let at = 0;
  for (let first = 0; first < count; first += perUpdate) {
    const n = Math.min(perUpdate, count - first);
    const attrs = attributes(mode === 'packed' ? [FEED_AS] : [FEED_AS, FEED_DIVERSE_AS_BASE + (first >> 1)], nh);
    const len = 23 + attrs.length + n * 4;
    header(buf, at, len, 2);
    buf.writeUInt16BE(0, at + 19);
    buf.writeUInt16BE(attrs.length, at + 21);
    buf.set(attrs, at + 23);
    let p = at + 23 + attrs.length;
    for (let i = first; i < first + n; i++) {
      const a = (11 << 24) + i * 256;
      buf[p] = 24;
      buf[p + 1] = a >>> 24;
      buf[p + 2] = (a >>> 16) & 255;
      buf[p + 3] = (a >>> 8) & 255;
      p += 4;
    }
    at += len;
  }
  return { bytes: buf.subarray(0, at), updates };
}

function say(event: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ event, t: Date.now(), ...extra })}\n`);
}

function main(argv: string[]): void {
  const [address, countText, mode, own] = argv;
  const count = Number(countText);
  if (!address || !own || !(count > 0) || (mode !== 'packed' && mode !== 'diverse')) {
    process.stderr.write('usage: fast-feeder ADDRESS COUNT packed|diverse OWN-ADDRESS\n');
    process.exit(2);
  }
  const t0 = Date.now();
  const f = encodeFeed(count, mode, own);
  let feed: Buffer | null = f.bytes;
  say('encoded', { updates: f.updates, bytes: f.bytes.length, ms: Date.now() - t0 });
  const socket = net.createConnection({ host: address, port: 179, localAddress: own });
  let phase: 'open' | 'confirm' | 'up' = 'open';
  let pending: Buffer = Buffer.alloc(0);
  socket.setNoDelay(true);
  socket.on('connect', () => socket.write(encodeOpen(own, FEED_AS)));
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 19) {
      const len = pending.readUInt16BE(16);
      if (pending.length < len) break;
      const type = pending[18];
      const msg = pending.subarray(0, len);
      pending = pending.subarray(len);
      if (type === 3) {
        say('notification', { code: msg[19], subcode: msg[20] });
        process.exit(1);
      }
      if (type === 1 && phase === 'open') {
        phase = 'confirm';
        socket.write(keepalive());
      } else if (type === 4 && phase === 'confirm') {
        phase = 'up';
        say('established');
        socket.write(feed!);
        socket.write(endOfRib(), () => say('sent'));
        feed = null;
        setInterval(() => socket.write(keepalive()), (HOLD_TIME / 3) * 1000);
      }
    }
  });
  socket.on('error', (err) => {
    say('error', { message: err.message });
    process.exit(1);
  });
  socket.on('close', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
}

/** The feeder process in a namespace, with the times it reported. */
export class FastFeeder {
  proc: NsProcess | null = null;
  constructor(
    readonly ns: Netns,
    readonly target: string,
    readonly own: string,
    readonly count: number,
    readonly mode: FeedMode,
  ) {}

  /** Starts it: it encodes the feed, connects and writes it all. */
  start(): void {
    this.proc = this.ns.spawn([
      process.execPath,
      fileURLToPath(import.meta.url),
      this.target,
      String(this.count),
      this.mode,
      this.own,
    ]);
  }

  /** When it reported `event` (ms), or null. */
  at(event: 'encoded' | 'established' | 'sent'): number | null {
    for (const line of (this.proc?.output ?? '').split('\n')) {
      if (!line.startsWith('{')) continue;
      const e = JSON.parse(line) as { event: string; t: number };
      if (e.event === event) return e.t;
    }
    return null;
  }

  get pid(): number {
    return this.proc?.pid ?? 0;
  }

  async stop(): Promise<void> {
    await this.proc?.kill('SIGKILL');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
