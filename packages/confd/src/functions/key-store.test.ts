import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { globToRegExp, KeyStore } from './key-store.js';

describe('KeyStore', () => {
  const store = KeyStore.fromPrefixed(
    [
      { key: '/p/a/1', value: 'z' },
      { key: '/p/a/2', value: 'y' },
      { key: '/p/a/sub/3', value: 'x' },
      { key: '/p/b', value: 'w' },
      { key: '/pq/c', value: 'outside' },
    ],
    '/p',
  );
  it('strips the prefix and keeps only keys under it', () => {
    expect(store.size).toBe(4);
    expect(store.exists('/b')).toBe(true);
    expect(store.exists('/c')).toBe(false);
  });
  it('globs stay within a path segment', () => {
    expect(store.getAll('/a/*').map((p) => p.Key)).toEqual(['/a/1', '/a/2']);
    expect(store.getAll('/a/*/*').map((p) => p.Key)).toEqual(['/a/sub/3']);
    expect(store.getAll('/a/[12]').map((p) => p.Key)).toEqual(['/a/1', '/a/2']);
    expect(store.getAll('/?').map((p) => p.Key)).toEqual(['/b']);
    expect(store.getAllValues('/a/*')).toEqual(['y', 'z']);
  });
  it('ls and lsdir', () => {
    expect(store.list('/')).toEqual(['a', 'b']);
    expect(store.list('/a')).toEqual(['1', '2', 'sub']);
    expect(store.list('/a', true)).toEqual(['sub']);
    expect(store.list('/nope')).toEqual([]);
  });
  it('getAll agrees with a full scan for any pattern of literal segments and stars', () => {
    const seg = fc.constantFrom('a', 'b', '*', '1', 'sub', '?');
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 3 }), (segs) => {
        const pattern = `/${segs.join('/')}`;
        const re = globToRegExp(pattern);
        const expected = ['/a/1', '/a/2', '/a/sub/3', '/b'].filter((k) => re.test(k));
        expect(store.getAll(pattern).map((p) => p.Key)).toEqual(expected);
      }),
    );
  });
});
