import {
  type AsPathSegment,
  AttributeKey,
  asPathLength,
  BgpEncodeError,
  decode,
  encodePathAttributes,
  type PathAttributes,
  sessionContext,
  type UpdateMessage,
} from '@tabby/wire';
import { column, grow, growTogether, IdIndex } from './id-index.js';
import type { AttrSet } from './path.js';

const ORIGIN_RANK = { igp: 0, egp: 1, incomplete: 2 } as const;

/** Default LOCAL_PREF when a route has none (eBGP-learned, locally originated). */
export const DEFAULT_LOCAL_PREF = 100;

export function ipv4ToUint(a: string): number {
  const p = a.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

function firstAs(path: readonly AsPathSegment[] | undefined): number {
  for (const s of path ?? []) {
    if (s.kind === 'sequence' && s.asns.length) return s.asns[0]!;
    if (s.kind === 'set' || s.kind === 'sequence') return 0;
  }
  return 0;
}

/**
 * A stable text key for an attribute set. Two sets with the same key are interchangeable on the
 * wire and in the decision process.
 */
export function attrKey(a: PathAttributes, nextHop: string): string {
  // Only unknown attributes carry bytes; without them the native stringify (no replacer) is far faster.
  const json = a.unknown?.length ? JSON.stringify(a, hexBytes) : JSON.stringify(a);
  return `${nextHop} ${json}`;
}

function hexBytes(_k: string, v: unknown): unknown {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
}

/** What the decision process reads of a set, computed once. */
function derived(attrs: PathAttributes) {
  return {
    localPref: attrs.localPref ?? DEFAULT_LOCAL_PREF,
    asPathLength: asPathLength(attrs.asPath ?? []),
    neighborAs: firstAs(attrs.asPath),
    originRank: ORIGIN_RANK[attrs.origin ?? 'incomplete'],
    med: attrs.med ?? 0,
    clusterListLength: attrs.clusterList?.length ?? 0,
    originatorId: attrs.originatorId ? ipv4ToUint(attrs.originatorId) : undefined,
  };
}

const DECODE_TWO = sessionContext({ fourOctetAs: false, extendedMessage: true });
const DECODE_FOUR = sessionContext({ fourOctetAs: true, extendedMessage: true });
const ENCODE_FOUR = DECODE_FOUR;

const HAS_ORIGINATOR = 4;
/** Received on a session with 4-octet AS numbers. */
const FOUR_OCTET = 8;
/** The slot holds a set interned by its bytes (its bytes are in the arena). */
const RAW = 16;

/** The columns of `RawColumns` with a row per slot, grown together. */
const SLOT_COLUMNS = [
  'hash',
  'localPref',
  'med',
  'neighborAs',
  'originatorId',
  'asPathLength',
  'clusterListLength',
  'flags',
  'off',
  'len',
] as const;
type SlotColumn = Uint32Array | Uint16Array | Uint8Array;

/**
 * What the decision process reads of the sets interned by received bytes, in columns by slot
 * (a slot is reused once its set has left the table), and the index over their hashes.
 */
class RawColumns {
  cap = 256;
  hash = column(Uint32Array, this.cap);
  localPref = column(Uint32Array, this.cap);
  med = column(Uint32Array, this.cap);
  neighborAs = column(Uint32Array, this.cap);
  originatorId = column(Uint32Array, this.cap);
  asPathLength = column(Uint16Array, this.cap);
  clusterListLength = column(Uint16Array, this.cap);
  /** Origin rank (2 bits), HAS_ORIGINATOR, FOUR_OCTET, RAW. */
  flags = column(Uint8Array, this.cap);
  /** Where the set's received bytes are in `bytes`. */
  off = column(Uint32Array, this.cap);
  len = column(Uint32Array, this.cap);
  /**
   * The received bytes of every set, one after the other; freed room is reclaimed by `compact`.
   * Its reservation is counted by V8 as external memory (32 MB, untouched), on purpose: told of
   * it, V8 collects its old generation sooner. A reflector with 10,000 clients peaked at 217-227
   * MB with it, 338-346 MB without (old space twice what is live); V8's heap growing factor
   * set to 1.5 instead kept it at 207-212 MB but held the loop 251 ms in a full collection when
   * every client left.
   */
  bytes = column(Uint8Array, 64 * 1024, true);
  private used = 0;
  private wasted = 0;
  readonly index = new IdIndex((slot) => this.hash[slot]!, {
    count: () => this.cap,
    each: (from, to, place) => {
      for (let slot = from; slot < to; slot++) if ((this.flags[slot]! & RAW) !== 0) place(slot, this.hash[slot]!);
    },
  });

  /**
   * Fills the columns of the set in `slot` (a slot of the table) from its received bytes `raw`
   * and its decoded attributes, and indexes its hash.
   */
  add(slot: number, hash: number, attrs: PathAttributes, raw: Uint8Array, fourOctetAs: boolean): void {
    while (slot >= this.cap) this.grow();
    this.store(slot, raw);
    const d = derived(attrs);
    this.hash[slot] = hash;
    this.localPref[slot] = d.localPref;
    this.med[slot] = d.med;
    this.neighborAs[slot] = d.neighborAs;
    this.originatorId[slot] = d.originatorId ?? 0;
    this.asPathLength[slot] = Math.min(d.asPathLength, 0xffff);
    this.clusterListLength[slot] = Math.min(d.clusterListLength, 0xffff);
    this.flags[slot] =
      d.originRank | (d.originatorId === undefined ? 0 : HAS_ORIGINATOR) | (fourOctetAs ? FOUR_OCTET : 0) | RAW;
    this.index.insert(slot, hash);
  }

  remove(slot: number): void {
    this.index.delete(slot, this.hash[slot]!);
    this.flags[slot] = 0;
    this.wasted += this.len[slot]!;
  }

  /** True when the set in `slot` was received with `fourOctetAs` as exactly `bytes`. */
  same(slot: number, fourOctetAs: boolean, bytes: Uint8Array): boolean {
    const n = this.len[slot]!;
    if (n !== bytes.length || ((this.flags[slot]! & FOUR_OCTET) !== 0) !== fourOctetAs) return false;
    const b = this.bytes;
    const o = this.off[slot]!;
    for (let i = 0; i < n; i++) if (b[o + i] !== bytes[i]) return false;
    return true;
  }

  private store(slot: number, raw: Uint8Array): void {
    const n = raw.length;
    if (this.used + n > this.bytes.length) {
      const live = this.used - this.wasted;
      let size = this.bytes.length;
      while (live + n > size / 2) size *= 2;
      // Half or more of the arena freed: copy the live bytes into a fresh one (of the same size
      // when that is enough), else grow it.
      if (this.wasted * 2 >= this.used) this.compact(size);
      else this.bytes = grow(this.bytes, Math.max(size, this.bytes.length * 2));
    }
    this.bytes.set(raw, this.used);
    this.off[slot] = this.used;
    this.len[slot] = n;
    this.used += n;
  }

  private compact(size: number): void {
    const next = column(Uint8Array, size, true);
    let p = 0;
    for (let slot = 0; slot < this.cap; slot++) {
      if ((this.flags[slot]! & RAW) === 0) continue;
      const o = this.off[slot]!;
      const n = this.len[slot]!;
      next.set(this.bytes.subarray(o, o + n), p);
      this.off[slot] = p;
      p += n;
    }
    this.bytes = next;
    this.used = p;
    this.wasted = 0;
  }

  /** An UPDATE holding just the set's attributes (header, no withdrawals), decoded again. */
  decode(slot: number): PathAttributes {
    const n = this.len[slot]!;
    const o = this.off[slot]!;
    const msg = Buffer.allocUnsafe(23 + n);
    msg.fill(0xff, 0, 16);
    msg.writeUInt16BE(23 + n, 16);
    msg[18] = 2;
    msg.writeUInt16BE(0, 19);
    msg.writeUInt16BE(n, 21);
    msg.set(this.bytes.subarray(o, o + n), 23);
    const ctx = (this.flags[slot]! & FOUR_OCTET) !== 0 ? DECODE_FOUR : DECODE_TWO;
    return (decode(msg, ctx) as UpdateMessage).attributes;
  }

  /** The interning key as text: a tag octet (2 or 4, the AS number size) and the bytes. */
  keyText(slot: number): string {
    const o = this.off[slot]!;
    const tag = (this.flags[slot]! & FOUR_OCTET) !== 0 ? 4 : 2;
    return String.fromCharCode(tag) + Buffer.from(this.bytes.subarray(o, o + this.len[slot]!)).toString('latin1');
  }

  private grow(): void {
    const n = this.cap * 2;
    const grown = growTogether(
      SLOT_COLUMNS.map((k) => this[k]),
      n,
    );
    const cols = this as unknown as Record<(typeof SLOT_COLUMNS)[number], SlotColumn>;
    SLOT_COLUMNS.forEach((k, i) => {
      cols[k] = grown[i]!; // each keeps its own type: growTogether makes it with the same constructor
    });
    this.cap = n;
  }
}

/**
 * A set interned by its received bytes. The object holds its slot in the table's columns, where
 * its bytes and the fields the decision process reads are kept; the decoded attributes are
 * rebuilt from the bytes when asked for (export, policy, listings). A diverse full table holds
 * half a million of these, so they are kept small.
 */
class RawAttrSet implements AttrSet {
  refs = 0;

  constructor(
    readonly id: number,
    readonly nextHop: string,
    /** The slot in the table (and in `cols`); -1 once the set has left the table. */
    public slot: number,
    private readonly cols: RawColumns,
  ) {}

  get key(): string {
    return this.cols.keyText(this.slot);
  }
  get localPref(): number {
    return this.cols.localPref[this.slot]!;
  }
  get med(): number {
    return this.cols.med[this.slot]!;
  }
  get neighborAs(): number {
    return this.cols.neighborAs[this.slot]!;
  }
  get asPathLength(): number {
    return this.cols.asPathLength[this.slot]!;
  }
  get clusterListLength(): number {
    return this.cols.clusterListLength[this.slot]!;
  }
  get originRank(): number {
    return this.cols.flags[this.slot]! & 3;
  }
  get originatorId(): number | undefined {
    return this.cols.flags[this.slot]! & HAS_ORIGINATOR ? this.cols.originatorId[this.slot] : undefined;
  }

  /** The attributes, decoded again from the received bytes (equal to what the UPDATE decoded). */
  get attrs(): PathAttributes {
    return compactAttrs(this.cols.decode(this.slot), this.nextHop);
  }
}

/**
 * Interns attribute sets: one object per distinct set, reference counted, so a million routes
 * with one attribute set hold one AttrSet.
 */
export class AttrTable {
  private readonly sets = new Map<string, AttrSet>();
  /** Sets interned by their received bytes (`internRaw`): their columns and index, by slot. */
  private readonly raw = new RawColumns();
  /** Every set in the table, by slot (so a route can hold a set as a 32-bit number). */
  private readonly bySlot: (AttrSet | null)[] = [];
  private readonly freeSlots: number[] = [];
  private nextId = 1;
  /** One string per distinct next hop, shared by every set that has it (each UPDATE decodes its own). */
  private readonly nextHops = new Map<string, string>();

  private nextHopText(nextHop: string): string {
    const cur = this.nextHops.get(nextHop);
    if (cur !== undefined) return cur;
    if (this.nextHops.size >= 4096) this.nextHops.clear(); // bounded: a churn of next hops stays cheap
    this.nextHops.set(nextHop, nextHop);
    return nextHop;
  }

  private make(attrs: PathAttributes, nextHop: string, key: string): AttrSet {
    return this.claim({ id: this.nextId++, key, attrs, nextHop, ...derived(attrs), refs: 0, slot: -1 });
  }

  /** The set in `slot`. */
  at(slot: number): AttrSet {
    return this.bySlot[slot]!;
  }

  private freeSlot(): number {
    const slot = this.freeSlots.pop();
    if (slot !== undefined) return slot;
    this.bySlot.push(null);
    return this.bySlot.length - 1;
  }

  private claim<T extends AttrSet>(s: T): T {
    s.slot = this.freeSlot();
    this.bySlot[s.slot] = s;
    return s;
  }

  private release(s: AttrSet): void {
    this.bySlot[s.slot] = null;
    this.freeSlots.push(s.slot);
    s.slot = -1;
  }

  /**
   * The shared set for attributes received as `raw` (the UPDATE's attribute bytes, see
   * `AttributeKey`) on a session with or without 4-octet AS numbers, announced with `nextHop`:
   * found by the bytes' hash and a byte compare, without building a key string; `attrs` is the
   * decoded form, kept when the set is new.
   */
  internRaw(attrs: PathAttributes, nextHop: string, raw: AttributeKey, fourOctetAs: boolean): AttrSet {
    const hash = (raw.hash ^ (fourOctetAs ? 0x5bd1e995 : 0)) >>> 0;
    const cols = this.raw;
    const idx = cols.index;
    for (let i = idx.start(hash); ; i = idx.next(i)) {
      const slot = idx.at(i);
      if (slot < 0) break;
      if (!idx.tagged(i, hash) || cols.hash[slot] !== hash) continue;
      const s = this.bySlot[slot]!;
      if (s.nextHop === nextHop && cols.same(slot, fourOctetAs, raw.bytes)) return s;
    }
    const slot = this.freeSlot();
    cols.add(slot, hash, attrs, raw.bytes, fourOctetAs);
    const s = new RawAttrSet(this.nextId++, this.nextHopText(nextHop), slot, cols);
    this.bySlot[slot] = s;
    return s;
  }

  /**
   * The shared set for `attrs` with `nextHop`; `key` may be given when the caller already has a
   * key that identifies both (e.g. the raw attribute bytes plus next hop).
   */
  intern(attrs: PathAttributes, nextHop: string, key: string = attrKey(attrs, nextHop)): AttrSet {
    let s = this.sets.get(key);
    if (!s) {
      s = this.make(attrs, nextHop, key);
      this.sets.set(key, s);
    }
    return s;
  }

  /**
   * The shared set for `attrs` with `nextHop`, held as a received set is: encoded (4-octet AS
   * numbers) into the byte arena and the decision columns, decoded again when asked for. For the
   * sets import policy makes, one per received set when a policy changes something (a diverse
   * full table through a policy that sets LOCAL_PREF is half a million of them: held decoded,
   * each took about 800 bytes of heap, 640 MB in all against 240 without the policy). Attributes
   * that cannot be encoded (a malformed one kept as received) are held decoded.
   */
  internEncoded(attrs: PathAttributes, nextHop: string): AttrSet {
    let bytes: Uint8Array;
    try {
      bytes = encodePathAttributes(attrs, ENCODE_FOUR);
    } catch (err) {
      if (!(err instanceof BgpEncodeError)) throw err;
      return this.intern(attrs, nextHop);
    }
    return this.internRaw(attrs, nextHop, new AttributeKey(bytes, 0, bytes.length), true);
  }

  /**
   * The table's set for `s`'s key: `s` itself, put back when it had left the table (no path used
   * it) and no equal set took its place.
   */
  adopt(s: AttrSet): AttrSet {
    if (s instanceof RawAttrSet) return s; // raw sets are never adopted (exports are not raw)
    const cur = this.sets.get(s.key);
    if (cur) return cur;
    this.sets.set(s.key, this.claim(s));
    return s;
  }

  /** Takes a reference (a path now uses the set). */
  ref(s: AttrSet): AttrSet {
    s.refs += 1;
    return s;
  }

  /** Drops a reference; the set is forgotten when no path uses it. */
  unref(s: AttrSet): void {
    s.refs -= 1;
    if (s.refs > 0) return;
    if (s.slot < 0 || this.bySlot[s.slot] !== s) return; // not in this table (any more)
    if (s instanceof RawAttrSet) this.raw.remove(s.slot);
    else this.sets.delete(s.key);
    this.release(s);
  }

  get size(): number {
    return this.sets.size + this.raw.index.size;
  }

  /** Sets held decoded, as objects (local routes, export results); the others are held as bytes. */
  get decoded(): number {
    return this.sets.size;
  }
}

/**
 * `a` with only the attributes it has (same order, same values): the decoder's object has a slot
 * for every attribute, mostly undefined, and a diverse full table keeps hundreds of thousands of
 * sets. The next hop string is replaced by `nextHop` when equal (one shared string).
 */
export function compactAttrs(a: PathAttributes, nextHop?: string): PathAttributes {
  const out: Record<string, unknown> = {};
  for (const k in a) {
    const v = (a as Record<string, unknown>)[k];
    if (v === undefined) continue;
    out[k] = k === 'nextHop' && v === nextHop ? nextHop : v;
  }
  return out as PathAttributes;
}
