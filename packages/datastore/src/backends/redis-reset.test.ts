import { freePort, RedisServer, startRedis, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Datastore, WatchEvent, Watcher } from '../datastore.js';
import { CaptureLogger } from '../testing/capture-logger.js';
import { applyEvents, collect } from '../testing/compliance.js';
import { RedisDatastore } from './redis.js';

const inSync = (evs: WatchEvent[]) => evs.some((e) => e.type === 'in-sync');

/** Reads until a `resync` and the `in-sync` that ends its snapshot; returns the events from the resync on. */
async function resyncOf(w: Watcher): Promise<WatchEvent[]> {
  const evs = await collect(
    w,
    (e) => {
      const i = e.findIndex((x) => x.type === 'resync');
      return i >= 0 && e.slice(i).some((x) => x.type === 'in-sync');
    },
    15_000,
  );
  return evs.slice(evs.findIndex((x) => x.type === 'resync'));
}

/** Creates keys, then a watcher that has read them (snapshot and in-sync). */
async function watched(ds: Datastore, prefix: string, n: number): Promise<Watcher> {
  for (let i = 0; i < n; i++) await ds.create(`${prefix}k${i}`, `v${i}`);
  const w = ds.watch(prefix);
  await collect(w, inSync);
  return w;
}

describe('redis: a store that comes back empty or older is detected and every watcher resyncs', () => {
  let srv: RedisServer;
  beforeAll(async () => {
    srv = await startRedis();
  });
  afterAll(() => srv?.destroy());

  it('restarted empty: health false during the outage, logged once each way with its length; every watcher resyncs to the empty store', async () => {
    const log = new CaptureLogger();
    const ds = new RedisDatastore({ url: srv.url, logger: log });
    const a = await watched(ds, '/empty/a/', 2);
    const b = await watched(ds, '/empty/b/', 1);
    try {
      await waitFor('health to say connected', () => ds.health().connected);
      const seen: boolean[] = [];
      const off = ds.onHealth((h) => seen.push(h.connected));
      await srv.kill();
      srv.wipeData();
      await waitFor('health to report the outage', () => !ds.health().connected);
      expect(ds.health().lastError).toMatch(/ECONNREFUSED|closed|writeable|connect/i);
      await srv.start();
      for (const w of [a, b]) {
        const evs = await resyncOf(w);
        expect(evs.map((e) => e.type)).toEqual(['resync', 'in-sync']);
        expect(evs[0]).toMatchObject({ type: 'resync', reason: expect.stringMatching(/came back empty/) });
      }
      await waitFor('health to say connected again', () => ds.health().connected);
      expect(seen).toEqual([false, true]);
      off();
      expect(log.named('datastore unreachable').map((l) => l.level)).toEqual(['warn']);
      const back = log.named('datastore reachable again');
      expect(back.map((l) => l.level)).toEqual(['info']);
      expect(back[0]?.obj.outageMs).toBeGreaterThan(0);
      expect(back[0]?.obj.outage).toMatch(/^\d+\.\d s$/);
      expect(log.named('datastore reset detected').map((l) => l.level)).toEqual(['warn']);
      // The watchers carry on from the new store.
      const c = await ds.create('/empty/a/new', 'n');
      expect(await collect(a, (e) => e.length >= 1)).toEqual([
        { type: 'added', key: '/empty/a/new', value: 'n', revision: c.revision },
      ]);
    } finally {
      a.close();
      b.close();
      await ds.close();
    }
  });

  it('restored from an older backup: every watcher resyncs to the restored state', async () => {
    const ds = new RedisDatastore({ url: srv.url });
    const w = await watched(ds, '/old/', 3);
    try {
      await srv.stop();
      const backup = srv.saveData();
      await srv.start();
      for (let i = 3; i < 6; i++) await ds.create(`/old/k${i}`, `v${i}`);
      await collect(w, (e) => e.some((x) => x.type === 'added' && x.key === '/old/k5'));
      await srv.stop();
      srv.restoreData(backup);
      await srv.start();
      const evs = await resyncOf(w);
      expect(evs[0]).toMatchObject({ reason: expect.stringMatching(/went back/) });
      const state = applyEvents(new Map(), evs);
      expect([...state.keys()]).toEqual(['/old/k0', '/old/k1', '/old/k2']);
      expect(state).toEqual(new Map((await ds.list('/old/')).items.map((i) => [i.key, i.value])));
    } finally {
      w.close();
      await ds.close();
    }
  });

  it('restored from an older backup and written past the revision the watchers had, before they reconnect: still detected', async () => {
    const ds = new RedisDatastore({ url: srv.url });
    const w = await watched(ds, '/past/', 3);
    const other = new RedisServer(await freePort());
    try {
      await srv.stop();
      const backup = srv.saveData();
      await srv.start();
      for (let i = 3; i < 6; i++) await ds.create(`/past/k${i}`, `v${i}`);
      await collect(w, (e) => e.some((x) => x.type === 'added' && x.key === '/past/k5'));
      await srv.stop();
      // Elsewhere, the backup is restored and written to (more writes than we missed), then it
      // replaces our server's data: our revision is not behind, but the history differs.
      other.restoreData(backup);
      await other.start();
      const writer = new RedisDatastore({ url: other.url });
      for (let i = 0; i < 10; i++) await writer.create(`/past/x${i}`, `x${i}`);
      await writer.close();
      await other.stop();
      srv.restoreData(other.saveData());
      await srv.start();
      const evs = await resyncOf(w);
      expect(evs[0]).toMatchObject({ reason: expect.stringMatching(/not the one seen before/) });
      const state = applyEvents(new Map(), evs);
      expect(state).toEqual(new Map((await ds.list('/past/')).items.map((i) => [i.key, i.value])));
      expect(state.has('/past/k5')).toBe(false);
      expect(state.size).toBe(13);
    } finally {
      w.close();
      await ds.close();
      await other.destroy();
    }
  });
});

