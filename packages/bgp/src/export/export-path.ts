import { type PathAttributes, WellKnownCommunity } from '@tabby/wire';
import type { SpeakerConfig } from '../config/types.js';
import { applyPolicies, type CompiledPolicy, prependAs } from '../policy/evaluate.js';
import { matchesPrefix, type PolicySet } from '../policy/policy-set.js';
import type { AttrTable } from '../rib/attr-table.js';
import type { LocRib } from '../rib/loc-rib.js';
import type { AttrSet } from '../rib/path.js';
import type { ExportPeer } from './peer-out.js';

/** The speaker settings exports depend on. */
export type ExportSettings = Pick<SpeakerConfig, 'routerId' | 'clusterId' | 'ebgpRequiresPolicy'>;

/** A peer's export policies and outbound role, resolved once per session, not per prefix. */
export interface ExportView {
  readonly exports: readonly CompiledPolicy[];
  /** An export policy matches on prefixes: the export of a path depends on more than its attributes. */
  readonly perPrefix: boolean;
  /** RFC 8212: an eBGP peer without export policy gets nothing out. */
  readonly nothing: boolean;
  /**
   * Peers with the same key get the same attributes for the same path (session type, reflection
   * role, next-hop mode, export policies, local address and encoding): the export cache's key.
   */
  readonly key: string;
}

export function exportView(peer: ExportPeer, policies: PolicySet, settings: ExportSettings): ExportView {
  const c = peer.config;
  const exports = policies.resolve(c.export);
  const byPeer = exports.some((p) => p.policy.rules.some((r) => r.match.peer !== undefined));
  return {
    exports,
    perPrefix: matchesPrefix(exports),
    nothing: !peer.ibgp && exports.length === 0 && settings.ebgpRequiresPolicy,
    key: JSON.stringify([
      peer.ibgp,
      c.routeReflectorClient,
      c.nextHop,
      c.nextHopV6 ?? '',
      c.nextHopV4 ?? '',
      c.export,
      c.localAsn,
      peer.established?.conn.localAddress ?? '',
      peer.established?.ctx.fourOctetAs ?? true,
      byPeer ? c.name : '',
    ]),
  };
}

/**
 * Our next hop of `family` towards `peer`: the session's local address when it is of that family,
 * else the peer's `nextHopV6` (IPv6 routes over an IPv4 session) or `nextHopV4`.
 */
function selfNextHop(peer: ExportPeer, family: 4 | 6): string | undefined {
  const local = peer.established?.conn.localAddress ?? '';
  if (local && (family === 6) === local.includes(':')) return local;
  return family === 6 ? peer.config.nextHopV6 : peer.config.nextHopV4;
}

function ipv4FromUint(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * RFC 4271 5.1 and RFC 4456 8: what route `route` of the RIB becomes towards `peer`, interned in
 * `out`, or null when it is not sent.
 */
export function exportPath(
  rib: LocRib,
  route: number,
  peer: ExportPeer,
  view: ExportView,
  settings: ExportSettings,
  out: AttrTable,
): AttrSet | null {
  if (view.nothing) return null;
  const src = rib.source(route);
  const key = rib.key(route);
  const set = rib.attrs(route);
  const clusterId = settings.clusterId;
  if (!src.local && src.ibgp && peer.ibgp) {
    // iBGP-learned routes go to other iBGP peers only through a route reflector (RFC 4456 8).
    if (!clusterId) return null;
    if (!src.rrClient && !peer.config.routeReflectorClient) return null;
  }
  const a = set.attrs;
  const comms = a.communities ?? [];
  if (comms.includes(WellKnownCommunity.NO_ADVERTISE)) return null;
  if (
    !peer.ibgp &&
    (comms.includes(WellKnownCommunity.NO_EXPORT) || comms.includes(WellKnownCommunity.NO_EXPORT_SUBCONFED))
  )
    return null;
  let attrs: PathAttributes = { ...a };
  const family = typeof key === 'number' ? 4 : 6;
  let nextHopSelf: boolean;
  if (peer.ibgp) {
    attrs = { ...attrs, localPref: set.localPref };
    if (!src.local && src.ibgp) {
      attrs = {
        ...attrs,
        originatorId: a.originatorId ?? ipv4FromUint(src.routerId),
        clusterList: [clusterId ?? settings.routerId, ...(a.clusterList ?? [])],
      };
    }
    nextHopSelf = src.local || peer.config.nextHop === 'self';
  } else {
    attrs = prependAs(
      { ...attrs, localPref: undefined, originatorId: undefined, clusterList: undefined },
      peer.config.localAsn,
      1,
    );
    if (!src.local) attrs = { ...attrs, med: undefined };
    nextHopSelf = peer.config.nextHop !== 'keep' || src.local;
  }
  let nextHop = set.nextHop;
  if (view.exports.length) {
    const r = applyPolicies(
      view.exports,
      { key, attrs, nextHop, peerName: peer.config.name, peerAddress: peer.config.address, local: src.local },
      peer.config.localAsn,
    );
    if (!r.accept) return null;
    attrs = r.attrs;
    if (r.nextHopMode === 'self') nextHopSelf = true;
    else if (r.nextHopMode === 'keep' && !src.local) {
      nextHopSelf = false;
      nextHop = r.nextHop;
    }
  }
  if (nextHopSelf || !nextHop) {
    const self = selfNextHop(peer, family);
    if (!self) return null; // no next hop of this family towards this peer (nextHopV6 / nextHopV4 give one)
    nextHop = self;
  }
  attrs = family === 4 ? { ...attrs, nextHop } : { ...attrs, nextHop: undefined };
  return out.intern(attrs, nextHop);
}

/**
 * Export results per export view, attribute set, and source and family, for views whose policies
 * do not look at the prefix: a full table under a few attribute sets exports a few times.
 */
export class ExportCache {
  private byView = new Map<string, WeakMap<AttrSet, Map<number, AttrSet | null>>>();
  /** Exports computed on a miss (for tests and profiles). */
  computed = 0;

  constructor(
    private readonly rib: LocRib,
    private readonly out: AttrTable,
  ) {}

  /** Forgets everything (a peer's router ID, a policy or a setting changed). */
  clear(): void {
    this.byView = new Map();
  }

  /** Route `route` exported through `view` as `peer` has it, or null to withdraw. */
  get(route: number, peer: ExportPeer, view: ExportView, settings: ExportSettings): AttrSet | null {
    if (view.nothing) return null;
    if (view.perPrefix) return exportPath(this.rib, route, peer, view, settings, this.out);
    let bySet = this.byView.get(view.key);
    if (!bySet) {
      bySet = new WeakMap();
      this.byView.set(view.key, bySet);
    }
    const attrs = this.rib.attrs(route);
    let m = bySet.get(attrs);
    if (!m) {
      m = new Map();
      bySet.set(attrs, m);
    }
    const k = this.rib.source(route).id * 2 + (typeof this.rib.key(route) === 'number' ? 0 : 1);
    const hit = m.get(k);
    // A remembered set no path uses any more left the table: put it back (one object per set).
    if (hit !== undefined) return hit && hit.refs <= 0 ? this.out.adopt(hit) : hit;
    const set = exportPath(this.rib, route, peer, view, settings, this.out);
    this.computed += 1;
    m.set(k, set);
    return set;
  }
}
