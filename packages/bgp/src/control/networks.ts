import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { OriginatedPrefix, SpeakerConfig } from '../config/types.js';
import { NAMED_COMMUNITIES } from '../policy/communities.js';
import type { Speaker } from '../speaker.js';
import type { NetworkChangeResult, NetworkEntry, NetworkShowResult } from './api.js';
import { ControlError } from './protocol.js';

/** Most networks `network add` may hold at once (a client must not grow the speaker without bound). */
export const MAX_RUNTIME_NETWORKS = 10_000;
/** Most communities (standard and large together) on one runtime network. */
export const MAX_NETWORK_COMMUNITIES = 64;

const COMMUNITY_RE = /^(\d{1,5}):(\d{1,5})$/;
const LARGE_COMMUNITY_RE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

function shown(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 61)}...` : s);
}

/** A canonical prefix, or BAD_PREFIX saying what is wrong with it. */
export function checkNetworkPrefix(text: string): string {
  const p = parseCidr(text);
  if (!p || !text.includes('/'))
    throw new ControlError('BAD_PREFIX', `${shown(text)} is not a prefix (like 198.18.70.0/24 or 2001:db8:70::/48)`);
  if (p.hostBitsSet) throw new ControlError('BAD_PREFIX', `${text} has host bits set; did you mean ${p.canonical}?`);
  return p.canonical;
}

/** Splits communities into standard (`aa:nn`, well-known names) and large (`a:b:c`), or BAD_COMMUNITY. */
export function checkNetworkCommunities(list: readonly string[]): { communities: string[]; large: string[] } {
  if (list.length > MAX_NETWORK_COMMUNITIES)
    throw new ControlError('BAD_COMMUNITY', `${list.length} communities; the limit is ${MAX_NETWORK_COMMUNITIES}`);
  const communities = new Set<string>();
  const large = new Set<string>();
  for (const c of list) {
    const m = COMMUNITY_RE.exec(c);
    const l = LARGE_COMMUNITY_RE.exec(c);
    if (c in NAMED_COMMUNITIES || (m && Number(m[1]) <= 0xffff && Number(m[2]) <= 0xffff)) communities.add(c);
    else if (l && [l[1], l[2], l[3]].every((x) => Number(x) <= 0xffffffff)) large.add(c);
    else
      throw new ControlError(
        'BAD_COMMUNITY',
        `${shown(c)} is not a community: aa:nn (each 0..65535), a:b:c (large, each 0..4294967295) or one of ${Object.keys(NAMED_COMMUNITIES).join(', ')}`,
      );
  }
  return { communities: [...communities], large: [...large] };
}

/** Prefixes in address order, IPv4 first, shorter first at the same address. */
function sortPrefixes(list: OriginatedPrefix[]): OriginatedPrefix[] {
  const key = (o: OriginatedPrefix) => {
    const p = parseCidr(o.prefix)!;
    return { family: p.family, value: addressToBigInt(p.address)!.value, length: p.length };
  };
  return list
    .map((o) => ({ o, k: key(o) }))
    .sort((a, b) =>
      a.k.family !== b.k.family
        ? a.k.family - b.k.family
        : a.k.value !== b.k.value
          ? a.k.value < b.k.value
            ? -1
            : 1
          : a.k.length - b.k.length,
    )
    .map((x) => x.o);
}

/**
 * Networks announced at run time through the control socket (`bgpctl network add`), as OpenBGPD's
 * dynamic networks: not written anywhere, so lost when the speaker restarts, but kept across a
 * config reload. Networks of the config file (`originate`) cannot be added or deleted here; a
 * reload whose config takes over a runtime network makes it a config network.
 */
export class RuntimeNetworks {
  private readonly added = new Map<string, OriginatedPrefix>();
  /** The config the runtime entries were last checked against, and its prefixes. */
  private seen: { config: SpeakerConfig; prefixes: Set<string> } | null = null;

  constructor(
    private readonly speaker: Speaker,
    private readonly limit = MAX_RUNTIME_NETWORKS,
  ) {}

  /**
   * The config file's prefixes. After a reload, forgets runtime entries the new config took over
   * (they are config networks now) or that are no longer announced.
   */
  private configured(): Set<string> {
    const config = this.speaker.config;
    if (this.seen?.config === config) return this.seen.prefixes;
    const prefixes = new Set(config.originate.map((o) => o.prefix));
    const announced = new Set(this.speaker.originated.map((o) => o.prefix));
    for (const p of this.added.keys()) if (prefixes.has(p) || !announced.has(p)) this.added.delete(p);
    this.seen = { config, prefixes };
    return prefixes;
  }

  add(prefixText: string, list: readonly string[]): NetworkChangeResult {
    const prefix = checkNetworkPrefix(prefixText);
    const { communities, large } = checkNetworkCommunities(list);
    const configured = this.configured();
    if (configured.has(prefix))
      throw new ControlError(
        'NETWORK_CONFIGURED',
        `${prefix} is announced by the config file (${this.speaker.config.source}); change it there and reload`,
      );
    const had = this.added.has(prefix);
    if (!had && this.speaker.originated.some((o) => o.prefix === prefix))
      throw new ControlError('NETWORK_CONFIGURED', `${prefix} is already announced by the program running the speaker`);
    if (!had && this.added.size >= this.limit)
      throw new ControlError(
        'TOO_MANY_NETWORKS',
        `${this.limit} runtime networks already; delete some (bgpctl network delete|flush) or put them in the config file`,
      );
    const o: OriginatedPrefix = { prefix, blackhole: false, communities, largeCommunities: large };
    this.added.set(prefix, o);
    this.speaker.originate(prefix, o);
    return { prefix, action: had ? 'changed' : 'added', runtime: this.added.size };
  }

  delete(prefixText: string): NetworkChangeResult {
    const prefix = checkNetworkPrefix(prefixText);
    const configured = this.configured();
    if (configured.has(prefix))
      throw new ControlError(
        'NETWORK_CONFIGURED',
        `${prefix} comes from the config file (${this.speaker.config.source}): remove it there and reload`,
      );
    if (!this.added.delete(prefix))
      throw new ControlError('UNKNOWN_NETWORK', `${prefix} was not added with network add (see network show)`);
    this.speaker.withdrawLocal(prefix);
    return { prefix, action: 'deleted', runtime: this.added.size };
  }

  /** Withdraws every runtime network; returns their prefixes. */
  flush(): string[] {
    this.configured();
    const gone = [...this.added.keys()];
    this.added.clear();
    for (const p of gone) this.speaker.withdrawLocal(p);
    return gone;
  }

  show(): NetworkShowResult {
    const configured = this.configured();
    const networks: NetworkEntry[] = sortPrefixes(this.speaker.originated).map((o) => ({
      prefix: o.prefix,
      origin: configured.has(o.prefix) ? 'config' : this.added.has(o.prefix) ? 'runtime' : 'api',
      communities: o.communities,
      large_communities: o.largeCommunities,
      blackhole: o.blackhole,
    }));
    return { networks, runtime: this.added.size, runtime_limit: this.limit };
  }
}
