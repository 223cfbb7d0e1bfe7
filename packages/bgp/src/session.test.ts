import {
  type BgpMessage,
  decode,
  encode,
  Framer,
  INITIAL_SESSION,
  KEEPALIVE,
  type OpenMessage,
  sessionContext,
  type UpdateMessage,
} from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { type CloseReason, Session, type SessionEvents } from './session.js';
import { type Connection, MemoryNetwork } from './transport.js';

const open = (bgpId: string, asn: number, holdTime = 9): OpenMessage => ({
  type: 'open',
  version: 4,
  myAs: asn,
  holdTime,
  bgpId,
  capabilities: [{ kind: 'four-octet-as', asn }],
});

/** A session on one end of an in-memory pipe; the test plays the peer with raw messages. */
async function setup(opts: { remoteHold?: number; onUpdate?: (m: UpdateMessage) => void } = {}) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  let server!: Connection;
  await net.transport('198.18.0.2').listen({ host: '198.18.0.2', port: 179 }, (c) => {
    server = c;
  });
  const client = await net.transport('198.18.0.1').connect({ host: '198.18.0.2', port: 179 });
  await Promise.resolve();
  const got: BgpMessage[] = [];
  const framer = new Framer();
  server.onData((chunk) => {
    for (const m of framer.push(chunk)) got.push(decode(m, sessionContext({ fourOctetAs: true })));
  });
  const log: string[] = [];
  let closed: CloseReason | null = null;
  const events: SessionEvents = {
    onOpen: () => null,
    onEstablished: () => log.push('established'),
    onUpdate: (_s, m) => {
      log.push('update');
      opts.onUpdate?.(m);
    },
    onRouteRefresh: () => log.push('refresh'),
    onClose: (_s, r) => {
      closed = r;
    },
    onDrain: () => {},
  };
  const s = new Session(
    client,
    { localOpen: open('198.18.0.1', 64512), holdTime: 9, keepaliveTime: 3, expectedAs: 64512, outgoing: true },
    clock,
    events,
  );
  s.start();
  const send = async (m: BgpMessage, ctx = INITIAL_SESSION) => {
    server.write(encode(m, ctx));
    await new Promise((r) => setTimeout(r, 0));
  };
  const flush = () => new Promise((r) => setTimeout(r, 0));
  await flush();
  const establish = async () => {
    await send(open('198.18.0.2', 64512, opts.remoteHold ?? 9));
    await send(KEEPALIVE);
  };
  return { s, clock, got, log, send, flush, establish, closed: () => closed as CloseReason | null, server };
}

