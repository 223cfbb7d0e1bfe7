type Typed = Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array;

/** Rows a column reaches by growing in place; past that it grows by copying. */
const MAX_ROWS = 1 << 25;

/** A column this long or longer holds its address space for MAX_ROWS rows (see `column`). */
export const RESERVE_ROWS = 1 << 16;

/** An index slot: the row number plus one in the low 26 bits (0: empty), a hash tag in the top 6. */
const ID_BITS = 26;
const ID_MASK = (1 << ID_BITS) - 1;

type TypedCtor<T extends Typed> = {
  new (n: number): T;
  new (b: ArrayBuffer, offset: number, length: number): T;
  BYTES_PER_ELEMENT: number;
};

/**
 * A typed array of `n` zeros that `grow` can enlarge in place. A long one is a view of `n`
 * elements of a buffer reserved for MAX_ROWS of them: the system hands such a buffer out as
 * untouched zero pages, so only pages written hold memory, and growing is a longer view of the
 * same buffer (no copy, and no old array holding memory until the next garbage collection; a full
 * table's columns are tens of megabytes each). Not a resizable ArrayBuffer: Node 20 reads and
 * writes typed arrays over those two to three times slower (the per-prefix cost of a full table is
 * mostly such accesses). Short columns (most tables) are plain arrays and grow by copying.
 *
 * The reservation is a SharedArrayBuffer (as fast to read and write; shared with nobody): V8
 * counts an ArrayBuffer's whole size as external memory, and each reservation of a full table's
 * columns (hundreds of megabytes) started a full collection, two or three per table (their
 * marking and sweeping about 30 ms of CPU under `perf` for a million prefixes). `counted`: an
 * ArrayBuffer all the same (see `AttrTable.bytes`).
 */
export function column<T extends Typed>(ctor: TypedCtor<T>, n: number, counted = false): T {
  const buf = n >= RESERVE_ROWS ? reserve(MAX_ROWS * ctor.BYTES_PER_ELEMENT, counted) : null;
  return buf ? new ctor(buf, 0, n) : new ctor(n);
}

/** Reserved buffers: each column in one has room for MAX_ROWS rows from where it starts. */
const reserved = new WeakSet<ArrayBufferLike>();

function reserve(bytes: number, counted = false): ArrayBuffer | null {
  try {
    const buf = counted ? new ArrayBuffer(bytes) : (new SharedArrayBuffer(bytes) as unknown as ArrayBuffer);
    reserved.add(buf);
    return buf;
  } catch {
    return null; // no address space to reserve (ulimit -v): grow by copying
  }
}

/** `a` with room for `n` elements (new ones 0, or `fill`): see `growTogether`. */
export function grow<T extends Typed>(a: T, n: number, fill = 0): T {
  const old = a.length;
  const [b] = growTogether([a] as const, n);
  if (fill) b.fill(fill, old);
  return b;
}

/**
 * Columns that grow together (the columns of one table's rows), each with room for `n` elements,
 * new ones 0: a longer view of the same buffer for a column with room reserved, else a copy, into
 * one buffer reserved for all those that need it once `n` reaches RESERVE_ROWS (one mapping, not
 * a dozen). Columns never shrink, so reserved elements past a column's end are still zeros.
 */
export function growTogether<T extends readonly Typed[]>(cols: T, n: number): T {
  const fits = (a: Typed) => reserved.has(a.buffer) && n <= MAX_ROWS;
  let need = 0;
  for (const a of cols) if (!fits(a)) need += MAX_ROWS * a.BYTES_PER_ELEMENT;
  const buf = need > 0 && n >= RESERVE_ROWS && n <= MAX_ROWS ? reserve(need) : null;
  let at = 0;
  return cols.map((a) => {
    const ctor = a.constructor as TypedCtor<Typed>;
    if (fits(a)) return new ctor(a.buffer as ArrayBuffer, a.byteOffset, n);
    let b: Typed;
    if (buf) {
      b = new ctor(buf, at, n);
      at += MAX_ROWS * a.BYTES_PER_ELEMENT; // a multiple of 8: every region is aligned
    } else b = new ctor(n);
    b.set(a);
    return b;
  }) as unknown as T;
}

/**
 * The rows of the table an `IdIndex` indexes, read in row order while it grows. A table may offer
 * more than one hash function (`modes`): a row's hash then depends on the function (`mode`) and,
 * for functions other than 0, on the size of the index array (2^`bits` slots); each array is built
 * with one of them. Function 0 (the only one of most tables) gives a row the same hash at every
 * size, so an insert while the index doubles places the caller's hash in both arrays.
 */
