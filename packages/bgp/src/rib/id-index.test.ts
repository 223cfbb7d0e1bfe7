import { describe, expect, it } from 'vitest';
import { column, grow } from './id-index.js';

describe('growable columns', () => {
  it('a column grows in place, keeping its values and filling the new rows', () => {
    const a = column(Int32Array, 4);
    a.set([1, 2, 3, 4]);
    const b = grow(a, 8, -1);
    expect(b).toBe(a); // the same array: no copy, nothing left for the garbage collector
    expect([...b]).toEqual([1, 2, 3, 4, -1, -1, -1, -1]);
    const f = grow(column(Float64Array, 2), 3);
    expect([...f]).toEqual([0, 0, 0]);
  });

  it('a plain typed array grows by copying', () => {
    const a = Uint16Array.from([7, 8]);
    const b = grow(a, 4, 9);
    expect(b).not.toBe(a);
    expect([...b]).toEqual([7, 8, 9, 9]);
  });
});
