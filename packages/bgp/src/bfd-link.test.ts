import { EventEmitter } from 'node:events';
import type { BfdDownEvent, SessionRequest, SessionStatus, SessionTimers } from '@tabby/bfd';
import { CeaseSubcode } from '@tabby/wire';
import { afterEach, describe, expect, it } from 'vitest';
import type { BfdHandleLike, BfdServiceLike } from './bfd-link.js';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { daemonRegistry, registerSpeakerMetrics } from './metrics.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

/** A BFD session handle the test drives: `up()`, `down(reason)`. */
class FakeHandle extends EventEmitter implements BfdHandleLike {
  updates: Partial<SessionTimers>[] = [];
  closed = false;
  constructor(readonly req: SessionRequest) {
    super();
  }
  update(t: Partial<SessionTimers>): void {
    this.updates.push(t);
  }
  close(): void {
    this.closed = true;
  }
  up(): void {
    this.emit('up', { at: Date.now() });
  }
  down(reason: BfdDownEvent['reason'] = 'failure'): void {
    this.emit('down', { reason, diag: 1, at: Date.now() } satisfies BfdDownEvent);
  }
}

class FakeService implements BfdServiceLike {
  handles: FakeHandle[] = [];
  stopped = false;
  request(req: SessionRequest): FakeHandle {
    if (this.handles.some((h) => !h.closed && h.req.peer === req.peer))
      throw new Error(`bfd: a session ${req.peer} already exists`);
    const h = new FakeHandle(req);
    this.handles.push(h);
    return h;
  }
  async sessions(): Promise<SessionStatus[]> {
    return this.live.map((h, i) => status(h.req, i + 1));
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
  get live(): FakeHandle[] {
    return this.handles.filter((h) => !h.closed);
  }
}

function status(r: SessionRequest, id: number): SessionStatus {
  return {
    id,
    name: r.name ?? r.peer,
    peer: r.peer,
    local: r.local ?? '198.18.0.1',
    multihop: !!r.multihop,
    configured: {
      minTxMs: r.minTxMs ?? 300,
      minRxMs: r.minRxMs ?? 300,
      multiplier: r.multiplier ?? 3,
      passive: !!r.passive,
      auth: null,
    },
    adminDown: false,
    discarded: {},
    transportError: null,
    state: 'Up',
    remoteState: 'Up',
    localDiscriminator: id,
    remoteDiscriminator: 100 + id,
    txIntervalMs: 100,
    rxIntervalMs: 100,
    detectTimeMs: 300,
    remoteMultiplier: 3,
    lastChangeAt: Date.now() - 5000,
    upSince: Date.now() - 5000,
    lastDownDiag: 1,
    lastDownAt: Date.now() - 6000,
    upTransitions: 2,
    flaps: 1,
    packetsSent: 10,
    packetsReceived: 9,
  } as unknown as SessionStatus;
}

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

const yaml = (id: string, peer: string, bfd: string) =>
  `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\ngracefulRestart: { enabled: false }\nconnectRetryTime: 5\npeers:\n  - { name: other, address: ${peer}, asn: 64512${bfd ? `, bfd: ${bfd}` : ''} }\n`;

function pair(bfdA: string, bfdB = bfdA) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const mk = (id: string, peer: string, bfd: string) => {
    const svc = new FakeService();
    let starts = 0;
    const s = new Speaker(parseConfig(yaml(id, peer, bfd)), {
      transport: net.transport(id),
      clock,
      bfdOnLink: () => true,
      startBfd: async () => {
        starts += 1;
        return svc;
      },
    });
    speakers.push(s);
    return { s, svc, starts: () => starts };
  };
  return { clock, a: mk('198.18.0.1', '198.18.0.2', bfdA), b: mk('198.18.0.2', '198.18.0.1', bfdB) };
}

const both = (a: Speaker, b: Speaker, state: string) =>
  a.findPeer('other')!.state === state && b.findPeer('other')!.state === state;

