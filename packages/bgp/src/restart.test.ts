import { Afi, CeaseSubcode, notification } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import type { SpeakerConfig } from './config/types.js';
import { silentLogger } from './logger.js';
import { GracefulRestart } from './restart.js';
import { NONE } from './rib/loc-rib.js';
import { prefixKeyFromText } from './rib/prefix-key.js';
import type { CloseReason } from './session.js';
import { config, FakePeer, rib as newRib } from './stage-fixtures.js';

const C = config(`gracefulRestart: { restartTime: 120, stalePathTime: 360, selectionDeferral: 30 }
peers:
  - { name: a, address: 198.18.0.1, asn: 64512 }
  - { name: b, address: 198.18.0.2, asn: 64512 }
`);

const V4 = prefixKeyFromText(4, 0xc6130100n, 24); // 198.19.1.0/24
const V6 = prefixKeyFromText(6, 0x20010db8000000000000000000000000n, 64); // 2001:db8::/64

function setup(c: SpeakerConfig = C, restarting = false) {
  const { rib, attrs } = newRib(c);
  const clock = new ManualClock();
  const peers = c.peers.map((pc) => new FakePeer(pc));
  let changes = 0;
  const gr = new GracefulRestart(
    { rib, clock, log: silentLogger, peers: () => peers, changed: () => changes++ },
    c,
    restarting,
  );
  const set = attrs.intern({ origin: 'igp', asPath: [], nextHop: '198.18.0.1' }, '198.18.0.1');
  const learn = (p: FakePeer) => {
    rib.put(V4, p.source, 0, set, set, 0);
    rib.put(V6, p.source, 0, set, set, 0);
  };
  const stale = (p: FakePeer) =>
    [V4, V6].map((k) => rib.find(k, p.source, 0)).map((r) => (r === NONE ? 'gone' : rib.stale(r)));
  return { rib, clock, peers, gr, learn, stale, changes: () => changes };
}

const dropped: CloseReason = { kind: 'transport', text: 'Socket: connection closed by peer' };
const cease = (subcode: number): CloseReason => ({
  kind: 'notification-received',
  notification: notification(6, subcode),
  text: 'Received: Cease',
});

describe('graceful restart stage (RFC 4724, RFC 8538)', () => {
  it('keeps a dropped session’s routes as stale, removes each family’s at its End-of-RIB', () => {
    const { gr, peers, learn, stale } = setup();
    const a = peers[0]!;
    a.peerRestartTime = 120;
    learn(a);
    expect(gr.sessionDown(a, dropped)).toBe(true);
    expect(stale(a)).toEqual([true, true]);
    expect(gr.staleCount(a)).toBe(2);
    gr.established(a);
    gr.endOfRib(a, Afi.ipv4);
    expect(stale(a)).toEqual(['gone', true]);
    gr.endOfRib(a, Afi.ipv6);
    expect(stale(a)).toEqual(['gone', 'gone']);
  });

  it('removes stale routes when the peer’s restart time (capped by stalePathTime) passes', () => {
    const { gr, peers, learn, stale, clock } = setup();
    const a = peers[0]!;
    a.peerRestartTime = 90;
    learn(a);
    gr.sessionDown(a, dropped);
    clock.advance(89_999);
    expect(stale(a)).toEqual([true, true]);
    clock.advance(1);
    expect(stale(a)).toEqual(['gone', 'gone']);
  });

  it('keeps routes after a NOTIFICATION only with the N bit, and never after a Hard Reset', () => {
    const { gr, peers } = setup();
    const [a, b] = peers as [FakePeer, FakePeer];
    a.peerRestartTime = 120;
    b.peerRestartTime = 120;
    b.peerNotificationGr = true;
    expect(gr.sessionDown(a, cease(CeaseSubcode.AdministrativeShutdown))).toBe(false);
    expect(gr.sessionDown(b, cease(CeaseSubcode.AdministrativeShutdown))).toBe(true);
    expect(gr.sessionDown(b, cease(CeaseSubcode.HardReset))).toBe(false);
    const noGr = new FakePeer(C.peers[0]!);
    expect(gr.sessionDown(noGr, dropped)).toBe(false);
  });

  it('defers selection after a restart until every peer sent End-of-RIB for each family', async () => {
    const { gr, peers, changes } = setup(C, true);
    const [a, b] = peers as [FakePeer, FakePeer];
    expect(gr.deferring).toBe(true);
    let done = false;
    void gr.selectionDone.then(() => {
      done = true;
    });
    gr.start();
    a.families = new Set([Afi.ipv4, Afi.ipv6]);
    for (const p of peers) gr.established(p);
    gr.endOfRib(a, Afi.ipv4);
    gr.endOfRib(b, Afi.ipv4);
    expect(gr.deferring).toBe(true); // a still owes IPv6
    gr.endOfRib(a, Afi.ipv6);
    expect(gr.deferring).toBe(false);
    await gr.selectionDone;
    expect(done).toBe(true);
    expect(changes()).toBeGreaterThan(0);
  });

  it('ends the deferral when its time passes, and a peer that is down administratively is not waited for', () => {
    const timed = setup(C, true);
    timed.gr.start();
    timed.clock.advance(29_999);
    expect(timed.gr.deferring).toBe(true);
    timed.clock.advance(1);
    expect(timed.gr.deferring).toBe(false);

    const admin = setup(C, true);
    const [a, b] = admin.peers as [FakePeer, FakePeer];
    b.adminDown = true;
    admin.gr.start();
    admin.gr.established(a);
    admin.gr.endOfRib(a, Afi.ipv4);
    expect(admin.gr.deferring).toBe(false);
    // Not restarting, or graceful restart off: nothing is deferred.
    expect(setup(C, false).gr.deferring).toBe(false);
    expect(setup(config('gracefulRestart: { enabled: false }\n'), true).gr.deferring).toBe(false);
  });

  it('forgets a peer whose routes are dropped: its stale timer does not fire', () => {
    const { gr, peers, learn, clock, rib } = setup();
    const a = peers[0]!;
    a.peerRestartTime = 10;
    learn(a);
    gr.sessionDown(a, dropped);
    gr.forget(a);
    clock.advance(20_000);
    expect(rib.routeCount(a.source)).toBe(2);
  });
});