describe('redis: a server that hangs (SIGSTOP)', () => {
  let srv: RedisServer;
  beforeAll(async () => {
    srv = await startRedis();
  });
  afterAll(() => srv?.destroy());

  it('requests fail with UNAVAILABLE within the request timeout, health says why, and all is well once it answers again', async () => {
    const log = new CaptureLogger();
    const timeoutMs = 1500;
    const ds = new RedisDatastore({ url: srv.url, requestTimeoutMs: timeoutMs, logger: log });
    const w = await watched(ds, '/hang/', 2);
    try {
      await waitFor('health to say connected', () => ds.health().connected);
      srv.pause();
      const t0 = Date.now();
      const err = await ds.get('/hang/k0').catch((e: unknown) => e);
      // Bounded by the request timeout (plus scheduling slack on a loaded machine), not a hang.
      expect(Date.now() - t0).toBeLessThan(timeoutMs + 2000);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect((err as Error).message).toMatch(
        /^redis redis:\/\/127\.0\.0\.1:\d+\/0: get failed: no answer within 1\.5 s$/,
      );
      await waitFor('health to report the outage', () => !ds.health().connected);
      expect(ds.health().lastError).toMatch(/health check failed: no answer within 2\.0 s/);
      srv.resume();
      await waitFor('health to say connected again', () => ds.health().connected);
      expect((await ds.get('/hang/k0'))?.value).toBe('v0');
      const c = await ds.create('/hang/new', 'n');
      expect(await collect(w, (e) => e.length >= 1)).toEqual([
        { type: 'added', key: '/hang/new', value: 'n', revision: c.revision },
      ]);
      expect(log.named('datastore unreachable')).toHaveLength(1);
      expect(log.named('datastore reachable again')).toHaveLength(1);
      expect(log.named('datastore reset detected')).toHaveLength(0);
    } finally {
      srv.resume();
      w.close();
      await ds.close();
    }
  });
});