describe('BFD and the speaker (BfdLink)', () => {
  it('no peer asks for BFD: no service', async () => {
    const { a, b } = pair('');
    await Promise.all([a.s.start(), b.s.start()]);
    expect(a.starts()).toBe(0);
    expect(await a.s.bfd.show()).toEqual([]);
    expect(await a.s.bfd.sessions()).toEqual([]);
  });

  it("one session per BFD peer with the peer's settings; BFD Down closes with Cease/10 and holds until Up", async () => {
    const { a, b, clock } = pair('{ minRx: 100, minTx: 150, multiplier: 4 }');
    await Promise.all([a.s.start(), b.s.start()]);
    expect(a.starts()).toBe(1);
    expect(a.svc.handles.map((h) => h.req)).toEqual([
      { peer: '198.18.0.2', multihop: false, minTxMs: 150, minRxMs: 100, multiplier: 4, passive: false, name: 'other' },
    ]);
    await until('established', () => both(a.s, b.s, 'Established'));
    // The session was never Up: BGP came up without it (RFC 5882 4.1 leaves that to the client).
    const [ha] = a.svc.handles;
    const [hb] = b.svc.handles;
    ha!.up();
    hb!.up();
    ha!.down('failure');
    hb!.down('failure');
    const pa = a.s.findPeer('other')!;
    const pb = b.s.findPeer('other')!;
    expect(pa.established).toBeNull();
    expect(pa.lastNotificationSent?.n).toMatchObject({ code: 6, subcode: CeaseSubcode.BfdDown });
    expect(pa.heldByBfd).toBe(true);
    // Held: no connection, whatever the back-off and connect retry timers say.
    for (let i = 0; i < 12; i++) {
      clock.advance(5000);
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(pa.state).toBe('Idle');
    expect(pb.state).toBe('Idle');
    expect(pa.lastError).toBe('BFD Down: waiting for BFD Up to connect');
    const rows = await a.s.bfd.show();
    expect(rows[0]).toMatchObject({ peer: 'other', bgp_state: 'Idle', bgp_held: true, state: 'Up' });
    // BFD Up again: both connect at once (no timer advanced).
    ha!.up();
    hb!.up();
    expect(pa.heldByBfd).toBe(false);
    await until('established again', () => both(a.s, b.s, 'Established'));
    expect(pa.establishedTransitions).toBe(2);
  });

  it('with graceful restart and the N bit on both sides, BFD Down is a Hard Reset: the routes go at once, not stale', async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const svc = new FakeService();
    const mk = (id: string, peer: string, bfd: boolean, originate = '') => {
      const s = new Speaker(
        parseConfig(
          `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${originate}peers:\n  - { name: other, address: ${peer}, asn: 64512${bfd ? ', bfd: true' : ''} }\n`,
        ),
        { transport: net.transport(id), clock, bfdOnLink: () => true, startBfd: async () => svc },
      );
      speakers.push(s);
      return s;
    };
    const a = mk('198.18.0.1', '198.18.0.2', true);
    const b = mk('198.18.0.2', '198.18.0.1', false, 'originate:\n  - { prefix: 198.19.0.0/24 }\n');
    await Promise.all([a.start(), b.start()]);
    await until('route', () => a.rib.size === 1);
    const pa = a.findPeer('other')!;
    expect(pa.peerNotificationGr).toBe(true);
    svc.handles[0]!.up();
    svc.handles[0]!.down();
    expect(pa.lastNotificationSent?.n).toMatchObject({ code: 6, subcode: CeaseSubcode.HardReset });
    expect([...pa.lastNotificationSent!.n.data]).toEqual([CeaseSubcode.BfdDown]);
    await until('dropped, not kept stale', () => a.rib.size === 0);
    expect(a.staleCount(pa)).toBe(0);
  });

  it('the peer disabling BFD (AdminDown) or a worker restart leaves the BGP session alone', async () => {
    const { a, b } = pair('true');
    await Promise.all([a.s.start(), b.s.start()]);
    await until('established', () => both(a.s, b.s, 'Established'));
    const h = a.svc.handles[0]!;
    h.up();
    h.down('peer-admin-down');
    h.up();
    h.down('worker-restart');
    h.down('local-admin-down');
    expect(a.s.findPeer('other')!.state).toBe('Established');
    expect(a.s.findPeer('other')!.heldByBfd).toBe(false);
  });

  it('reload: timers update in place, a new hop mode means a new session, BFD off releases a held peer', async () => {
    const { a, b } = pair('{ minRx: 300 }', '');
    await Promise.all([a.s.start(), b.s.start()]);
    await until('established', () => both(a.s, b.s, 'Established'));
    const first = a.svc.handles[0]!;
    a.s.reload(parseConfig(yaml('198.18.0.1', '198.18.0.2', '{ minRx: 100 }')));
    await until('updated', () => first.updates.length === 1);
    expect(first.updates).toEqual([{ minTxMs: 300, minRxMs: 100, multiplier: 3 }]);
    expect(a.s.findPeer('other')!.state).toBe('Established'); // no reset for a BFD change
    a.s.reload(parseConfig(yaml('198.18.0.1', '198.18.0.2', '{ minRx: 100, multihop: true }')));
    await until('replaced', () => first.closed && a.svc.live.length === 1);
    const second = a.svc.live[0]!;
    expect(second.req.multihop).toBe(true);
    second.up();
    second.down();
    const pa = a.s.findPeer('other')!;
    expect(pa.heldByBfd).toBe(true);
    a.s.reload(parseConfig(yaml('198.18.0.1', '198.18.0.2', '')));
    await until('closed', () => second.closed);
    expect(pa.heldByBfd).toBe(false);
    await until('re-established without BFD', () => both(a.s, b.s, 'Established'));
    // Peer removed: its session goes too; stop ends the service.
    a.s.reload(parseConfig(yaml('198.18.0.1', '198.18.0.2', 'true')));
    await until('a third', () => a.svc.live.length === 1);
    a.s.reload(parseConfig('routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\n'));
    await until('removed', () => a.svc.live.length === 0);
    await a.s.stop();
    expect(a.svc.stopped).toBe(true);
  });

  it('show and sessions (for metrics) read the live sessions', async () => {
    const { a, b } = pair('true');
    await Promise.all([a.s.start(), b.s.start()]);
    const rows = await a.s.bfd.show();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      peer: 'other',
      address: '198.18.0.2',
      local_discriminator: 1,
      remote_discriminator: 101,
      tx_interval_ms: 100,
      detect_time_ms: 300,
      last_diagnostic: 'Control Detection Time Expired',
      bgp_held: false,
    });
    expect((await a.s.bfd.sessions()).map((s) => [s.name, s.state])).toEqual([['other', 'Up']]);
    // Prometheus: the speaker's metrics carry its BFD sessions.
    const registry = daemonRegistry();
    registerSpeakerMetrics(registry, () => a.s);
    const text = await registry.metrics();
    expect(text).toMatch(
      /^tabby_bfd_session_state\{peer="other",address="198\.18\.0\.2",local="198\.18\.0\.1",multihop="false"\} 3$/m,
    );
    expect(text).toMatch(/^tabby_bfd_session_flaps_total\{peer="other",.*\} 1$/m);
    // The control socket's `show bfd`: all, one peer (by name or address), an unknown peer.
    const h = new ControlHandler(a.s, { version: 'test' });
    const peers = (x: unknown) => (x as { peer: string; bgp_state: string }[]).map((r) => [r.peer, r.bgp_state]);
    expect(peers(await h.handle('show bfd', {}))).toEqual([['other', rows[0]!.bgp_state]]);
    expect(peers(await h.handle('show bfd', { peer: '198.18.0.2' }))).toEqual([['other', rows[0]!.bgp_state]]);
    expect(() => h.handle('show bfd', { peer: 'nobody' })).toThrow('no neighbor "nobody" (configured: other)');
    expect(() => h.handle('show bfd', { peer: 1 })).toThrow('"peer" must be a non-empty string');
  });

  it('without bfd.multihop, a peer on no connected subnet gets multihop BFD; one on a subnet single hop', async () => {
    const svc = new FakeService();
    const s = new Speaker(
      parseConfig(
        'routerId: 198.18.0.1\nasn: 64512\nlisten: { enabled: false }\npeers:\n' +
          '  - { name: near, address: 198.18.0.2, asn: 64512, bfd: true }\n' +
          '  - { name: far, address: 198.19.9.9, asn: 64512, bfd: true }\n' +
          '  - { name: pinned, address: 198.19.9.10, asn: 64512, bfd: { multihop: false } }\n' +
          '  - { name: ebgp, address: 198.18.0.3, asn: 65001, multihop: 3, bfd: true }\n',
      ),
      {
        transport: new MemoryNetwork().transport('198.18.0.1'),
        clock: new ManualClock(),
        bfdOnLink: (a) => a.startsWith('198.18.0.'),
        startBfd: async () => svc,
      },
    );
    speakers.push(s);
    await s.start();
    expect(svc.handles.map((h) => [h.req.name, h.req.multihop])).toEqual([
      ['near', false],
      ['far', true],
      ['pinned', false],
      ['ebgp', true],
    ]);
  });

  it("the service starts with the config's speaker-wide bfd options", async () => {
    const seen: unknown[] = [];
    const s = new Speaker(
      parseConfig(`${yaml('198.18.0.1', '198.18.0.2', 'true')}bfd: { gtsm: nftables, sourceCheck: off }\n`),
      {
        transport: new MemoryNetwork().transport('198.18.0.1'),
        clock: new ManualClock(),
        startBfd: async (opts) => {
          seen.push({ gtsm: opts.gtsm, singleHopSourceCheck: opts.singleHopSourceCheck, logger: !!opts.logger });
          return new FakeService();
        },
      },
    );
    speakers.push(s);
    await s.start();
    expect(seen).toEqual([{ gtsm: 'nftables', singleHopSourceCheck: 'off', logger: true }]);
  });

  it('stop does not wait for a service still starting; that one is stopped once it is up', async () => {
    const svc = new FakeService();
    let started!: (s: FakeService) => void;
    const s = new Speaker(parseConfig(yaml('198.18.0.1', '198.18.0.2', 'true')), {
      transport: new MemoryNetwork().transport('198.18.0.1'),
      clock: new ManualClock(),
      startBfd: () =>
        new Promise((r) => {
          started = r;
        }),
    });
    const starting = s.start();
    await until('starting', () => started !== undefined);
    await s.stop();
    started(svc);
    await starting;
    await until('stopped', () => svc.stopped);
    expect(svc.handles).toEqual([]);
  });

  it('a service that cannot start fails the start with its one-line reason', async () => {
    const s = new Speaker(parseConfig(yaml('198.18.0.1', '198.18.0.2', 'true')), {
      transport: new MemoryNetwork().transport('198.18.0.1'),
      clock: new ManualClock(),
      startBfd: () => Promise.reject(new Error('bfd: the worker did not start: no answer within 10 s')),
    });
    speakers.push(s);
    await expect(s.start()).rejects.toThrow('bfd: the worker did not start');
  });
});
