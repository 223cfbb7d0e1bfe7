import fc from 'fast-check';
import { expect, it } from 'vitest';
import { applyEvents, collect, datastoreCompliance } from '../testing/compliance.js';
import { MemoryDatastore } from './memory.js';

datastoreCompliance('memory', async () => {
  const ds = new MemoryDatastore();
  return { ds, makeGap: async () => ds.compact(), teardown: () => ds.close() };
});

it('memory: a watcher that falls too far behind is resynced, not silently truncated', async () => {
  const ds = new MemoryDatastore({ watcherBacklogLimit: 10 });
  const w = ds.watch('/p/');
  for (let i = 0; i < 50; i++) await ds.create(`/p/${i}`, String(i));
  const evs = await collect(w, (e) => applyEvents(new Map(), e).size === 50);
  expect(evs[0]?.type).toBe('resync');
  expect(evs.filter((e) => e.type === 'in-sync').length).toBeGreaterThan(0);
  expect(applyEvents(new Map(), evs)).toEqual(new Map((await ds.list('/p/')).items.map((i) => [i.key, i.value])));
  w.close();
  await ds.close();
});

it('memory: prefix lists stay sorted and exact through any mix of creates and deletes (property)', async () => {
  const key = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'z'), minLength: 1, maxLength: 5 }).map((k) => `/${k}`);
  const op = fc.oneof(
    fc.record({ op: fc.constant('create' as const), key }),
    fc.record({ op: fc.constant('delete' as const), key }),
    fc.record({ op: fc.constant('list' as const), key: fc.constantFrom('/', '/a', '/b/', '/z', '') }),
    // A burst of creates, enough to take the merge path rather than single inserts.
    fc.record({ op: fc.constant('burst' as const), key, n: fc.integer({ min: 30, max: 80 }) }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
      const ds = new MemoryDatastore();
      const ref = new Map<string, string>();
      const check = async (prefix: string) => {
        const want = [...ref.keys()].filter((k) => k.startsWith(prefix)).sort();
        expect((await ds.list(prefix)).items.map((i) => i.key)).toEqual(want);
      };
      for (const o of ops) {
        const keys = o.op === 'burst' ? Array.from({ length: o.n }, (_, i) => `${o.key}${(i * 7919) % 97}`) : [o.key];
        for (const k of keys) {
          if (o.op === 'list') await check(k);
          else if (o.op === 'delete') {
            if (ref.delete(k)) await ds.delete(k);
            else await expect(ds.delete(k)).rejects.toThrow();
          } else if (!ref.has(k)) {
            ref.set(k, 'v');
            await ds.create(k, 'v');
          }
        }
      }
      await check('');
      await ds.close();
    }),
    { numRuns: 300 },
  );
});
