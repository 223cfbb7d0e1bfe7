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
