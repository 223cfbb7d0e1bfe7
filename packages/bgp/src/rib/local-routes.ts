import type { PathAttributes } from '@tabby/wire';
import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { OriginatedPrefix } from '../config/types.js';
import { parseCommunity, parseLargeCommunity } from '../policy/communities.js';
import { type AttrTable, ipv4ToUint } from './attr-table.js';
import { type LocRib, NONE } from './loc-rib.js';
import { LOCAL_SOURCE_ID, type PathSource } from './path.js';
import { type PrefixKey, prefixKeyFromText } from './prefix-key.js';

/** The speaker's own routes (configured `originate` entries and `Speaker.originate`), as RIB routes of the local source. */
export class LocalRoutes {
  /** The source of every local route. */
  readonly source: PathSource;
  private readonly byKey = new Map<PrefixKey, OriginatedPrefix>();

  constructor(
    private readonly rib: LocRib,
    private readonly attrs: AttrTable,
    speaker: { routerId: string; asn: number },
    /** Clock time in whole seconds. */
    private readonly now: () => number,
  ) {
    this.source = {
      id: LOCAL_SOURCE_ID,
      name: 'local',
      address: '',
      addressKey: 0n,
      routerId: ipv4ToUint(speaker.routerId),
      asn: speaker.asn,
      ibgp: false,
      rrClient: false,
      local: true,
    };
  }

  private key(prefix: string): PrefixKey {
    const p = parseCidr(prefix);
    if (!p || p.hostBitsSet) throw new TypeError(`not a canonical prefix: ${prefix}`);
    return prefixKeyFromText(p.family, addressToBigInt(p.address)!.value, p.length);
  }

  /** Announces (or changes) a local prefix. */
  add(o: OriginatedPrefix): void {
    const key = this.key(o.prefix);
    this.byKey.set(key, o);
    const attrs: PathAttributes = {
      origin: 'igp',
      asPath: [],
      ...(o.communities.length ? { communities: o.communities.map(parseCommunity).sort((a, b) => a - b) } : {}),
      ...(o.largeCommunities.length ? { largeCommunities: o.largeCommunities.map(parseLargeCommunity) } : {}),
    };
    const set = this.attrs.intern(attrs, '');
    this.rib.put(key, this.source, 0, set, set, this.now());
  }

  /** Withdraws a local prefix; false when it was not announced. */
  withdraw(prefix: string): boolean {
    const key = this.key(prefix);
    if (!this.byKey.delete(key)) return false;
    const r = this.rib.find(key, this.source, 0);
    if (r !== NONE) this.rib.remove(r);
    return true;
  }

  /** The local route of `key` is to be installed as a blackhole. */
  blackhole(key: PrefixKey): boolean {
    return this.byKey.get(key)?.blackhole ?? false;
  }

  /** Every local prefix. */
  list(): OriginatedPrefix[] {
    return [...this.byKey.values()];
  }
}
