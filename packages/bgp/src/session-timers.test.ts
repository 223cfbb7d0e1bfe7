import { type BgpMessage, decode, encode, Framer, INITIAL_SESSION, KEEPALIVE, sessionContext } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { type CloseReason, LINGER_MS, Session } from './session.js';
import { type Connection, MemoryNetwork } from './transport.js';

const open = (bgpId: string) =>
  ({
    type: 'open',
    version: 4,
    myAs: 64512,
    holdTime: 9,
    bgpId,
    capabilities: [{ kind: 'four-octet-as', asn: 64512 }],
  }) as const;

const flush = () => new Promise((r) => setTimeout(r, 0));

/** `n` sessions on one clock, each with a peer the test plays with raw messages. */
async function sessions(n: number) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  clock.random = () => Math.random();
  const peers: { server: Connection; got: BgpMessage[]; s: Session; closed: CloseReason | null }[] = [];
  let accepted: Connection | undefined;
  await net.transport('198.18.0.2').listen({ host: '198.18.0.2', port: 179 }, (c) => {
    accepted = c;
  });
  for (let i = 0; i < n; i++) {
    const client = await net.transport(`198.18.1.${i + 1}`).connect({ host: '198.18.0.2', port: 179 });
    await Promise.resolve();
    const server = accepted!;
    const got: BgpMessage[] = [];
    const framer = new Framer();
    server.onData((chunk) => {
      for (const m of framer.push(chunk)) got.push(decode(m, sessionContext({ fourOctetAs: true })));
    });
    const p = { server, got, s: undefined as unknown as Session, closed: null as CloseReason | null };
    p.s = new Session(
      client,
      { localOpen: open(`198.18.1.${i + 1}`), holdTime: 9, keepaliveTime: 3, expectedAs: 64512, outgoing: true },
      clock,
      {
        onOpen: () => null,
        onEstablished: () => {},
        onUpdate: () => {},
        onRouteRefresh: () => {},
        onClose: (_s, r) => {
          p.closed = r;
        },
        onDrain: () => {},
      },
    );
    p.s.start();
    peers.push(p);
  }
  await flush();
  for (const p of peers) {
    p.server.write(encode(open('198.18.0.2'), INITIAL_SESSION));
    p.server.write(encode(KEEPALIVE, INITIAL_SESSION));
  }
  await flush();
  return { clock, peers };
}

describe('session timers', () => {
  it('keeps one clock timer for every session on the clock, however often their timers restart', async () => {
    const { clock, peers } = await sessions(40);
    expect(peers.every((p) => p.s.phase === 'Established')).toBe(true);
    // Each session runs a keepalive timer and a hold timer: as clock timers, 80 (each a Node
    // timer living seconds), now one.
    expect(clock.pendingCount).toBe(1);
    // A minute of keepalives both ways: sent every 2.25-3 s (a third of the hold time, jittered),
    // each heard restarting the hold timer.
    for (let s = 1; s <= 60; s++) {
      clock.advance(1000);
      if (s % 2 === 0) for (const p of peers) p.server.write(encode(KEEPALIVE, INITIAL_SESSION));
      await flush();
      expect(clock.pendingCount).toBe(1);
    }
    for (const p of peers) {
      expect(p.s.phase).toBe('Established');
      const keepalives = p.got.filter((m) => m.type === 'keepalive').length;
      expect(keepalives).toBeGreaterThanOrEqual(1 + 20);
      expect(keepalives).toBeLessThanOrEqual(1 + Math.ceil(60 / 2.25));
    }
    // The peers fall silent: each session's hold timer expires 9 s after it last heard.
    clock.advance(8_000);
    await flush();
    expect(peers.every((p) => p.closed === null)).toBe(true);
    clock.advance(1_000);
    await flush();
    expect(peers.map((p) => p.closed?.kind)).toEqual(peers.map(() => 'hold-expired'));
    // What is left are the closing sockets' lingers; then nothing.
    clock.advance(LINGER_MS);
    expect(clock.pendingCount).toBe(0);
  });
});
