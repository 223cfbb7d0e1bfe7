import { afterEach, describe, expect, it } from 'vitest';
import { type Clock, systemClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { Speaker, type SpeakerDeps } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

/** A receiving speaker and the one that feeds it, started (`rx` with `deps` added). */
async function pair(deps: Partial<SpeakerDeps> = {}): Promise<{ rx: Speaker; tx: Speaker }> {
  const net = new MemoryNetwork();
  const cfg = (id: string, peer: string) =>
    parseConfig(
      `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\ngracefulRestart: { enabled: false }\npeers:\n  - { address: ${peer}, asn: 64512 }\n`,
    );
  const rx = new Speaker(cfg('198.18.0.1', '198.18.0.2'), { transport: net.transport('198.18.0.1'), ...deps });
  const tx = new Speaker(cfg('198.18.0.2', '198.18.0.1'), { transport: net.transport('198.18.0.2') });
  speakers.push(rx, tx);
  await Promise.all([rx.start(), tx.start()]);
  return { rx, tx };
}

describe("a session's routes are dropped a slice at a time", () => {
  it('takes them out of selection at once, removes them in slices, and keeps the new session’s routes', async () => {
    const { rx, tx } = await pair({ sliceSize: 5 });
    const N = 300;
    for (let i = 0; i < N; i++) tx.originate(`198.19.${i >> 2}.${(i & 3) * 64}/26`);
    await until('all routes at rx', () => rx.fib.size === N && rx.rib.pending === 0, 10_000);
    const peer = rx.findPeer('198.18.0.2')!;
    const before = peer.source;

    peer.clear('test');
    // The session is down: its paths are no candidates any more, but still being removed.
    expect(before.dead).toBe(true);
    expect(peer.source).not.toBe(before);
    expect(rx.rib.routeCount(peer.source)).toBe(0);
    expect(rx.rib.paths).toBe(N);

    // The session comes back and re-sends everything while the old paths are still being removed.
    await until(
      'new session holds everything, old paths gone',
      () =>
        peer.state === 'Established' &&
        rx.rib.paths === N &&
        rx.rib.pending === 0 &&
        [...rx.rib.values()].every((d) => d.paths.length === 1 && d.best?.source === peer.source),
      10_000,
    );
    expect(rx.fib.size).toBe(N);
    expect(rx.rib.routeCount(peer.source)).toBe(N);

    peer.shutdown('test');
    await until('all gone', () => rx.rib.size === 0 && rx.rib.paths === 0 && rx.fib.size === 0, 10_000);
    expect(rx.attrs.size).toBe(0);
  });

  it('looks at the clock every 256 routes: a turn whose time is up removes no more', async () => {
    // Every look at this clock finds the turn's time used up: a turn does one step of each kind.
    let t = 0;
    const late: Clock = { ...systemClock, now: () => (t += 1000) };
    const { rx, tx } = await pair({ clock: late });
    const N = 3000;
    for (let i = 0; i < N; i++) tx.originate(`198.19.${i >> 4}.${(i & 15) * 16}/28`);
    await until('all routes at rx', () => rx.fib.size === N && rx.rib.pending === 0, 10_000);

    rx.findPeer('198.18.0.2')!.shutdown('test');
    // One sample per turn of the loop (the work loop and this both run once per check phase).
    let most = 0;
    let mostDecided = 0;
    for (let paths = rx.rib.paths, size = rx.rib.size; size > 0; ) {
      await new Promise((r) => setImmediate(r));
      most = Math.max(most, paths - rx.rib.paths);
      mostDecided = Math.max(mostDecided, size - rx.rib.size);
      paths = rx.rib.paths;
      size = rx.rib.size;
    }
    expect(rx.fib.size).toBe(0);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(256);
    expect(mostDecided).toBeLessThanOrEqual(256);
  });

  it('removes the routes of a session reset by a reload (the peer gets a new source first)', async () => {
    const net = new MemoryNetwork();
    const cfg = (id: string, peer: string, hold: number) =>
      parseConfig(
        `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\ngracefulRestart: { enabled: false }\npeers:\n  - { address: ${peer}, asn: 64512, holdTime: ${hold} }\n`,
      );
    const rx = new Speaker(cfg('198.18.0.1', '198.18.0.2', 90), { transport: net.transport('198.18.0.1') });
    const tx = new Speaker(cfg('198.18.0.2', '198.18.0.1', 90), { transport: net.transport('198.18.0.2') });
    speakers.push(rx, tx);
    await Promise.all([rx.start(), tx.start()]);
    for (let i = 0; i < 20; i++) tx.originate(`198.19.${i}.0/24`);
    await until('routes at rx', () => rx.fib.size === 20 && rx.rib.pending === 0);
    const peer = rx.findPeer('198.18.0.2')!;
    const before = peer.establishedTransitions;
    expect(rx.reload(cfg('198.18.0.1', '198.18.0.2', 60)).peers_reset).toHaveLength(1);
    await until(
      'back, with one path per prefix',
      () =>
        peer.establishedTransitions > before &&
        rx.rib.routeCount(peer.source) === 20 &&
        rx.rib.pending === 0 &&
        [...rx.rib.values()].every((d) => d.paths.length === 1 && d.best?.source === peer.source),
    );
    expect(rx.rib.paths).toBe(20);
  });
});
