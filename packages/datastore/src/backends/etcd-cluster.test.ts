import { type EtcdCluster, exec, haveCommands, startEtcdCluster, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Datastore, WatchEvent, Watcher } from '../datastore.js';
import { DatastoreError } from '../errors.js';
import { openDatastore } from '../open.js';
import { CaptureLogger } from '../testing/capture-logger.js';
import { applyEvents, collect } from '../testing/compliance.js';
import { EtcdDatastore } from './etcd.js';

const inSync = (evs: WatchEvent[]) => evs.some((e) => e.type === 'in-sync');

/** Reads `w` until its state (applied from `state`) equals `want`; returns the state. */
async function until(w: Watcher, state: Map<string, string>, want: Map<string, string>, timeoutMs = 20_000) {
  const same = () => state.size === want.size && [...want].every(([k, v]) => state.get(k) === v);
  if (!same()) {
    await collect(
      w,
      (evs) => {
        applyEvents(state, evs.splice(0));
        return same();
      },
      timeoutMs,
    );
  }
  return state;
}

/**
 * Moves the cluster's leadership to member `i` (`etcdctl move-leader`) and waits until it leads.
 * etcdctl, because it prints member IDs in hex: 64-bit IDs do not survive a JS number.
 */
async function makeLeader(cluster: EtcdCluster, i: number): Promise<void> {
  const ctl = (...args: string[]) => exec(['etcdctl', ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
  await waitFor(`member ${i + 1} to lead`, async () => {
    // endpoint, ID, version, DB size, is leader, ...
    const rows = (await ctl('--endpoints', cluster.endpoints.join(','), 'endpoint', 'status', '-w', 'simple')).stdout
      .trim()
      .split('\n')
      .map((l) => l.split(', '));
    const target = rows.find((r) => r[0] === cluster.endpoints[i]);
    const leader = rows.find((r) => r[4] === 'true');
    if (!target || !leader) return false;
    if (leader === target) return true;
    await ctl('--endpoints', leader[0] as string, 'move-leader', target[1] as string);
    return false;
  });
}

const asMap = async (ds: Datastore, prefix: string) =>
  new Map((await ds.list(prefix)).items.map((i) => [i.key, i.value]));

// One real three-member cluster for the whole file (starting one takes seconds); the tests kill
// and restart members and leave every member running when they end.
describe.skipIf(!haveCommands('etcd', 'etcdctl'))('etcd: a real three-member cluster', () => {
  let cluster: EtcdCluster;
  beforeAll(async () => {
    cluster = await startEtcdCluster(3);
  });
  afterAll(() => cluster?.destroy());

  it('etcd://h1:p1,h2:p2,h3:p3 opens the cluster; with the preferred member (the leader) killed, get, list, create and the watchers keep working', async () => {
    const ds = openDatastore(cluster.url);
    const w = ds.watch('/fo/');
    const state = new Map<string, string>();
    // Failed writes, by write number.
    const failures: [number, string][] = [];
    try {
      applyEvents(state, await collect(w, inSync));
      const acked = new Map<string, string>();
      // A write in flight while the member dies or while a new leader is elected can fail
      // (UNAVAILABLE, outcome unknown): the writer tries again, as `tabby apply` run again would,
      // and an AlreadyExists with its own value means the first try was applied.
      const write = async (i: number) => {
        for (;;) {
          try {
            await ds.create(`/fo/k${i}`, `v${i}`);
            break;
          } catch (err) {
            if (!(err instanceof DatastoreError)) throw err;
            if (err.code === 'ALREADY_EXISTS' && (await ds.get(`/fo/k${i}`))?.value === `v${i}`) break;
            expect(err.code).toBe('UNAVAILABLE');
            expect(err.message).not.toContain('\n');
            failures.push([i, err.message]);
          }
        }
        acked.set(`/fo/k${i}`, `v${i}`);
      };
      for (let i = 0; i < 10; i++) await write(i);
      // The first member is the preferred one: the client sends everything there until it
      // fails. Make it the leader too, so that killing it also costs an election.
      await makeLeader(cluster, 0);
      await cluster.members[0]?.kill();
      for (let i = 10; i < 30; i++) await write(i);
      expect((await ds.get('/fo/k29'))?.value).toBe('v29');
      expect((await ds.list('/fo/')).items.length).toBe(30);
      await ds.update('/fo/k0', 'changed');
      acked.set('/fo/k0', 'changed');
      await until(w, state, acked);
      expect(ds.health().connected).toBe(true);
      // Only the first write after the kill can fail (the connection broke under it, or the
      // election held it up); once one write went through, every later one did.
      expect(
        failures.every(([i]) => i === 10),
        failures.join('\n'),
      ).toBe(true);
    } finally {
      w.close();
      await ds.close();
      await cluster.members[0]?.start();
    }
  });

  it('quorum lost: every operation fails with UNAVAILABLE saying so, within its timeout; health says why; after the restart everything is current again', async () => {
    const log = new CaptureLogger();
    const timeoutMs = 3000;
    const ds = new EtcdDatastore({ hosts: cluster.endpoints, requestTimeoutMs: timeoutMs, logger: log });
    const w = ds.watch('/q/');
    const state = new Map<string, string>();
    try {
      await ds.create('/q/before', '1');
      applyEvents(state, await collect(w, (e) => e.some((x) => x.type === 'added' && x.key === '/q/before')));
      await waitFor('health to say connected', () => ds.health().connected);
      await Promise.all([cluster.members[0]?.kill(), cluster.members[1]?.kill()]);
      const ops: [string, () => Promise<unknown>][] = [
        ['get', () => ds.get('/q/before')],
        ['list', () => ds.list('/q/')],
        ['create', () => ds.create('/q/during', 'x')],
        ['update', () => ds.update('/q/before', '2')],
        ['delete', () => ds.delete('/q/before')],
        ['revision', () => ds.revision()],
      ];
      const results = await Promise.all(
        ops.map(async ([what, op]) => {
          const t0 = Date.now();
          const err = await op().then(
            () => undefined,
            (e: unknown) => e,
          );
          return { what, err, ms: Date.now() - t0 };
        }),
      );
      for (const { what, err, ms } of results) {
        expect(err, what).toBeInstanceOf(DatastoreError);
        expect(err, what).toMatchObject({ code: 'UNAVAILABLE' });
        const msg = (err as Error).message;
        expect(msg, what).not.toContain('\n');
        expect(msg, what).toMatch(new RegExp(`^etcd .*: ${what} failed.*: .*the cluster lost quorum`));
        expect(msg, what).toMatch(/unreachable \(connect ECONNREFUSED/);
        // Bounded by the request timeout (plus scheduling slack on a loaded machine), not a hang.
        expect(ms, what).toBeLessThan(timeoutMs + 2000);
      }
      await waitFor('health to report the outage', () => !ds.health().connected, 15_000);
      expect(ds.health().lastError).toMatch(/lost quorum/);
      expect(log.named('datastore unreachable').map((l) => l.level)).toEqual(['warn']);

      await Promise.all([cluster.members[0]?.start(), cluster.members[1]?.start()]);
      await waitFor('health to say connected again', () => ds.health().connected, 20_000);
      const back = log.named('datastore reachable again');
      expect(back.map((l) => l.level)).toEqual(['info']);
      expect(back[0]?.obj.outageMs).toBeGreaterThan(0);
      await ds.create('/q/after', '3');
      await until(w, state, await asMap(ds, '/q/'));
      expect(state.get('/q/after')).toBe('3');
      expect(log.named('datastore unreachable')).toHaveLength(1);
    } finally {
      w.close();
      await ds.close();
      await cluster.start();
    }
  });

  it('a watcher whose history was compacted while its member was down resyncs to the current state', async () => {
    const [first, ...others] = cluster.members;
    if (!first) throw new Error('no member');
    // The watcher talks to the first member only; the writer to the two others.
    const watching = openDatastore(`etcd://127.0.0.1:${first.port}`);
    const writing = new EtcdDatastore({ hosts: others.map((m) => m.endpoint) });
    const w = watching.watch('/compacted/');
    try {
      // Not the leader, so that the writes go on without an election.
      await makeLeader(cluster, 1);
      await writing.create('/compacted/old', 'o');
      await collect(w, (e) => e.some((x) => x.type === 'added' && x.key === '/compacted/old'));
      await first.kill();
      await writing.delete('/compacted/old');
      for (let i = 0; i < 5; i++) await writing.create(`/compacted/n${i}`, String(i));
      await writing.compact();
      await first.start();
      const evs = await collect(
        w,
        (e) => {
          const i = e.findIndex((x) => x.type === 'resync');
          return i >= 0 && e.slice(i).some((x) => x.type === 'in-sync');
        },
        20_000,
      );
      const from = evs.findIndex((x) => x.type === 'resync');
      expect(evs[from]).toMatchObject({ reason: expect.stringMatching(/compacted/) });
      expect(applyEvents(new Map(), evs.slice(from))).toEqual(await asMap(writing, '/compacted/'));
    } finally {
      w.close();
      await watching.close();
      await writing.close();
    }
  });
});
