import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { type EtcdServer, freePort, startEtcd, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../open.js';
import { CaptureLogger } from '../testing/capture-logger.js';
import { applyEvents, collect, datastoreCompliance } from '../testing/compliance.js';
import { EtcdDatastore } from './etcd.js';

const run = promisify(execFile);

datastoreCompliance('etcd', async () => {
  const srv = await startEtcd();
  const ds = new EtcdDatastore({ hosts: [srv.endpoint] });
  return {
    ds,
    makeGap: () => ds.compact(),
    teardown: async () => {
      await ds.close();
      await srv.destroy();
    },
  };
});

describe('etcd: outage, paging and auth', () => {
  let srv: EtcdServer;
  beforeAll(async () => {
    srv = await startEtcd();
  });
  afterAll(() => srv?.destroy());

  it('lists in pages, all read at one revision', async () => {
    const ds = new EtcdDatastore({ hosts: [srv.endpoint], pageSize: 7 });
    try {
      for (let i = 0; i < 25; i++) await ds.create(`/paged/${String(i).padStart(2, '0')}`, String(i));
      await ds.create('/paged0', 'outside the prefix');
      const l = await ds.list('/paged/');
      expect(l.items.map((i) => i.value)).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
      // A read at an older revision sees the older state, across pages.
      await ds.delete('/paged/03');
      const old = await ds.list('/paged/', l.revision);
      expect(old.items.length).toBe(25);
      expect((await ds.list('/paged/')).items.length).toBe(24);
    } finally {
      await ds.close();
    }
  });

  it('a watcher survives a server stop and restart, ends consistent, and no acknowledged write is lost', async () => {
    const ds = new EtcdDatastore({ hosts: [srv.endpoint] });
    const w = ds.watch('/outage/');
    try {
      await collect(w, (e) => e.some((x) => x.type === 'in-sync'));
      const acked = new Map<string, string>();
      for (let i = 0; i < 30; i++) {
        await ds.create(`/outage/k${i}`, `v${i}`);
        acked.set(`/outage/k${i}`, `v${i}`);
      }
      await srv.stop();
      await expect(ds.create('/outage/during', 'x')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await srv.start();
      for (let i = 30; i < 40; i++) {
        await ds.create(`/outage/k${i}`, `v${i}`);
        acked.set(`/outage/k${i}`, `v${i}`);
      }
      const list = await ds.list('/outage/');
      for (const [k, v] of acked) expect(list.items.find((i) => i.key === k)?.value).toBe(v);
      let state = new Map<string, string>();
      await collect(
        w,
        (evs) => {
          state = applyEvents(new Map(), evs);
          return [...acked].every(([k, v]) => state.get(k) === v);
        },
        30_000,
      );
      expect(state).toEqual(new Map(list.items.map((i) => [i.key, i.value])));
    } finally {
      w.close();
      await ds.close();
    }
  }, 90_000);

  it('an etcd that comes back empty (its data lost): health false, then true, logged once each; every watcher resyncs to the empty store', async () => {
    const log = new CaptureLogger();
    const ds = new EtcdDatastore({ hosts: [srv.endpoint], logger: log });
    for (let i = 0; i < 5; i++) await ds.create(`/wiped/k${i}`, String(i));
    const w = ds.watch('/wiped/');
    try {
      await collect(w, (e) => e.some((x) => x.type === 'in-sync'));
      await waitFor('health to say connected', () => ds.health().connected);
      await srv.kill();
      srv.wipeData();
      await waitFor('health to report the outage', () => !ds.health().connected);
      await srv.start();
      const evs = await collect(
        w,
        (e) => {
          const i = e.findIndex((x) => x.type === 'resync');
          return i >= 0 && e.slice(i).some((x) => x.type === 'in-sync');
        },
        20_000,
      );
      const from = evs.findIndex((x) => x.type === 'resync');
      expect(evs.slice(from).map((e) => e.type)).toEqual(['resync', 'in-sync']);
      expect(evs[from]).toMatchObject({ reason: expect.stringMatching(/revision went back from \d+ to \d+/) });
      await waitFor('health to say connected again', () => ds.health().connected);
      expect(log.named('datastore unreachable').map((l) => l.level)).toEqual(['warn']);
      expect(log.named('datastore reachable again').map((l) => l.level)).toEqual(['info']);
      expect(log.named('datastore reset detected').map((l) => l.level)).toEqual(['warn']);
      const c = await ds.create('/wiped/new', 'n');
      expect(await collect(w, (e) => e.length >= 1)).toEqual([
        { type: 'added', key: '/wiped/new', value: 'n', revision: c.revision },
      ]);
    } finally {
      w.close();
      await ds.close();
    }
  }, 60_000);

  // Last in this block: it turns authentication on for the server.
  it('authenticates with user and password from the URL', async () => {
    const ctl = (...args: string[]) =>
      run('etcdctl', ['--endpoints', srv.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    await ctl('user', 'add', 'root:rootpw');
    await ctl('auth', 'enable');
    const anon = openDatastore(srv.url);
    await expect(anon.create('/auth/x', 'y')).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await anon.close();
    const ds = openDatastore(`etcd://root:rootpw@127.0.0.1:${srv.port}`);
    try {
      await ds.create('/auth/x', 'y');
      expect((await ds.get('/auth/x'))?.value).toBe('y');
    } finally {
      await ds.close();
    }
    // The member list form, its first member down: credentials and failover together.
    const dead = await freePort();
    const two = openDatastore(`etcd://root:rootpw@127.0.0.1:${dead},127.0.0.1:${srv.port}`);
    try {
      expect(two.description).toBe(`etcd http://127.0.0.1:${dead},http://127.0.0.1:${srv.port}`);
      await two.update('/auth/x', 'z');
      expect((await two.get('/auth/x'))?.value).toBe('z');
    } finally {
      await two.close();
    }
  });
});