export interface IndexRows {
  /** Row numbers in use are below this. */
  count(): number;
  /** Calls `place(id, hash)` for each row numbered from `from` up to `to` that is in the index. */
  each(from: number, to: number, place: (id: number, hash: number) => void, mode: number, bits: number): void;
  /** How many hash functions the table offers (1 when absent). */
  readonly modes?: number;
}

/** Rows placed in the next array per insert while it is built (8 would just keep up). */
const ROWS_PER_INSERT = 16;

/** Slots of an index array in one 4 KB page of memory. */
const SLOTS_PER_PAGE = 1024;

/** Inserts before a doubling that compare the table's hash functions (the last ones before it). */
const SAMPLE = 512;
/** An insert is near the one before when its slot is less than this far: one 64-byte cache line. */
const NEAR = 16;
/** Bits of the largest array an ordered hash function is chosen for (2^22 slots, 16 MB: 2M rows). */
const ORDERED_MAX_BITS = 22;
/** The sample's slots under an ordered hash function are also read for an array of 2^26 slots. */
const WIDE_BITS = 26;
const WIDE_MASK = (1 << WIDE_BITS) - 1;
/** Taken slots an insert may pass in an array built with an ordered hash before the index gives it up. */
const LONG_PROBE = 256;

/**
 * A hash index from keys to small non-negative integers (row numbers of a columnar table), as one
 * Int32Array: open addressing with linear probing, at most half full, deletes by backward shift
 * (no tombstones). It holds no keys: the table does, and `hashOf(id)` gives a row's hash again.
 * Each slot keeps, beside the row number, the top bits of its hash (a tag), so a probe passes
 * rows of other keys without reading the table: a key that is not there (every prefix of a new
 * full table) costs one read of the index, not one cache miss in the table per probe.
 *
 * It doubles without stopping: once half full, each insert also places a few rows of the table,
 * in row order (one pass through its columns), in an array twice the size, and rows inserted or
 * deleted behind that pass go to both arrays; once the pass reaches the last row (the old array
 * is then about 53% full) the new array takes over. Lookups read one array only. Placing half a
 * million rows at once held the event loop for 30 to 48 ms, and a diverse table doubled its
 * prefix and attribute-set indexes in the same turn (87 ms). Before the pass starts, each insert
 * writes one page of the new array (the kernel maps and zeroes a page at its first write, about
 * 3 µs here): rows hashed to random slots of a fresh 16 MB array made a thousand-prefix UPDATE
 * take every one of its 4,096 page faults (20 to 35 ms of system time in one message).
 *
 * A table with more than one hash function lets the index choose, at each doubling, the one its
 * last inserts were nearest each other under: rows arriving in the order of that hash land in
 * neighbouring slots, so inserts and the next doubling go through the array in order instead of
 * missing the cache at each row. Callers hash keys with `mode` and `bits` (the current array's).
 *
 * Lookups probe from `start(hash)`: `at(i)` is the row there (or -1: not found), `next(i)` the
 * following position; `tagged(i, hash)` is false for a row whose hash differs; the caller compares
 * its key against the other rows'.
 */
export class IdIndex {
  private slots: Int32Array;
  /** The hash function `slots` is built with, and its size (2^bits slots). */
  private hashMode = 0;
  private hashBits: number;
  /** The array being built, twice the size, while the pass runs; else null. */
  private building: Int32Array | null = null;
  /**
   * The array before the current one when it was a view of a reserved buffer (large): the next
   * array is built in that buffer (see `build`).
   */
  private spare: Int32Array | null = null;
  private buildMode = 0;
  /** Per hash function: inserts of this sample near the one before (see `sample`), and the last one's slot. */
  private readonly near: Int32Array;
  private readonly lastSlot: Int32Array;
  private readonly wideFirst: Int32Array;
  private readonly wideLast: Int32Array;
  private sampled = 0;
  /** The size of the array being built (2^buildBits slots). */
  private buildBits = 0;
  /** False once an ordered hash function was given up (see `leaveOrder`): never chosen again. */
  private ordered = true;
  /** The pass's next row: rows below it are in `building`. */
  private cursor = 0;
  /** Slots of `building` below this are in pages written already (the pass starts once all are). */
  private touched = 0;
  private count = 0;
  private readonly placeBuilding = (id: number, hash: number) => place(this.building!, id, hash);
  private readonly modes: number;

