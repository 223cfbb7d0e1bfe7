import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isUnderPrefix } from './key-value-source.js';
import { KeysFileError, readKeysFile } from './keys-file.js';
import { MemoryKeyValueSource } from './memory-source.js';

describe('MemoryKeyValueSource', () => {
  it('lists by path prefix, not string prefix', async () => {
    const s = new MemoryKeyValueSource({ '/a/b': '1', '/a/bc': '2', '/a/b/c': '3', '/x': '4' }, { inSync: true });
    const keys = (await s.list('/a/b')).map((p) => p.key).sort();
    expect(keys).toEqual(['/a/b', '/a/b/c']);
    expect((await s.list('/')).length).toBe(4);
  });
  it('notifies watchers of changes under their prefixes only, and only for real changes', () => {
    const s = new MemoryKeyValueSource({ '/a/x': '1' }, { inSync: true });
    const seen: string[] = [];
    const stop = s.watch(['/a'], () => seen.push('a'));
    s.watch(['/b'], () => seen.push('b'));
    s.set('/a/x', '1');
    s.set('/a/x', '2');
    s.set('/b/y', '1');
    s.delete('/a/nope');
    s.delete('/a/x');
    stop();
    s.set('/a/z', '1');
    expect(seen).toEqual(['a', 'b', 'a']);
  });
  it('replaceAll reports deletions', () => {
    const s = new MemoryKeyValueSource({ '/a/x': '1', '/a/y': '2' }, { inSync: true });
    let n = 0;
    s.watch(['/a'], () => n++);
    s.replaceAll([{ key: '/a/x', value: '1' }]);
    expect(n).toBe(1);
    expect(s.get('/a/y')).toBeUndefined();
  });
  it('waitForSync waits for markInSync, and can be aborted', async () => {
    const s = new MemoryKeyValueSource();
    let synced = false;
    const p = s.waitForSync().then(() => {
      synced = true;
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(synced).toBe(false);
    s.markInSync();
    await p;
    expect(synced).toBe(true);
    const ac = new AbortController();
    const q = new MemoryKeyValueSource().waitForSync(ac.signal);
    ac.abort(new Error('stopped'));
    await expect(q).rejects.toThrow('stopped');
  });
  it('isUnderPrefix', () => {
    expect(isUnderPrefix('/a/b', '/a')).toBe(true);
    expect(isUnderPrefix('/ab', '/a')).toBe(false);
    expect(isUnderPrefix('/a', '/a/')).toBe(true);
    expect(isUnderPrefix('/anything', '/')).toBe(true);
  });
});

describe('readKeysFile', () => {
  it('reads YAML and JSON, with non-string values as JSON text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tabby-keys-'));
    try {
      await writeFile(join(dir, 'k.yaml'), '/a/as_num: 64512\n/a/mesh: {enabled: true}\n/a/empty:\n/a/s: "x"\n');
      expect(await readKeysFile(join(dir, 'k.yaml'))).toEqual([
        { key: '/a/as_num', value: '64512' },
        { key: '/a/mesh', value: '{"enabled":true}' },
        { key: '/a/empty', value: '' },
        { key: '/a/s', value: 'x' },
      ]);
      await writeFile(join(dir, 'k.json'), JSON.stringify({ node: 'n', keys: { '/b': 'y' } }));
      expect(await readKeysFile(join(dir, 'k.json'))).toEqual([{ key: '/b', value: 'y' }]);
      await writeFile(join(dir, 'bad.yaml'), 'a/relative: 1\n');
      await expect(readKeysFile(join(dir, 'bad.yaml'))).rejects.toThrow('must start with "/"');
      await writeFile(join(dir, 'list.yaml'), '- 1\n');
      await expect(readKeysFile(join(dir, 'list.yaml'))).rejects.toThrow(KeysFileError);
      await expect(readKeysFile(join(dir, 'missing.yaml'))).rejects.toThrow('cannot read');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an undefined alias, an alias cycle or an alias bomb is a KeysFileError with line and column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tabby-keys-'));
    try {
      const bomb = ['/a: &a [x, x, x, x, x, x, x, x, x]'];
      for (let i = 1; i < 9; i++)
        bomb.push(
          `/l${i}: &l${i} [${Array(9)
            .fill(i === 1 ? '*a' : `*l${i - 1}`)
            .join(', ')}]`,
        );
      for (const [text, message] of [
        ['/a: *nope\n', 'k.yaml: 1:5: not valid JSON or YAML: undefined alias *nope'],
        ['/a: &x [1, *x]\n', 'k.yaml: 1:12: not valid JSON or YAML: alias *x is inside the node it names (a cycle)'],
        [bomb.join('\n'), 'k.yaml: 5:'],
      ] as const) {
        await writeFile(join(dir, 'k.yaml'), text);
        const err = await readKeysFile(join(dir, 'k.yaml')).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(KeysFileError);
        expect((err as Error).message.slice(dir.length + 1)).toMatch(
          new RegExp(`^${message.replace(/[*()]/g, '\\$&')}`),
        );
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
