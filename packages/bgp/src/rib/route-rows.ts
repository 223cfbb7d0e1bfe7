import { column, growTogether } from './id-index.js';

/** Routes of one source take rows in blocks of 32 (one bit each in the block's free mask). */
const BLOCK_BITS = 5;
const BLOCK = 1 << BLOCK_BITS;
/** A block's free mask with every row free. */
const ALL_FREE = 0xffffffff;
const NO_BLOCK = -1;

/** A source's rows: its chain of blocks and the blocks where it has a free row. */
export interface RowOwner {
  /** The first block of the chain. */
  head: number;
  /** Blocks with a free row, last first (may name blocks since full or given back: checked when used). */
  readonly partial: number[];
}

/**
 * Route row numbers, handed out in blocks of 32 rows per source: a route's source is its block's,
 * and a source's routes are its blocks' rows in use, so the route table needs no source column
 * and no per-source chain of routes (12 bytes a route). A block costs 16 bytes; a source holds at
 * most 31 rows it does not use in a partly used block, plus rows freed in blocks still in use,
 * which its next routes take first. A block all of whose rows are free goes back to a pool.
 */
export class RouteRows {
  private cap: number;
  private top = 0;
  private readonly pool: number[] = [];
  /** The owner (a source's index) of the block's rows, -1 while the block is free. */
  private owner: Int32Array;
  /** The owner's chain of blocks. */
  private next: Int32Array;
  private prev: Int32Array;
  /** Bit i set: row i of the block is free. */
  private free: Uint32Array;

  constructor(
    rows: number,
    /** The row columns must hold `rows` rows now. */
    private readonly grown: (rows: number) => void,
  ) {
    this.cap = Math.max(1, rows >> BLOCK_BITS);
    this.owner = column(Int32Array, this.cap);
    this.next = column(Int32Array, this.cap);
    this.prev = column(Int32Array, this.cap);
    this.free = column(Uint32Array, this.cap);
  }

  /** The owner of row `r`. */
  ownerOf(r: number): number {
    return this.owner[r >> BLOCK_BITS]!;
  }

  /** A free row for owner `id` (whose rows `o` are). */
  take(id: number, o: RowOwner): number {
    const partial = o.partial;
    let b = NO_BLOCK;
    while (partial.length) {
      const p = partial[partial.length - 1]!;
      if (this.owner[p] === id && this.free[p] !== 0) {
        b = p;
        break;
      }
      partial.pop();
    }
    if (b === NO_BLOCK) {
      b = this.newBlock();
      this.owner[b] = id;
      this.free[b] = ALL_FREE;
      this.prev[b] = NO_BLOCK;
      this.next[b] = o.head;
      if (o.head !== NO_BLOCK) this.prev[o.head] = b;
      o.head = b;
      partial.push(b);
    }
    const free = this.free[b]!;
    const i = 31 - Math.clz32(free & -free);
    const left = (free & ~(1 << i)) >>> 0;
    this.free[b] = left;
    if (left === 0) partial.pop();
    return (b << BLOCK_BITS) | i;
  }

  /** Gives row `r` back (its owner's rows are `o`); its block goes to the pool once all of it is free. */
  give(r: number, o: RowOwner): void {
    const b = r >> BLOCK_BITS;
    const was = this.free[b]!;
    const now = (was | (1 << (r & (BLOCK - 1)))) >>> 0;
    this.free[b] = now;
    if (now === ALL_FREE) {
      const p = this.prev[b]!;
      const n = this.next[b]!;
      if (p === NO_BLOCK) o.head = n;
      else this.next[p] = n;
      if (n !== NO_BLOCK) this.prev[n] = p;
      this.owner[b] = NO_BLOCK;
      this.pool.push(b);
    } else if (was === 0) o.partial.push(b);
  }

  /**
   * The rows owner `id` has in use. Its blocks are listed first and each row checked when reached,
   * so rows may be given back meanwhile (a row it takes meanwhile may or may not be seen).
   */
  *rows(id: number, o: RowOwner): IterableIterator<number> {
    const blocks: number[] = [];
    for (let b = o.head; b !== NO_BLOCK; b = this.next[b]!) blocks.push(b);
    for (const b of blocks) {
      for (let i = 0; i < BLOCK; i++) {
        // The block may have been given back, or taken by another owner, since it was listed.
        if (this.owner[b] !== id) break;
        if ((this.free[b]! & (1 << i)) === 0) yield (b << BLOCK_BITS) | i;
      }
    }
  }

  private newBlock(): number {
    const b = this.pool.pop();
    if (b !== undefined) return b;
    if (this.top === this.cap) this.growBlocks();
    return this.top++;
  }

  /** Doubles the block columns (apart from `newBlock`, to keep that small: see `RouteStore.growDests`). */
  private growBlocks(): void {
    const n = this.cap * 2;
    [this.owner, this.next, this.prev, this.free] = growTogether(
      [this.owner, this.next, this.prev, this.free] as const,
      n,
    );
    this.cap = n;
    this.grown(n << BLOCK_BITS);
  }
}