  constructor(
    /** Row `id`'s hash under hash function `mode` for an array of 2^`bits` slots. */
    private readonly hashOf: (id: number, mode: number, bits: number) => number,
    private readonly rows: IndexRows,
    initialSize = 1024,
    /** Makes an index array of `n` zeros (tests watch its writes). */
    private readonly alloc: (n: number) => Int32Array = (n) => column(Int32Array, n),
  ) {
    this.slots = alloc(initialSize);
    this.hashBits = 31 - Math.clz32(initialSize);
    this.modes = rows.modes ?? 1;
    this.near = new Int32Array(this.modes);
    this.lastSlot = new Int32Array(this.modes);
    this.wideFirst = new Int32Array(this.modes);
    this.wideLast = new Int32Array(this.modes);
  }

  /** The hash function keys are hashed with for lookups and inserts (0 for a table that has one). */
  get mode(): number {
    return this.hashMode;
  }

  /** The current array has 2^bits slots. */
  get bits(): number {
    return this.hashBits;
  }

  get size(): number {
    return this.count;
  }

  start(hash: number): number {
    return hash & (this.slots.length - 1);
  }

  /** The row at probe position `i`, or -1 when the position is empty (the key is not there). */
  at(i: number): number {
    return (this.slots[i]! & ID_MASK) - 1;
  }

  /** False when the row at `i` cannot have `hash` (its tag differs): skip it without reading the table. */
  tagged(i: number, hash: number): boolean {
    return this.slots[i]! >>> ID_BITS === hash >>> ID_BITS;
  }

  /** The slot a probe for `hash` reads first (its value means nothing to the caller: see `RouteStore.warm`). */
  peek(hash: number): number {
    return this.slots[hash & (this.slots.length - 1)]!;
  }

  next(i: number): number {
    return (i + 1) & (this.slots.length - 1);
  }

  /** Adds row `id`, whose hash is `hash` (the caller checked it is not there yet). */
  insert(id: number, hash: number): void {
    const probes = place(this.slots, id, hash);
    this.count += 1;
    if (probes > LONG_PROBE && this.hashMode !== 0) {
      this.leaveOrder();
      return;
    }
    const n = this.slots.length;
    if (this.building) {
      // Behind the pass: it will not come back for it.
      if (id < this.cursor) place(this.building, id, this.buildHash(id, hash));
    } else {
      if (this.modes > 1 && this.count * 2 > n - 2 * SAMPLE) this.sample(id);
      if (this.count * 2 > n) this.startBuild();
    }
    if (!this.building) return;
    // The pages and the pass keep well ahead: writing the new array's 2n/1,024 pages takes n/512
    // inserts, placing its n/2 rows n/32, and the old array may take n/16 more before 9/16 full.
    // When rows freed and reused hold them back, they finish at once.
    if (this.count * 16 > n * 9) {
      while (this.touched < this.building.length) this.touchPage();
      this.pass(Number.POSITIVE_INFINITY);
    } else if (this.touched < this.building.length) this.touchPage();
    else this.pass(ROWS_PER_INSERT);
  }

  /**
   * Notes, for each hash function, whether row `id` lands near the row inserted before it in the
   * next array, and for the ordered ones (1 and up) how far through the hash's range it is.
   */
  private sample(id: number): void {
    const bits = this.hashBits + 1;
    const mask = (1 << bits) - 1;
    for (let m = 0; m < this.modes; m++) {
      const slot = this.hashOf(id, m, bits) & mask;
      if (Math.abs(slot - this.lastSlot[m]!) < NEAR) this.near[m] = this.near[m]! + 1;
      this.lastSlot[m] = slot;
      if (m > 0) {
        const wide = this.hashOf(id, m, WIDE_BITS) & WIDE_MASK;
        if (this.sampled === 0) this.wideFirst[m] = wide;
        this.wideLast[m] = wide;
      }
    }
    this.sampled += 1;
  }

  /** Row `id`'s hash in the array being built, given `hash`, its hash in the current one. */
  private buildHash(id: number, hash: number): number {
    if (this.buildMode === 0 && this.hashMode === 0) return hash; // function 0: the same at every size
    return this.hashOf(id, this.buildMode, this.buildBits);
  }

  /** Starts building the next array: with the hash function the sample was nearest under, and its size. */
  private startBuild(): void {
    let mode = this.hashMode;
    const margin = Math.max(16, this.sampled >> 2);
    for (let m = 0; m < this.modes; m++) if (this.near[m]! > this.near[mode]! + margin) mode = m;
    let bits = this.hashBits + 1;
    if (mode !== 0) {
      // Rows come in the order of this hash: by the time those that hash high arrive, the array
      // must be large enough for all of them, or the ones before crowd its low end. The sample
      // crossed this much of the hash's range: the table has about this many rows in all.
      // Sized for that many at 5/8 full at most (the estimate is within a few percent).
      const span = this.wideLast[mode]! - this.wideFirst[mode]!;
      const rows = span > 0 ? (this.sampled * (WIDE_MASK + 1)) / span : Number.POSITIVE_INFINITY;
      const need = Math.ceil(Math.max(rows, this.count) * 1.6);
      if (!this.ordered || !(need <= 2 ** ORDERED_MAX_BITS)) mode = 0;
      else bits = Math.max(bits, 32 - Math.clz32(need - 1));
    }
    this.near.fill(0);
    this.sampled = 0;
    this.build(mode, bits);
  }

