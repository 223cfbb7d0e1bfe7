/**
 * Long listings in slices. A listing is an iterator that does a small, bounded piece of work per
 * step and yields either an item or {@link STEP} (work done, nothing to show yet); the control
 * server pulls steps while its turn lasts and writes the items as they come, so a million-route
 * table is sorted and printed without holding the event loop.
 */

/** A step of work with nothing to show. */
export const STEP = Symbol('step');
export type Step = typeof STEP;

/** Steps of plain work between two checks of the time (cheap enough to do a few hundred per ms). */
export const STEP_EVERY = 512;

/** A sort key: IPv4 prefixes as numbers (before every IPv6 key), IPv6 as fixed-width text. */
export type SortKey = number | string;

function compare(s1: SortKey, p1: number, s2: SortKey, p2: number): number {
  if (s1 === s2) return p1 - p2;
  if (typeof s1 === typeof s2) return s1 < s2 ? -1 : 1;
  return typeof s1 === 'number' ? -1 : 1;
}

/**
 * The `k` smallest items by (sort key, tie) of those offered, in a max-heap: memory is bounded by
 * `k` whatever the number offered, and each offer costs O(log k). `drain` yields them in ascending
 * order, one heap operation per step.
 */
export class Smallest<T> {
  private readonly keys: SortKey[] = [];
  private readonly ties: number[] = [];
  private readonly items: T[] = [];
  /** How many items were offered. */
  offered = 0;

  constructor(private readonly k: number) {}

  get size(): number {
    return this.items.length;
  }

  offer(key: SortKey, tie: number, item: T): void {
    this.offered += 1;
    const n = this.items.length;
    if (n < this.k) {
      this.keys.push(key);
      this.ties.push(tie);
      this.items.push(item);
      this.up(n);
      return;
    }
    if (n === 0 || compare(key, tie, this.keys[0]!, this.ties[0]!) >= 0) return;
    this.keys[0] = key;
    this.ties[0] = tie;
    this.items[0] = item;
    this.down(0);
  }

  /** Empties the heap in ascending order, one item per step (STEP while it is being taken apart). */
  *drain(): Generator<T | Step, void> {
    const out: T[] = new Array(this.items.length);
    for (let i = this.items.length - 1; i >= 0; i--) {
      out[i] = this.pop();
      if (i % STEP_EVERY === 0) yield STEP;
    }
    yield* out;
  }

  private pop(): T {
    const top = this.items[0]!;
    const last = this.items.length - 1;
    this.swap(0, last);
    this.keys.pop();
    this.ties.pop();
    this.items.pop();
    if (last > 0) this.down(0);
    return top;
  }

  private greater(i: number, j: number): boolean {
    return compare(this.keys[i]!, this.ties[i]!, this.keys[j]!, this.ties[j]!) > 0;
  }

  private swap(i: number, j: number): void {
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
    [this.ties[i], this.ties[j]] = [this.ties[j]!, this.ties[i]!];
    [this.items[i], this.items[j]] = [this.items[j]!, this.items[i]!];
  }

  private up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.greater(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(i: number): void {
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.greater(l, m)) m = l;
      if (r < n && this.greater(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}

/** The items of a JSON array in pieces, one per item; STEPs pass through as `undefined`. */
function* arrayItems(items: Iterator<unknown>): Generator<string | undefined, void> {
  let first = true;
  for (let r = items.next(); !r.done; r = items.next()) {
    if (r.value === STEP) {
      yield undefined;
      continue;
    }
    yield first ? JSON.stringify(r.value) : `,${JSON.stringify(r.value)}`;
    first = false;
  }
}

/** A JSON array of the items, in pieces. */
export function* jsonArrayPieces(items: Iterator<unknown>): Generator<string | undefined, void> {
  yield '[';
  yield* arrayItems(items);
  yield ']';
}

/**
 * The text of a JSON object `{...head, [key]: [items...], ...tail()}` in pieces: the head, one
 * piece per item, then the tail (computed once the items are done, e.g. `truncated`).
 */
export function* jsonPieces(
  head: Record<string, unknown>,
  key: string,
  items: Iterator<unknown>,
  tail: () => Record<string, unknown> = () => ({}),
): Generator<string | undefined, void> {
  const h = JSON.stringify(head);
  yield `${h.length > 2 ? `${h.slice(0, -1)},` : '{'}${JSON.stringify(key)}:[`;
  yield* arrayItems(items);
  const t = JSON.stringify(tail());
  yield t.length > 2 ? `],${t.slice(1)}` : ']}';
}

/** Runs a listing to the end in one go and returns its items (for in-process callers and tests). */
export function collect<T>(items: Iterator<T | Step>): T[] {
  const out: T[] = [];
  for (let r = items.next(); !r.done; r = items.next()) if (r.value !== STEP) out.push(r.value as T);
  return out;
}
