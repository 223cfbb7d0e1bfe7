import {
  type AsPathSegment,
  type AttributeKey,
  asPathLength,
  decode,
  type PathAttributes,
  type SessionContext,
  sessionContext,
  type UpdateMessage,
} from '@tabby/wire';
import { grow, IdIndex } from './id-index.js';
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
  return `${nextHop} ${JSON.stringify(a, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v))}`;
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

const DECODE_CTX: Record<number, SessionContext> = {
  2: sessionContext({ fourOctetAs: false, extendedMessage: true }),
  4: sessionContext({ fourOctetAs: true, extendedMessage: true }),
};

const HAS_ORIGINATOR = 4;

/**
 * What the decision process reads of the sets interned by received bytes, in columns by slot
 * (a slot is reused once its set has left the table), and the index over their hashes.
 */
class RawColumns {
  cap = 256;
  hash = new Uint32Array(this.cap);
  localPref = new Uint32Array(this.cap);
  med = new Uint32Array(this.cap);
  neighborAs = new Uint32Array(this.cap);
  originatorId = new Uint32Array(this.cap);
  asPathLength = new Uint16Array(this.cap);
  clusterListLength = new Uint16Array(this.cap);
  /** Origin rank (2 bits) and HAS_ORIGINATOR. */
  flags = new Uint8Array(this.cap);
  readonly index = new IdIndex((slot) => this.hash[slot]!);

  /** Fills the columns of the set in `slot` (a slot of the table) and indexes its hash. */
  add(slot: number, hash: number, attrs: PathAttributes): void {
    while (slot >= this.cap) this.grow();
    const d = derived(attrs);
    this.hash[slot] = hash;
    this.localPref[slot] = d.localPref;
    this.med[slot] = d.med;
    this.neighborAs[slot] = d.neighborAs;
    this.originatorId[slot] = d.originatorId ?? 0;
    this.asPathLength[slot] = Math.min(d.asPathLength, 0xffff);
    this.clusterListLength[slot] = Math.min(d.clusterListLength, 0xffff);
    this.flags[slot] = d.originRank | (d.originatorId === undefined ? 0 : HAS_ORIGINATOR);
    this.index.insert(slot, hash);
  }

  remove(slot: number): void {
    this.index.delete(slot, this.hash[slot]!);
  }

  private grow(): void {
    const n = this.cap * 2;
    const g = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T): T => grow(a, n);
    this.hash = g(this.hash);
    this.localPref = g(this.localPref);
    this.med = g(this.med);
    this.neighborAs = g(this.neighborAs);
    this.originatorId = g(this.originatorId);
    this.asPathLength = g(this.asPathLength);
    this.clusterListLength = g(this.clusterListLength);
    this.flags = g(this.flags);
    this.cap = n;
  }
}

/**
 * A set interned by its received bytes. The object holds the bytes (in `key`, a one-byte string)
 * and its slot in the table's columns, where the fields the decision process reads are kept; the
 * decoded attributes are rebuilt from the bytes when asked for (export, policy, listings). A
 * diverse full table holds half a million of these, so they are kept small.
 */
class RawAttrSet implements AttrSet {
  refs = 0;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly nextHop: string,
    /** The slot in the table (and in `cols`); -1 once the set has left the table. */
    public slot: number,
    private readonly cols: RawColumns,
  ) {}

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
    const n = this.key.length - 1;
    // An UPDATE holding just these attributes: header, no withdrawals, the attribute bytes.
    const msg = Buffer.allocUnsafe(23 + n);
    msg.fill(0xff, 0, 16);
    msg.writeUInt16BE(23 + n, 16);
    msg[18] = 2;
    msg.writeUInt16BE(0, 19);
    msg.writeUInt16BE(n, 21);
    msg.write(this.key.slice(1), 23, 'latin1');
    const m = decode(msg, DECODE_CTX[this.key.charCodeAt(0)]!) as UpdateMessage;
    return compactAttrs(m.attributes, this.nextHop);
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
    const tag = fourOctetAs ? 4 : 2;
    const cols = this.raw;
    const idx = cols.index;
    for (let i = idx.start(hash); ; i = idx.next(i)) {
      const slot = idx.at(i);
      if (slot < 0) break;
      if (cols.hash[slot] !== hash) continue;
      const s = this.bySlot[slot]!;
      if (s.nextHop === nextHop && sameBytes(s.key, tag, raw.bytes)) return s;
    }
    // The key is the tag and the bytes as a one-byte string: compact, and flat (no concatenation).
    const buf = Buffer.allocUnsafe(raw.length + 1);
    buf[0] = tag;
    buf.set(raw.bytes, 1);
    const slot = this.freeSlot();
    cols.add(slot, hash, attrs);
    const s = new RawAttrSet(this.nextId++, buf.toString('latin1'), this.nextHopText(nextHop), slot, cols);
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

/** True when `key` is `tag` followed by `bytes` (a one-byte string against bytes). */
function sameBytes(key: string, tag: number, bytes: Uint8Array): boolean {
  if (key.length !== bytes.length + 1 || key.charCodeAt(0) !== tag) return false;
  for (let i = 0; i < bytes.length; i++) if (key.charCodeAt(i + 1) !== bytes[i]) return false;
  return true;
}
