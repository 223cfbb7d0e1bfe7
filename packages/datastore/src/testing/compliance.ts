import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Datastore, WatchEvent, Watcher } from '../datastore.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../errors.js';

/** What a backend's test file hands the compliance suite. */
export interface ComplianceTarget {
  ds: Datastore;
  /** Makes the history before the current revision unavailable to watchers (compact, trim). */
  makeGap(): Promise<void>;
  teardown(): Promise<void>;
}

/** Reads events until `done(events)` is true or `timeoutMs` passes (then fails with what it saw). */
export async function collect(
  w: Watcher,
  done: (evs: WatchEvent[]) => boolean,
  timeoutMs = 10_000,
): Promise<WatchEvent[]> {
  const evs: WatchEvent[] = [];
  const it = w[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (!done(evs)) {
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((res) => {
        timer = setTimeout(() => res('timeout'), Math.max(left, 0));
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout')
      throw new Error(`watch timed out after ${timeoutMs} ms; saw ${JSON.stringify(evs.slice(-20))}`);
    if (r.done) throw new Error(`watch ended early; saw ${JSON.stringify(evs.slice(-20))}`);
    evs.push(r.value);
  }
  return evs;
}

/** Applies events to a key → value map, the way a consumer would (resync clears it). */
export function applyEvents(state: Map<string, string>, evs: WatchEvent[]): Map<string, string> {
  for (const e of evs) {
    if (e.type === 'resync') state.clear();
    else if (e.type === 'added' || e.type === 'updated') state.set(e.key, e.value);
    else if (e.type === 'deleted') state.delete(e.key);
  }
  return state;
}

const inSync = (evs: WatchEvent[]) => evs.some((e) => e.type === 'in-sync');

/**
 * The Datastore compliance suite (js-libp2p style): every backend runs exactly these tests.
 * `setup` is called once; each test works under its own key prefix.
 */
export function datastoreCompliance(name: string, setup: () => Promise<ComplianceTarget>): void {
  describe(`Datastore compliance: ${name}`, () => {
    let t: ComplianceTarget;
    let ds: Datastore;
    let n = 0;
    const prefix = () => `/tabby-test/${name}/${++n}/`;
    beforeAll(async () => {
      t = await setup();
      ds = t.ds;
    });
    afterAll(async () => {
      await t?.teardown();
    });

    it('creates, reads, updates and deletes with increasing revisions', async () => {
      const p = prefix();
      const r0 = await ds.revision();
      const a = await ds.create(`${p}a`, 'one');
      expect(a).toEqual({ key: `${p}a`, value: 'one', revision: a.revision });
      expect(a.revision).toBeGreaterThan(r0);
      expect(await ds.get(`${p}a`)).toEqual(a);
      const b = await ds.update(`${p}a`, 'two');
      expect(b.value).toBe('two');
      expect(b.revision).toBeGreaterThan(a.revision);
      expect((await ds.get(`${p}a`))?.value).toBe('two');
      const d = await ds.delete(`${p}a`);
      expect(d.value).toBe('two');
      expect(await ds.get(`${p}a`)).toBeUndefined();
      expect(await ds.revision()).toBeGreaterThan(b.revision);
    });

    it('keeps values byte for byte (unicode, JSON, 100 kB)', async () => {
      const p = prefix();
      const vals = ['', 'ünïcødé ✓ 🐈', JSON.stringify({ a: [1, 'x\n"y"'] }), 'x'.repeat(100_000)];
      for (const [i, v] of vals.entries()) await ds.create(`${p}${i}`, v);
      for (const [i, v] of vals.entries()) expect((await ds.get(`${p}${i}`))?.value).toBe(v);
    });

    it('rejects create of an existing key and update/delete of a missing one', async () => {
      const p = prefix();
      await ds.create(`${p}k`, 'v');
      await expect(ds.create(`${p}k`, 'w')).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(ds.update(`${p}missing`, 'w')).rejects.toBeInstanceOf(NotFoundError);
      await expect(ds.delete(`${p}missing`)).rejects.toBeInstanceOf(NotFoundError);
      expect((await ds.get(`${p}k`))?.value).toBe('v');
    });

    it('compare-and-swap: a stale revision is a conflict and changes nothing', async () => {
      const p = prefix();
      const a = await ds.create(`${p}k`, 'v1');
      const b = await ds.update(`${p}k`, 'v2', a.revision);
      const err = await ds.update(`${p}k`, 'v3', a.revision).catch((e) => e);
      expect(err).toBeInstanceOf(ConflictError);
      expect(err.code).toBe('REVISION_CONFLICT');
      await expect(ds.delete(`${p}k`, a.revision)).rejects.toBeInstanceOf(ConflictError);
      expect(await ds.get(`${p}k`)).toEqual(b);
      await ds.delete(`${p}k`, b.revision);
      expect(await ds.get(`${p}k`)).toBeUndefined();
    });

    it('compare-and-swap: parallel read-modify-write loses no increment', async () => {
      const p = prefix();
      await ds.create(`${p}counter`, '0');
      const inc = async () => {
        for (;;) {
          const cur = (await ds.get(`${p}counter`))!;
          try {
            await ds.update(`${p}counter`, String(Number(cur.value) + 1), cur.revision);
            return;
          } catch (e) {
            if (!(e instanceof ConflictError)) throw e;
          }
        }
      };
      await Promise.all(Array.from({ length: 25 }, inc));
      expect((await ds.get(`${p}counter`))?.value).toBe('25');
    });

    it('lists by prefix, sorted, at a consistent revision', async () => {
      const p = prefix();
      await ds.create(`${p}b`, '2');
      await ds.create(`${p}a`, '1');
      await ds.create(`${p}a/x`, '3');
      await ds.create(`${p.slice(0, -1)}-other`, 'no');
      const l = await ds.list(p);
      expect(l.items.map((i) => [i.key, i.value])).toEqual([
        [`${p}a`, '1'],
        [`${p}a/x`, '3'],
        [`${p}b`, '2'],
      ]);
      expect(l.revision).toBeGreaterThanOrEqual(Math.max(...l.items.map((i) => i.revision)));
      expect((await ds.list(`${p}a/`)).items.map((i) => i.key)).toEqual([`${p}a/x`]);
      expect((await ds.list(`${p}zzz`)).items).toEqual([]);
    });

    it('lists 5,000 keys', async () => {
      const p = prefix();
      const N = 5000;
      const keys = Array.from({ length: N }, (_, i) => `${p}${String(i).padStart(5, '0')}`);
      for (let i = 0; i < N; i += 100) await Promise.all(keys.slice(i, i + 100).map((k) => ds.create(k, k)));
      const l = await ds.list(p);
      expect(l.items.length).toBe(N);
      expect(l.items.map((i) => i.key)).toEqual(keys);
      expect(l.items.every((i) => i.value === i.key)).toBe(true);
    });

    it('watch: snapshot as added, then in-sync, then live changes in order', async () => {
      const p = prefix();
      await ds.create(`${p}a`, '1');
      await ds.create(`${p}b`, '2');
      const w = ds.watch(p);
      try {
        const first = await collect(w, inSync);
        expect(first.map((e) => e.type)).toEqual(['added', 'added', 'in-sync']);
        expect(first.slice(0, 2).map((e) => (e.type === 'added' ? [e.key, e.value] : null))).toEqual([
          [`${p}a`, '1'],
          [`${p}b`, '2'],
        ]);
        const c = await ds.create(`${p}c`, '3');
        const u = await ds.update(`${p}a`, '1b');
        const d = await ds.delete(`${p}b`);
        await ds.create(`/tabby-test/elsewhere-${n}`, 'not mine');
        const live = await collect(w, (evs) => evs.length >= 3);
        expect(live).toEqual([
          { type: 'added', key: `${p}c`, value: '3', revision: c.revision },
          { type: 'updated', key: `${p}a`, value: '1b', revision: u.revision },
          { type: 'deleted', key: `${p}b`, revision: expect.any(Number) },
        ]);
        expect((live[2] as { revision: number }).revision).toBeGreaterThan(u.revision);
        expect(d.value).toBe('2');
      } finally {
        w.close();
      }
    });

    it('watch from a revision replays later changes, then in-sync', async () => {
      const p = prefix();
      await ds.create(`${p}a`, '1');
      const from = await ds.revision();
      await ds.update(`${p}a`, '2');
      await ds.create(`${p}b`, '3');
      await ds.delete(`${p}a`);
      const w = ds.watch(p, { fromRevision: from });
      try {
        const evs = await collect(w, inSync);
        expect(evs.map((e) => e.type)).toEqual(['updated', 'added', 'deleted', 'in-sync']);
        expect(applyEvents(new Map([[`${p}a`, '1']]), evs)).toEqual(new Map([[`${p}b`, '3']]));
      } finally {
        w.close();
      }
    });

    it('watch: concurrent writers are seen in revision order and the end state matches list', async () => {
      const p = prefix();
      const w = ds.watch(p);
      try {
        await collect(w, inSync);
        const writer = async (id: number) => {
          for (let i = 0; i < 20; i++) {
            const k = `${p}${id}-${i % 5}`;
            const cur = await ds.get(k);
            if (!cur) await ds.create(k, `${i}`);
            else if (i % 7 === 0) await ds.delete(k);
            else await ds.update(k, `${i}`);
          }
        };
        await Promise.all(Array.from({ length: 8 }, (_, i) => writer(i)));
        const final = await ds.list(p);
        const evs = await collect(
          w,
          (e) => e.length > 0 && (e.at(-1) as { revision?: number }).revision === final.revision,
        );
        const revs = evs.map((e) => (e as { revision: number }).revision);
        expect(revs).toEqual([...revs].sort((a, b) => a - b));
        expect(new Set(revs).size).toBe(revs.length);
        expect(applyEvents(new Map(), evs)).toEqual(new Map(final.items.map((i) => [i.key, i.value])));
      } finally {
        w.close();
      }
    });

    it('resync after a gap: a watcher resuming from compacted history gets resync, a snapshot, in-sync', async () => {
      const p = prefix();
      await ds.create(`${p}keep`, 'k');
      await ds.create(`${p}gone`, 'g');
      const from = await ds.revision();
      await ds.delete(`${p}gone`);
      for (let i = 0; i < 30; i++) await ds.create(`${p}n${i}`, String(i));
      await t.makeGap();
      const w = ds.watch(p, { fromRevision: from });
      try {
        const evs = await collect(w, inSync);
        expect(evs[0]?.type).toBe('resync');
        const state = applyEvents(new Map([[`${p}gone`, 'g']]), evs);
        expect(state).toEqual(new Map((await ds.list(p)).items.map((i) => [i.key, i.value])));
        expect(state.size).toBe(31);
        await ds.create(`${p}after`, 'a');
        const more = await collect(w, (e) => e.length >= 1);
        expect(more[0]).toMatchObject({ type: 'added', key: `${p}after` });
      } finally {
        w.close();
      }
    });

    it('health(): connected once the store answers, with no error; onHealth returns its remover', async () => {
      await ds.revision();
      const deadline = Date.now() + 10_000;
      while (!ds.health().connected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const h = ds.health();
      expect(h).toEqual({ connected: true, since: expect.any(Number) });
      expect(h.since).toBeLessThanOrEqual(Date.now());
      const seen: boolean[] = [];
      const off = ds.onHealth((x) => seen.push(x.connected));
      off();
      expect(seen).toEqual([]);
    });

    it('close() ends the iteration', async () => {
      const p = prefix();
      const w = ds.watch(p);
      await collect(w, inSync);
      const done = (async () => {
        const seen: WatchEvent[] = [];
        for await (const e of w) seen.push(e);
        return seen;
      })();
      w.close();
      expect(await done).toEqual([]);
    });
  });
}
