import { AttributeKey } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { AttrTable } from './attr-table.js';

const key = (bytes: number[], hash?: number) => new AttributeKey(Uint8Array.from(bytes), 0, bytes.length, hash);

describe('AttrTable.internRaw (by received bytes: hash, then a byte compare)', () => {
  it('finds equal bytes again, and tells apart encodings, next hops, bytes and hash collisions', () => {
    const t = new AttrTable();
    const attrs = { origin: 'igp' as const };
    const a = t.internRaw(attrs, '198.18.0.2', key([64, 1, 1, 0]), true);
    expect(t.internRaw({ origin: 'igp' }, '198.18.0.2', key([64, 1, 1, 0]), true)).toBe(a);
    expect(a.attrs).toBe(attrs);
    // The same bytes on a 2-octet-AS session mean something else; so does another next hop.
    const two = t.internRaw(attrs, '198.18.0.2', key([64, 1, 1, 0]), false);
    const nh = t.internRaw(attrs, '198.18.0.3', key([64, 1, 1, 0]), true);
    expect(new Set([a, two, nh]).size).toBe(3);
    // Forced collisions: same hash, different bytes.
    const c1 = t.internRaw(attrs, 'x', key([1, 2, 3], 7), true);
    const c2 = t.internRaw(attrs, 'x', key([1, 2, 4], 7), true);
    const c3 = t.internRaw(attrs, 'x', key([1, 2], 7), true);
    expect(new Set([c1, c2, c3]).size).toBe(3);
    expect(t.internRaw(attrs, 'x', key([1, 2, 4], 7), true)).toBe(c2);
    expect(t.size).toBe(6);
    // Unreferenced sets are forgotten; the others stay findable.
    for (const s of [a, two, nh, c1, c2, c3]) t.ref(s);
    t.unref(c2);
    expect(t.size).toBe(5);
    expect(t.internRaw(attrs, 'x', key([1, 2, 3], 7), true)).toBe(c1);
    expect(t.internRaw(attrs, 'x', key([1, 2], 7), true)).toBe(c3);
    expect(t.internRaw(attrs, 'x', key([1, 2, 4], 7), true)).not.toBe(c2);
    for (const s of [a, two, nh, c1, c3]) t.unref(s);
    expect(t.size).toBe(1); // the new set for [1, 2, 4], never referenced
  });
});
