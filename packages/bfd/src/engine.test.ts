import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { type SessionRequest, sessionConfig } from './config.js';
import { State } from './constants.js';
import { BfdEngine, type BfdTransport, type EngineEvent, type PacketInfo, type SessionLink } from './engine.js';
import { BfdConfigError, DiscardCode } from './errors.js';
import { type ControlPacket, encodeControl } from './packet.js';
import { seeded } from './pair.test-support.js';

/** Records what the engine sends; packets are injected by hand. */
function harness() {
  const clock = new ManualClock(0);
  const events: EngineEvent[] = [];
  const sent: { id: number; bytes: Uint8Array }[] = [];
  const links: SessionLink[] = [];
  const engine = new BfdEngine({
    clock,
    random: seeded(7),
    onEvent: (e) => events.push(e),
    transport: (): BfdTransport => ({
      attach(link) {
        links.push(link);
        return { send: (bytes) => sent.push({ id: link.id, bytes }), detach() {} };
      },
      close() {},
    }),
  });
  const add = (id: number, r: SessionRequest) => {
    engine.add(id, sessionConfig(r));
    return engine.status(id)[0]!;
  };
  const logs = () => events.filter((e) => e.type === 'log').map((e) => (e.type === 'log' ? e.msg : ''));
  return { clock, engine, events, sent, links, add, logs };
}

const info = (source: string, local: string, multihop = false): PacketInfo => ({
  source,
  sourcePort: 49152,
  local,
  multihop,
});

function packet(over: Partial<ControlPacket>): Uint8Array {
  return encodeControl({
    diag: 0,
    state: State.Down,
    poll: false,
    final: false,
    controlPlaneIndependent: false,
    demand: false,
    detectMult: 3,
    myDiscriminator: 0x77,
    yourDiscriminator: 0,
    desiredMinTxUs: 1_000_000,
    requiredMinRxUs: 1_000_000,
    requiredMinEchoRxUs: 0,
    ...over,
  });
}

describe('BfdEngine demultiplexing (RFC 5880 §6.3, RFC 5881 §3)', () => {
  it('Your Discriminator zero: by source and local address and hop mode', () => {
    const h = harness();
    const s1 = h.add(1, { peer: '198.18.0.2', local: '198.18.0.1' });
    h.add(2, { peer: '198.18.0.2', local: '198.18.0.1', multihop: true });
    h.engine.receive(packet({}), info('198.18.0.2', '198.18.0.1'));
    const [st1, st2] = h.engine.status();
    expect(st1).toMatchObject({ id: 1, state: 'Init', remoteDiscriminator: 0x77 });
    expect(st2).toMatchObject({ id: 2, state: 'Down', remoteDiscriminator: 0 });
    expect(s1.localDiscriminator).not.toBe(0);
  });

  it('Your Discriminator nonzero: by discriminator, and only from that peer on that address', () => {
    const h = harness();
    const s = h.add(1, { peer: '198.18.0.2', local: '198.18.0.1' });
    const up = packet({ state: State.Init, yourDiscriminator: s.localDiscriminator });
    h.engine.receive(up, info('198.18.0.3', '198.18.0.1'));
    h.engine.receive(up, info('198.18.0.2', '198.18.0.9'));
    h.engine.receive(up, info('198.18.0.2', '198.18.0.1', true));
    expect(h.engine.unmatched[DiscardCode.SessionMismatch]).toBe(3);
    h.engine.receive(
      packet({ state: State.Init, yourDiscriminator: s.localDiscriminator + 1 }),
      info('198.18.0.2', '198.18.0.1'),
    );
    expect(h.engine.unmatched[DiscardCode.NoSession]).toBe(1);
    h.engine.receive(up, info('198.18.0.2', '198.18.0.1'));
    expect(h.engine.status(1)[0]!.state).toBe('Up');
    const change = h.events.find((e) => e.type === 'state');
    expect(change).toMatchObject({ type: 'state', id: 1, change: { from: 'Down', to: 'Up' } });
  });

  it('IPv6: addresses are compared in canonical form', () => {
    const h = harness();
    h.add(1, { peer: '2001:DB8:0::2', local: '2001:db8::1' });
    h.engine.receive(packet({}), info('2001:db8::2', '2001:db8::1'));
    expect(h.engine.status(1)[0]).toMatchObject({ peer: '2001:db8::2', state: 'Init' });
  });

  it('bad packets are counted by code and logged once a minute per source, with a count', () => {
    const h = harness();
    for (let i = 0; i < 50; i++) h.engine.receive(new Uint8Array(10), info('198.18.0.5', '198.18.0.1'));
    expect(h.engine.unmatched[DiscardCode.Truncated]).toBe(50);
    expect(h.logs()).toHaveLength(1);
    expect(h.logs()[0]).toMatch(/^bfd: packet discarded: BFD_PACKET_TRUNCATED 10 octets, less than 24$/);
    h.clock.advance(61_000);
    h.engine.receive(new Uint8Array(10), info('198.18.0.5', '198.18.0.1'));
    expect(h.logs()[1]).toMatch(/and 49 more in the last minute/);
  });

  it('session discards (authentication) are counted on the session', () => {
    const h = harness();
    const s = h.add(1, {
      peer: '198.18.0.2',
      local: '198.18.0.1',
      auth: { type: 'keyed-sha1', keyId: 1, secret: 'x' },
    });
    h.engine.receive(packet({ yourDiscriminator: s.localDiscriminator }), info('198.18.0.2', '198.18.0.1'));
    expect(h.engine.status(1)[0]!.discarded).toEqual({ [DiscardCode.AuthMissing]: 1 });
  });

  it('removing a session sends AdminDown and frees its addresses and discriminator', () => {
    const h = harness();
    h.add(1, { peer: '198.18.0.2', local: '198.18.0.1' });
    h.engine.remove(1);
    expect(h.sent.at(-1)!.bytes[1]! >> 6).toBe(State.AdminDown);
    expect(h.engine.size).toBe(0);
    h.engine.receive(packet({}), info('198.18.0.2', '198.18.0.1'));
    expect(h.engine.unmatched[DiscardCode.NoSession]).toBe(1);
    h.add(1, { peer: '198.18.0.2', local: '198.18.0.1' });
  });

  it('a session without a local address is matched once the transport resolves it', () => {
    const h = harness();
    h.add(1, { peer: '198.18.0.2' });
    h.engine.receive(packet({}), info('198.18.0.2', '198.18.0.1'));
    expect(h.engine.status(1)[0]!.state).toBe('Down');
    h.links[0]!.onLocal('198.18.0.1');
    h.engine.receive(packet({}), info('198.18.0.2', '198.18.0.1'));
    expect(h.engine.status(1)[0]).toMatchObject({ local: '198.18.0.1', state: 'Init' });
  });

  it('duplicates and the session limit are refused', () => {
    const h = harness();
    h.add(1, { peer: '198.18.0.2', local: '198.18.0.1' });
    expect(() => h.add(2, { peer: '198.18.0.2', local: '198.18.0.1' })).toThrow(/already exists/);
  });
});

