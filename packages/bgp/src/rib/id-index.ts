/** A copy of typed array `a` with room for `n` elements (new ones 0, or `fill`). */
export function grow<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(
  a: T,
  n: number,
  fill = 0,
): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  if (fill) b.fill(fill, a.length);
  return b;
}

/**
 * A hash index from keys to small non-negative integers (row numbers of a columnar table), as one
 * Int32Array: open addressing with linear probing, at most half full, deletes by backward shift
 * (no tombstones). It holds no keys: the table does, and `hashOf(id)` gives a row's hash again.
 *
 * Lookups probe from `start(hash)`: `at(i)` is the row there (or -1: not found), `next(i)` the
 * following position; the caller compares its key against the row's.
 */
export class IdIndex {
  private slots: Int32Array;
  private count = 0;

  constructor(
    private readonly hashOf: (id: number) => number,
    initialSize = 1024,
  ) {
    this.slots = new Int32Array(initialSize);
  }

  get size(): number {
    return this.count;
  }

  start(hash: number): number {
    return hash & (this.slots.length - 1);
  }

  /** The row at probe position `i`, or -1 when the position is empty (the key is not there). */
  at(i: number): number {
    return this.slots[i]! - 1;
  }

  next(i: number): number {
    return (i + 1) & (this.slots.length - 1);
  }

  /** Adds row `id`, whose hash is `hash` (the caller checked it is not there yet). */
  insert(id: number, hash: number): void {
    if ((this.count + 1) * 2 > this.slots.length) {
      const old = this.slots;
      this.slots = new Int32Array(old.length * 2);
      for (let i = 0; i < old.length; i++) if (old[i]) this.place(old[i]! - 1, this.hashOf(old[i]! - 1));
    }
    this.place(id, hash);
    this.count += 1;
  }

  private place(id: number, hash: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
  }

  /** Removes row `id`, whose hash is `hash`; false when it is not there. */
  delete(id: number, hash: number): boolean {
    const slots = this.slots;
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== 0 && slots[i] !== id + 1) i = (i + 1) & mask;
    if (slots[i] === 0) return false;
    slots[i] = 0;
    this.count -= 1;
    // Backward shift: move later entries of the cluster into the hole when their home position
    // is not in the cyclic range (hole, entry].
    for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
      const s = slots[j]!;
      const home = this.hashOf(s - 1) & mask;
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = s;
        slots[j] = 0;
        i = j;
      }
    }
    return true;
  }
}
