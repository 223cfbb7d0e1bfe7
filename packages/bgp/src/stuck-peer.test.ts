import { readdirSync } from 'node:fs';
import net from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type BgpMessage, decode, encode, Framer, INITIAL_SESSION, KEEPALIVE, sessionContext } from '@tabby/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import type { Peer } from './peer.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { type Connection, type Transport, tcpTransport } from './transport.js';

// A peer that completes the OPEN exchange and then reads nothing, over real TCP on loopback,
// 100 times: each session must end (send hold timer, hold timer, operator reset) and take its
// socket and output queue with it. The speaker's clock is manual; the sockets are real.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const openFds = () => readdirSync('/proc/self/fd').length;

/** Our side of each accepted connection, to check it was closed. */
const accepted: { conn: Connection; closed: boolean }[] = [];
const transport: Transport = {
  connect: (o) => tcpTransport.connect(o),
  listen: (o, cb) =>
    tcpTransport.listen(o, (conn) => {
      const e = { conn, closed: false };
      conn.onClose(() => {
        e.closed = true;
      });
      accepted.push(e);
      cb(conn);
    }),
};

/** A raw BGP peer from 127.0.0.2: OPEN, KEEPALIVE, then it stops reading (its TCP window closes). */
async function stuckPeer(port: number): Promise<{ sock: net.Socket; keepalive(): void }> {
  const sock = net.createConnection({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  const ctx = sessionContext({ fourOctetAs: true, extendedMessage: true });
  const framer = new Framer({ extendedMessage: true });
  const got: BgpMessage[] = [];
  sock.on('data', (d) => {
    for (const m of framer.push(d)) got.push(decode(m, ctx));
  });
  sock.on('error', () => {});
  await new Promise((r) => sock.once('connect', r));
  sock.write(
    encode(
      {
        type: 'open',
        version: 4,
        myAs: 64512,
        holdTime: 9,
        bgpId: '198.18.0.2',
        capabilities: [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'four-octet-as', asn: 64512 },
          { kind: 'extended-message' },
        ],
      },
      INITIAL_SESSION,
    ),
  );
  await until('OPEN and KEEPALIVE from the speaker', () => got.some((m) => m.type === 'keepalive'));
  sock.pause();
  sock.write(encode(KEEPALIVE, INITIAL_SESSION));
  return { sock, keepalive: () => sock.write(encode(KEEPALIVE, INITIAL_SESSION)) };
}

describe('a peer that stops reading, 100 times over real TCP', () => {
  const clock = new ManualClock();
  const speaker = new Speaker(
    parseConfig(`routerId: 198.18.0.1
asn: 64512
listen: { address: 127.0.0.1, port: 0 }
gracefulRestart: { enabled: false }
peers:
  - { name: stuck, address: 127.0.0.2, asn: 64512, passive: true, holdTime: 9, sendHoldTime: 20 }
`),
    { transport, clock },
  );
  let peer: Peer;

  beforeAll(async () => {
    await speaker.start();
    peer = speaker.findPeer('stuck')!;
    // About 7 MB of UPDATEs for each new session: 120 prefixes, each with 14,000 communities
    // (one 56 KB UPDATE each, extended messages), more than the kernel buffers take.
    for (let i = 0; i < 120; i++) {
      const communities = Array.from({ length: 14_000 }, (_, j) => `${i + 1}:${j}`);
      speaker.originate(`198.19.${i}.0/24`, { communities });
    }
    await until('originated', () => speaker.rib.size === 120 && speaker.rib.pending === 0);
  });
  afterAll(async () => {
    await speaker.stop();
  });

  it('ends every session, destroys every socket and frees every output queue', async () => {
    const ends: Record<string, number> = {};
    let baselineFds = 0;
    let baselineBytes = 0;
    for (let cycle = 0; cycle < 100; cycle++) {
      const client = await stuckPeer(speaker.listenPort);
      await until(`cycle ${cycle}: Established`, () => peer.state === 'Established', 10_000);
      const s = peer.established!;
      // The speaker fills what the kernel takes, then its own queue: no more progress.
      let last = -1;
      await until(
        `cycle ${cycle}: output stuck`,
        () => {
          const stuck = s.conn.pendingBytes > 0 && s.conn.sentBytes === last;
          last = s.conn.sentBytes;
          return stuck;
        },
        20_000,
      );
      const how = ['send hold timer', 'hold timer', 'operator reset'][cycle % 3]!;
      if (how === 'send hold timer') {
        // The peer stays alive (KEEPALIVEs) but reads nothing for 21 s.
        for (let t = 0; t < 21 && peer.established === s; t += 3) {
          const before = s.received.keepalive;
          client.keepalive();
          await until(`cycle ${cycle}: keepalive in`, () => s.received.keepalive > before);
          clock.advance(3000);
        }
      } else if (how === 'hold timer') {
        clock.advance(9000);
      } else {
        peer.clear('test');
      }
      expect(peer.established).toBeNull();
      clock.advance(3000); // the linger of a closing socket
      await until(`cycle ${cycle}: our socket closed`, () => accepted.every((a) => a.closed), 10_000);
      client.sock.destroy();
      ends[peer.lastError] = (ends[peer.lastError] ?? 0) + 1;
      if (cycle === 2) {
        await new Promise((r) => setTimeout(r, 50));
        baselineFds = openFds();
        gc();
        baselineBytes = process.memoryUsage().arrayBuffers;
      } else if (cycle > 2) {
        await until(`cycle ${cycle}: file descriptors back to ${baselineFds}`, () => openFds() <= baselineFds, 10_000);
      }
      expect(accepted.reduce((n, a) => n + a.conn.pendingBytes, 0)).toBe(0);
      expect(peer.outQueueBytes).toBe(0);
    }
    expect(ends).toEqual({
      'Send hold timer expired': 34,
      'Hold timer expired': 33,
      'Sent: Cease / Administrative Reset: "test"': 33,
    });
    expect(accepted).toHaveLength(100);
    // Output queues are buffers: had each stuck session kept its megabyte, 97 of them would show
    // (buffers of the last sockets are released a moment after they close).
    await until(
      'buffers released',
      () => {
        gc();
        return process.memoryUsage().arrayBuffers - baselineBytes < 16 << 20;
      },
      10_000,
    );
  }, 300_000);
});
