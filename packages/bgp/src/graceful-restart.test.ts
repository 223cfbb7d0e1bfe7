import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { type BestRouteEvent, Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const running: Speaker[] = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

const net = new MemoryNetwork();
let port = 1000;

function pair(grB = 'gracefulRestart: { restartTime: 1 }\n') {
  port += 2;
  const cfgA = parseConfig(
    `routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: ${port} }\nconnectRetryTime: 1\ngracefulRestart: { restartTime: 1, selectionDeferral: 5 }\noriginate:\n  - { prefix: 198.18.64.0/26 }\npeers:\n  - { name: b, address: 198.18.0.2, port: ${port + 1}, asn: 64512 }\n`,
  );
  const cfgB = parseConfig(
    `routerId: 198.18.0.2\nasn: 64512\nlisten: { address: 198.18.0.2, port: ${port + 1} }\nconnectRetryTime: 1\n${grB}originate:\n  - { prefix: 198.18.65.0/26 }\npeers:\n  - { name: a, address: 198.18.0.1, port: ${port}, asn: 64512 }\n`,
  );
  const make = (which: 'a' | 'b', restarting = false) => {
    const s = new Speaker(which === 'a' ? cfgA : cfgB, {
      transport: net.transport(which === 'a' ? '198.18.0.1' : '198.18.0.2'),
      restarting,
    });
    running.push(s);
    return s;
  };
  return { make };
}

const pathAt = (s: Speaker, prefix: string) =>
  [...s.rib.values()].find((d) => prefixKeyText(d.key) === prefix)?.paths[0];

describe('graceful restart (RFC 4724, RFC 8538)', () => {
  it('helper: keeps a restarting peer routes as stale in the FIB, refreshes them when it returns', async () => {
    const { make } = pair();
    const a = make('a');
    const b = make('b');
    const events: BestRouteEvent[] = [];
    b.subscribe((e) => events.push(e));
    await Promise.all([a.start(), b.start()]);
    await until('route at b', () => pathAt(b, '198.18.64.0/26') !== undefined);
    expect(b.peers.get('a')!.peerNotificationGr).toBe(true);
    await a.stop(); // Cease/Administrative Shutdown: with the N bit negotiated, b keeps the routes
    await until('stale', () => pathAt(b, '198.18.64.0/26')?.stale === true);
    expect(events.filter((e) => e.type === 'withdraw')).toEqual([]);
    const a2 = make('a', true);
    await a2.start();
    await until('refreshed', () => pathAt(b, '198.18.64.0/26')?.stale === false, 6000);
    expect(events.filter((e) => e.type === 'withdraw')).toEqual([]);
  });

  it('helper: removes stale routes when the peer does not come back within its restart time', async () => {
    const { make } = pair();
    const a = make('a');
    const b = make('b');
    await Promise.all([a.start(), b.start()]);
    await until('route at b', () => pathAt(b, '198.18.64.0/26') !== undefined);
    await a.stop();
    await until('stale', () => pathAt(b, '198.18.64.0/26')?.stale === true);
    await until('stale routes gone after 1 s', () => pathAt(b, '198.18.64.0/26') === undefined, 3000);
  });

  it('an operator `neighbor down` sends Hard Reset, so the peer drops the routes at once', async () => {
    const { make } = pair();
    const a = make('a');
    const b = make('b');
    await Promise.all([a.start(), b.start()]);
    await until('route at b', () => pathAt(b, '198.18.64.0/26') !== undefined);
    a.peers.get('b')!.shutdown('maintenance');
    await until('removed', () => pathAt(b, '198.18.64.0/26') === undefined, 500);
    expect(b.peers.get('a')!.lastNotificationReceived?.n).toMatchObject({ code: 6, subcode: 9 });
  });

  it('restarting: sets the R bit and defers selection and updates until the peer End-of-RIB', async () => {
    const { make } = pair();
    const b = make('b');
    await b.start();
    const a = make('a', true);
    expect(a.deferring).toBe(true);
    const status = () => new ControlHandler(a, { version: 'test' }).status().graceful_restart.restarting;
    expect(status()).toBe(true); // show status says selection waits
    let selected = false;
    void a.selectionDone.then(() => {
      selected = true;
    });
    await new Promise((r) => setTimeout(r, 0));
    expect(selected).toBe(false);
    await a.start();
    const openCaps = a.localOpen([...a.peers.values()][0]!).capabilities;
    expect(openCaps.find((c) => c.kind === 'graceful-restart')).toMatchObject({ restarting: true });
    await until('deferral ends on End-of-RIB', () => !a.deferring, 4000);
    expect(status()).toBe(false);
    await a.selectionDone;
    expect(selected).toBe(true);
    await until('a learned b route', () => pathAt(a, '198.18.65.0/26') !== undefined);
    await until('b learned a route', () => pathAt(b, '198.18.64.0/26') !== undefined);
  });
});

describe('reload that resets a session', () => {
  it('drops the routes learned on the old session: no ghost path survives the reset', async () => {
    const { make } = pair('gracefulRestart: { enabled: false }\n');
    const a = make('a');
    const b = make('b');
    await Promise.all([a.start(), b.start()]);
    await until('route at b', () => pathAt(b, '198.18.64.0/26') !== undefined);
    // Turning graceful restart on for the peer changes the capabilities: the session resets.
    const next = parseConfig(
      `routerId: 198.18.0.2\nasn: 64512\nlisten: { address: 198.18.0.2, port: ${port + 1} }\nconnectRetryTime: 1\ngracefulRestart: { restartTime: 1 }\noriginate:\n  - { prefix: 198.18.65.0/26 }\npeers:\n  - { name: a, address: 198.18.0.1, port: ${port}, asn: 64512 }\n`,
    );
    expect(b.reload(next).peers_reset).toEqual(['a']);
    await until('re-learned at b', () => pathAt(b, '198.18.64.0/26') !== undefined, 6000);
    const paths = () => [...b.rib.values()].find((d) => prefixKeyText(d.key) === '198.18.64.0/26')?.paths ?? [];
    expect(paths()).toHaveLength(1);
    // Without its peer the route must go (its one path was from the new session).
    await a.stop();
    await until('gone at b after a stopped and the restart time ran out', () => paths().length === 0, 6000);
  });
});