describe('sessionConfig', () => {
  it('any input gives a config or a BfdConfigError, never another exception', () => {
    const value = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.boolean(),
      fc.constant(null),
      fc.constant(undefined),
    );
    const request = fc.record(
      {
        peer: fc.oneof(value, fc.constantFrom('198.18.0.2', '2001:db8::2', 'fe80::1%eth0')),
        local: fc.oneof(value, fc.constantFrom('198.18.0.1', '2001:db8::1')),
        multihop: value,
        minTxMs: fc.oneof(value, fc.integer({ min: 0, max: 70_000 })),
        minRxMs: fc.oneof(value, fc.integer({ min: 0, max: 70_000 })),
        multiplier: fc.oneof(value, fc.integer({ min: -1, max: 300 })),
        passive: value,
        auth: fc.oneof(
          value,
          fc.record({ type: fc.oneof(value, fc.constantFrom('simple', 'keyed-sha1')), keyId: value, secret: value }),
        ),
        name: value,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(request, value), (r) => {
        try {
          const c = sessionConfig(r as SessionRequest);
          expect(c.minTxMs).toBeGreaterThanOrEqual(10);
        } catch (err) {
          expect(err).toBeInstanceOf(BfdConfigError);
          expect((err as Error).message).not.toContain('\n');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('applies defaults', () => {
    expect(sessionConfig({ peer: '198.18.0.2' })).toEqual({
      peer: '198.18.0.2',
      local: null,
      multihop: false,
      minTxMs: 300,
      minRxMs: 300,
      multiplier: 3,
      passive: false,
      auth: null,
      name: '198.18.0.2',
    });
  });

  it.each([
    [{ peer: '198.18.0.300' }, 'peer'],
    [{ peer: '198.18.0.2', local: '2001:db8::1' }, 'local'],
    [{ peer: '198.18.0.2', minTxMs: 9 }, 'minTxMs'],
    [{ peer: '198.18.0.2', minRxMs: 60_001 }, 'minRxMs'],
    [{ peer: '198.18.0.2', multiplier: 0 }, 'multiplier'],
    [{ peer: '198.18.0.2', multiplier: 2.5 }, 'multiplier'],
    [{ peer: '198.18.0.2', auth: { type: 'rot13', keyId: 1, secret: 'x' } }, 'auth.type'],
    [{ peer: '198.18.0.2', auth: { type: 'keyed-md5', keyId: 1, secret: 'x'.repeat(17) } }, 'auth.secret'],
    [{ peer: '198.18.0.2', auth: { type: 'keyed-sha1', keyId: 256, secret: 'x' } }, 'auth.keyId'],
    [{ peer: '198.18.0.2', name: '' }, 'name'],
  ])('%j: BfdConfigError on %s', (req, field) => {
    try {
      sessionConfig(req as SessionRequest);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BfdConfigError);
      expect((err as BfdConfigError).field).toBe(field);
      expect((err as Error).message).toMatch(new RegExp(`^bfd: ${field.replace('.', '\\.')}: `));
    }
  });
});