  /** Starts an array of 2^bits slots for hash function `mode`, empty, to be filled by the pass. */
  private build(mode: number, bits: number): void {
    const n = 2 ** bits;
    const spare = this.spare;
    this.spare = null;
    if (spare && n <= MAX_ROWS) {
      // The buffer of the array before the current one, which is no longer read. A new array
      // each time left the old ones to the garbage collector, which a table arriving in a few
      // large UPDATEs (few JS objects) seldom runs: 8 MB of old arrays held at a million prefixes.
      // The old rows are cleared at once (a quarter of the new array, in pages already mapped).
      this.building = new Int32Array(spare.buffer, 0, n);
      this.building.fill(0, 0, spare.length);
    } else this.building = this.alloc(n);
    this.buildMode = mode;
    this.buildBits = bits;
    this.cursor = 0;
    // An ordered array is written from one end to the other: its pages are mapped one at a time.
    this.touched = mode === 0 ? 0 : this.building.length;
  }

  /**
   * An insert probed far in an array built with an ordered hash: its rows do not come in that
   * order after all (or the table is larger than it looked), and they crowd part of the array.
   * The index goes back to the spreading hash for good, rebuilt at once at the same size.
   */
  private leaveOrder(): void {
    this.ordered = false;
    this.build(0, this.hashBits);
    this.pass(Number.POSITIVE_INFINITY);
  }

  /** Writes the next page of the array being built (a zero over a zero: it only gets mapped). */
  private touchPage(): void {
    this.building![this.touched] = 0;
    this.touched += SLOTS_PER_PAGE;
  }

  /** Places up to `n` more rows in the array being built; it takes over once every row is placed. */
  private pass(n: number): void {
    const end = this.rows.count();
    const to = Math.min(end, this.cursor + n);
    this.rows.each(this.cursor, to, this.placeBuilding, this.buildMode, this.buildBits);
    this.cursor = to;
    if (to >= end) {
      this.spare = reserved.has(this.slots.buffer) ? this.slots : null;
      this.slots = this.building!;
      this.building = null;
      this.hashMode = this.buildMode;
      this.hashBits = this.buildBits;
    }
  }

  /** Removes row `id`, whose hash is `hash` (for `mode` and `bits`); false when it is not there. */
  delete(id: number, hash: number): boolean {
    if (this.building && id < this.cursor) {
      remove(this.building, id, this.buildHash(id, hash), this.hashOf, this.buildMode, this.buildBits);
    }
    if (!remove(this.slots, id, hash, this.hashOf, this.hashMode, this.hashBits)) return false;
    this.count -= 1;
    return true;
  }
}

/** Places row `id` with `hash` in `slots`; returns how many taken slots it passed. */
function place(slots: Int32Array, id: number, hash: number): number {
  const mask = slots.length - 1;
  let i = hash & mask;
  let probes = 0;
  while (slots[i] !== 0) {
    i = (i + 1) & mask;
    probes += 1;
  }
  slots[i] = (id + 1) | ((hash >>> ID_BITS) << ID_BITS);
  return probes;
}

/** Removes row `id` with `hash` from `slots`, moving back later rows of its cluster; false when absent. */
function remove(
  slots: Int32Array,
  id: number,
  hash: number,
  hashOf: (id: number, mode: number, bits: number) => number,
  mode: number,
  bits: number,
): boolean {
  const mask = slots.length - 1;
  let i = hash & mask;
  while (slots[i] !== 0 && (slots[i]! & ID_MASK) !== id + 1) i = (i + 1) & mask;
  if (slots[i] === 0) return false;
  slots[i] = 0;
  // Backward shift: move later entries of the cluster into the hole when their home position
  // is not in the cyclic range (hole, entry].
  for (let j = (i + 1) & mask; slots[j] !== 0; j = (j + 1) & mask) {
    const s = slots[j]!;
    const home = hashOf((s & ID_MASK) - 1, mode, bits) & mask;
    if (i <= j ? home <= i || home > j : home <= i && home > j) {
      slots[i] = s;
      slots[j] = 0;
      i = j;
    }
  }
  return true;
}
