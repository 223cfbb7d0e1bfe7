import { Afi, type AttributeSet, encodeAttributeSet, packUpdates, type SessionContext } from '@tabby/wire';
import type { AttrSet } from '../rib/path.js';
import type { PrefixKey } from '../rib/prefix-key.js';
import { prefixListFromKeys } from '../rib/prefix-list-build.js';

export const afiOf = (key: PrefixKey): Afi => (typeof key === 'number' ? Afi.ipv4 : Afi.ipv6);

/** Prefixes (and, with ADD-PATH, their path identifiers) under one attribute set or family. */
interface Keys {
  readonly keys: PrefixKey[];
  readonly ids: number[] | undefined;
}

/**
 * Changes to send, grouped as they are packed: withdrawals per family, announcements per
 * attribute set (BIRD's buckets: every prefix of a set goes into as few UPDATEs as fit).
 */
export class Batch {
  readonly withdraw = new Map<Afi, Keys>();
  readonly announce = new Map<AttrSet, Keys>();

  constructor(readonly addPath = false) {}

  /** Adds an announcement; true when it starts a part of its own (a set not in the batch yet). */
  announceKey(set: AttrSet, key: PrefixKey, id = 0): boolean {
    return add(this.announce, set, key, this.addPath ? id : undefined);
  }

  /** Adds a withdrawal; true when it starts a part of its own (its family's first). */
  withdrawKey(key: PrefixKey, id = 0): boolean {
    return add(this.withdraw, afiOf(key), key, this.addPath ? id : undefined);
  }

  get empty(): boolean {
    return this.withdraw.size === 0 && this.announce.size === 0;
  }
}

function add<K>(m: Map<K, Keys>, k: K, key: PrefixKey, id: number | undefined): boolean {
  const e = m.get(k);
  if (e) {
    e.keys.push(key);
    if (id !== undefined) e.ids!.push(id);
    return false;
  }
  m.set(k, { keys: [key], ids: id === undefined ? undefined : [id] });
  return true;
}

/** The encoded UPDATEs of a batch, and how many prefixes they withdraw and announce. */
export interface Packed {
  readonly messages: Uint8Array[];
  readonly withdrawn: number;
  readonly announced: number;
}

/**
 * Encodes a batch for one session encoding. Attribute sets are encoded once per encoding:
 * `encoded` (the cache of the update groups of one key, by AttrSet id) keeps them across flushes.
 */
export function pack(b: Batch, ctx: SessionContext, encoded: Map<number, AttributeSet>): Packed {
  const messages: Uint8Array[] = [];
  let withdrawn = 0;
  let announced = 0;
  for (const [afi, { keys, ids }] of b.withdraw) {
    withdrawn += keys.length;
    messages.push(...packUpdates({ withdraw: prefixListFromKeys(afi, keys, ids) }, ctx));
  }
  for (const [set, { keys, ids }] of b.announce) {
    const afi = afiOf(keys[0]!);
    let enc = encoded.get(set.id);
    if (!enc) {
      const mp = afi === Afi.ipv6 ? splitNextHop(set.nextHop) : undefined;
      enc = encodeAttributeSet(set.attrs, ctx, mp ? { afi: Afi.ipv6, ...mp } : undefined);
      encoded.set(set.id, enc);
    }
    announced += keys.length;
    messages.push(...packUpdates({ announce: prefixListFromKeys(afi, keys, ids), attributes: enc }, ctx));
  }
  return { messages, withdrawn, announced };
}

/** `global%link-local` (how an IPv6 next hop with a link-local part is kept) into its two parts. */
function splitNextHop(nh: string): { nextHop: string; linkLocalNextHop?: string } {
  const i = nh.indexOf('%');
  return i < 0 ? { nextHop: nh } : { nextHop: nh.slice(0, i), linkLocalNextHop: nh.slice(i + 1) };
}