describe('Session (in memory, manual clock: no sockets, no sleeps)', () => {
  it('sends OPEN, answers OPEN with KEEPALIVE and becomes Established on KEEPALIVE', async () => {
    const t = await setup();
    expect(t.got.map((m) => m.type)).toEqual(['open']);
    expect(t.s.phase).toBe('OpenSent');
    await t.send(open('198.18.0.2', 64512));
    expect(t.s.phase).toBe('OpenConfirm');
    expect(t.got.map((m) => m.type)).toEqual(['open', 'keepalive']);
    await t.send(KEEPALIVE);
    expect(t.s.phase).toBe('Established');
    expect(t.log).toEqual(['established']);
  });

  it('negotiates the smaller hold time and sends keepalives at a third of it', async () => {
    const t = await setup({ remoteHold: 6 });
    await t.establish();
    expect([t.s.holdTime, t.s.keepaliveTime]).toEqual([6, 2]);
    const before = t.got.length;
    t.clock.advance(2000);
    await t.flush();
    expect(t.got.slice(before).map((m) => m.type)).toEqual(['keepalive']);
  });

  it('jitters each keepalive interval (RFC 4271 10): up to a quarter early, drawn anew each time', async () => {
    const t = await setup({ remoteHold: 6 });
    await t.establish();
    const draws = [0, 0.5];
    t.clock.random = () => draws.shift() ?? 1;
    const before = t.got.length;
    // The first interval was drawn when the session came up (no jitter): 2 s. Then 1.5 s, 1.75 s.
    const at: number[] = [];
    for (let ms = 0; ms < 5250; ms += 250) {
      t.clock.advance(250);
      await t.flush();
      if (t.got.length > before + at.length) at.push(ms + 250);
    }
    expect(at).toEqual([2000, 3500, 5250]);
  });

  it('expires the hold timer: NOTIFICATION 4/0 and close', async () => {
    const t = await setup();
    await t.establish();
    t.clock.advance(8999);
    expect(t.s.phase).toBe('Established');
    await t.send(KEEPALIVE); // restarts the hold timer
    t.clock.advance(8999);
    expect(t.s.phase).toBe('Established');
    t.clock.advance(1);
    await t.flush();
    expect(t.s.phase).toBe('Closed');
    expect(t.closed()).toMatchObject({ kind: 'hold-expired' });
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', code: 4, subcode: 0 });
  });

  it('restarts the hold timer on every message without a timer per message (a full table is 500,000 UPDATEs)', async () => {
    const t = await setup();
    await t.establish();
    let armed = 0;
    const setTimeout = t.clock.setTimeout.bind(t.clock);
    t.clock.setTimeout = (fn, ms) => {
      armed += 1;
      return setTimeout(fn, ms);
    };
    for (let i = 0; i < 50; i++) {
      t.clock.advance(1000);
      await t.send(KEEPALIVE);
    }
    expect(t.s.phase).toBe('Established'); // 50 s of messages 1 s apart, hold time 9 s
    expect(armed).toBeLessThan(25); // keepalives we send (every 3 s) and hold-timer re-arms only
    t.clock.advance(8999);
    expect(t.s.phase).toBe('Established');
    t.clock.advance(1);
    expect(t.closed()).toMatchObject({ kind: 'hold-expired' });
  });

  it('handles a large read over several turns of the event loop, in order, when the messages take long', async () => {
    const seen: number[] = [];
    const t = await setup({
      onUpdate: (m) => {
        seen.push(m.withdrawn.addrs[0]! >>> 8);
        const until = performance.now() + 0.2; // a slow message: 0.2 ms each
        while (performance.now() < until) {}
      },
    });
    await t.establish();
    // 300 UPDATEs in one read (8 KB: the clock is read every 4 KB), each withdrawing 10.i.0/24.
    const one = (i: number) => Uint8Array.from([...Array(16).fill(255), 0, 27, 2, 0, 4, 24, 10, i >> 8, i & 255, 0, 0]);
    t.server.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => one(i))));
    await Promise.resolve();
    await Promise.resolve(); // the in-memory write is delivered in a microtask
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(300); // past 10 ms the rest waits for the next turn
    for (let turn = 0; turn < 100 && seen.length < 300; turn++) await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(Array.from({ length: 300 }, (_, i) => (10 << 16) | i));
  });

  it('handles what the peer sent before it closed, even past the turn’s reading time: its NOTIFICATION is the reason', async () => {
    let seen = 0;
    const t = await setup({
      onUpdate: () => {
        seen += 1;
        const until = performance.now() + 0.2; // a slow message: 0.2 ms each
        while (performance.now() < until) {}
      },
    });
    await t.establish();
    // 300 slow UPDATEs and a Cease in one read, then the peer closes: all of it within this turn.
    const one = (i: number) => Uint8Array.from([...Array(16).fill(255), 0, 27, 2, 0, 4, 24, 10, i >> 8, i & 255, 0, 0]);
    const cease = encode({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array() }, INITIAL_SESSION);
    t.server.write(Buffer.concat([...Array.from({ length: 300 }, (_, i) => one(i)), cease]));
    t.server.end();
    for (let i = 0; i < 10; i++) await Promise.resolve(); // delivery and the close are microtasks
    expect(t.s.phase).toBe('Closed');
    expect(seen).toBe(300);
    expect(t.closed()).toMatchObject({ kind: 'notification-received', notification: { code: 6, subcode: 2 } });
  });

  it('shares the turn’s reading time between sessions: once one used it up, another waits for the next turn', async () => {
    let slow = 0;
    const a = await setup({
      onUpdate: () => {
        slow += 1;
        const until = performance.now() + 12; // more than the turn's reading time (5 ms)
        while (performance.now() < until) {}
      },
    });
    let quick = 0;
    const b = await setup({ onUpdate: () => (quick += 1) });
    await a.establish();
    await b.establish();
    const withdraw = Uint8Array.from([...Array(16).fill(255), 0, 27, 2, 0, 4, 24, 10, 0, 1, 0, 0]);
    a.server.write(withdraw);
    b.server.write(withdraw);
    await Promise.resolve();
    await Promise.resolve(); // both in-memory writes are delivered in this turn
    expect(slow).toBe(1);
    expect(quick).toBe(0); // before: each session had a budget of its own
    for (let turn = 0; turn < 10 && quick === 0; turn++) await new Promise((r) => setImmediate(r));
    expect(quick).toBe(1);
  });

  it('waits 240 s for the OPEN (RFC 4271 8.2.2 large hold time)', async () => {
    const t = await setup();
    t.clock.advance(239_999);
    expect(t.s.phase).toBe('OpenSent');
    t.clock.advance(1);
    expect(t.s.phase).toBe('Closed');
  });

  it.each([
    ['wrong AS', open('198.18.0.2', 65000), { code: 2, subcode: 2 }],
    ['our own BGP identifier', open('198.18.0.1', 64512), { code: 2, subcode: 3 }],
    ['hold time 2', open('198.18.0.2', 64512, 2), { code: 2, subcode: 6 }],
  ])('refuses an OPEN with %s', async (_n, m, expected) => {
    const t = await setup();
    await t.send(m);
    expect(t.s.phase).toBe('Closed');
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', ...expected });
  });

  it('answers an UPDATE before OPEN with an FSM error (5/1)', async () => {
    const t = await setup();
    await t.send({ type: 'keepalive' });
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', code: 5, subcode: 1 });
  });

  it('closes on a malformed header with the NOTIFICATION the codec names', async () => {
    const t = await setup();
    const bad = encode(KEEPALIVE, INITIAL_SESSION);
    bad[0] = 0; // broken marker: Message Header Error / Connection Not Synchronized
    t.server.write(bad);
    await t.flush();
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', code: 1, subcode: 1 });
    expect(t.closed()).toMatchObject({ kind: 'notification-sent' });
  });

  it('reports a NOTIFICATION from the peer with its text', async () => {
    const t = await setup();
    await t.establish();
    await t.send({ type: 'notification', code: 6, subcode: 2, data: new Uint8Array([5, ...Buffer.from('maint')]) });
    expect(t.closed()).toMatchObject({
      kind: 'notification-received',
      text: 'Received: Cease / Administrative Shutdown: "maint"',
    });
  });
});
