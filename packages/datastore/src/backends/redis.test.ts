import { type RedisServer, startRedis } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyEvents, collect, datastoreCompliance } from '../testing/compliance.js';
import { RedisDatastore } from './redis.js';

datastoreCompliance('redis', async () => {
  const srv = await startRedis();
  const ds = new RedisDatastore({ url: srv.url });
  return {
    ds,
    makeGap: () => ds.trimHistory(0),
    teardown: async () => {
      await ds.close();
      await srv.destroy();
    },
  };
});

describe('redis: outage and auth', () => {
  let srv: RedisServer;
  beforeAll(async () => {
    srv = await startRedis({ password: 's3cret pass' });
  });
  afterAll(() => srv?.destroy());

  it('AUTH: a wrong password fails, the right one works', async () => {
    const bad = new RedisDatastore({
      url: `redis://:wrong@127.0.0.1:${srv.port}/0`,
      redis: { maxRetriesPerRequest: 0, retryStrategy: () => null },
    });
    await expect(bad.get('/x')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await bad.close();
    const good = new RedisDatastore({ url: srv.url });
    await good.create('/auth/ok', 'yes');
    expect((await good.get('/auth/ok'))?.value).toBe('yes');
    await good.close();
  });

  it('a watcher survives a server stop and restart, ends consistent, and no acknowledged write is lost', async () => {
    const ds = new RedisDatastore({ url: srv.url });
    const w = ds.watch('/outage/');
    try {
      await collect(w, (e) => e.some((x) => x.type === 'in-sync'));
      const acked = new Map<string, string>();
      for (let i = 0; i < 50; i++) {
        await ds.create(`/outage/k${i}`, `v${i}`);
        acked.set(`/outage/k${i}`, `v${i}`);
      }
      await srv.stop();
      await expect(ds.create('/outage/during', 'x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await srv.start();
      for (let i = 50; i < 60; i++) {
        await ds.create(`/outage/k${i}`, `v${i}`);
        acked.set(`/outage/k${i}`, `v${i}`);
      }
      const list = await ds.list('/outage/');
      for (const [k, v] of acked) expect(list.items.find((i) => i.key === k)?.value).toBe(v);
      const expected = new Map(list.items.map((i) => [i.key, i.value]));
      const state = new Map<string, string>();
      await collect(
        w,
        (evs) => {
          const s = applyEvents(new Map(), evs);
          state.clear();
          for (const [k, v] of s) state.set(k, v);
          return acked.size === [...acked.keys()].filter((k) => s.get(k) === acked.get(k)).length;
        },
        20_000,
      );
      for (const [k, v] of expected) expect(state.get(k)).toBe(v);
    } finally {
      w.close();
      await ds.close();
    }
  }, 90_000);
});
