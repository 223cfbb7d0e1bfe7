import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { UnavailableError } from '../errors.js';
import { FileDatastore } from './file.js';

vi.mock('node:fs', async (original) => {
  const real = await original<typeof import('node:fs')>();
  return { ...real, renameSync: vi.fn(real.renameSync) };
});

/** Polls until `ok()` holds (5 s at most). */
async function until(ok: () => boolean): Promise<void> {
  for (const end = Date.now() + 5000; !ok(); ) {
    if (Date.now() > end) throw new Error('condition not met in 5 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

const dir = mkdtempSync(join(tmpdir(), 'tabby-file-ds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('file: a run of writes rewrites the file once, not once per write (that made a large apply quadratic)', async () => {
  const path = join(dir, 'store.json');
  const ds = new FileDatastore(path);
  const saves = vi.mocked(fs.renameSync);
  saves.mockClear();
  for (let i = 0; i < 2000; i++) await ds.create(`/k/${i}`, String(i));
  await ds.update('/k/1', 'one');
  await ds.delete('/k/2');
  await ds.close();
  expect(saves.mock.calls.length).toBeLessThanOrEqual(2);
  const saved = JSON.parse(readFileSync(path, 'utf8')) as { items: { key: string; value: string }[] };
  expect(saved.items).toHaveLength(1999);
  const again = new FileDatastore(path);
  expect((await again.get('/k/1'))?.value).toBe('one');
  expect(await again.get('/k/2')).toBeUndefined();
  await again.close();
});

it('file: writes are saved soon, without waiting for close', async () => {
  const path = join(dir, 'turn.json');
  const ds = new FileDatastore(path);
  await ds.create('/a', '1');
  await until(() => existsSync(path) && readFileSync(path, 'utf8').includes('"/a"'));
  await ds.close();
});

it('file: a save that fails is reported on the next write and on close', async () => {
  const ds = new FileDatastore(join(dir, 'no-such-dir', 'x.json'));
  await ds.create('/a', '1');
  ds.flush();
  await expect(ds.create('/b', '2')).rejects.toBeInstanceOf(UnavailableError);
  await expect(ds.close()).rejects.toThrow(/cannot save: ENOENT/);
});
