import {
  Afi,
  CeaseSubcode,
  type NotificationMessage,
  notification,
  type PathAttributes,
  type PrefixList,
  type UpdateMessage,
} from '@tabby/wire';
import type { Clock, TimerHandle } from './clock.js';
import type { PeerConfig, SpeakerConfig } from './config/types.js';
import type { Logger } from './logger.js';
import { applyPolicies, type CompiledPolicy } from './policy/evaluate.js';
import { matchesPrefix, type PolicySet } from './policy/policy-set.js';
import type { AttrTable } from './rib/attr-table.js';
import { type LocRib, NONE } from './rib/loc-rib.js';
import type { AttrSet, PathSource } from './rib/path.js';
import { type PrefixKey, prefixKeyAt } from './rib/prefix-key.js';

/** What the import stage needs of a peer (`Peer` is one). */
export interface ImportPeer {
  readonly config: PeerConfig;
  readonly ibgp: boolean;
  /** The source its routes are stored under (renewed when a session's routes are dropped). */
  readonly source: PathSource;
  readonly established: {
    readonly ctx: { readonly fourOctetAs: boolean };
    /** When the UPDATE being handled was read (clock ms): its routes' time. */
    readonly heardAt: number;
    /** The peer's OPEN: its capabilities say whether it can send its routes again (ROUTE-REFRESH). */
    readonly remoteOpen?: { readonly capabilities: readonly { readonly kind: string }[] } | null;
  } | null;
  readonly updates: { prefixesReceived: number; withdrawalsReceived: number };
  readonly adminDown: boolean;
  lastError: string;
  stop(n: NotificationMessage | null): void;
  start(): void;
}

/** The speaker settings import depends on. */
export type ImportSettings = Pick<SpeakerConfig, 'asn' | 'routerId' | 'clusterId' | 'ebgpRequiresPolicy'>;

/** A peer's import policies, resolved once, not per UPDATE or prefix. */
interface ImportView {
  readonly imports: readonly CompiledPolicy[];
  /** A policy matches on prefixes: evaluated per prefix, not once per attribute set. */
  readonly perPrefix: boolean;
  /** RFC 8212: an eBGP peer without import policy gets nothing in. */
  readonly denyAll: boolean;
  /** The session `keep` was decided for. */
  keepFor: unknown;
  /** See `keepsReceived`. */
  keep: boolean;
}

export interface ImportDeps {
  rib: LocRib;
  /** The table received attribute sets are interned in. */
  attrs: AttrTable;
  clock: Clock;
  log: Logger;
  /** The peer is still configured (a max-prefix restart skips a removed peer). */
  configured(peer: ImportPeer): boolean;
}

/** Why a received route is unusable (RFC 4271 9.1.2 loop checks, RFC 4456 8), or ''. */
export function loopCheck(peer: ImportPeer, a: PathAttributes, settings: ImportSettings): string {
  let own = 0;
  const local = peer.config.localAsn;
  for (const s of a.asPath ?? []) for (const asn of s.asns) if (asn === local) own += 1;
  if (own > peer.config.allowLocalAs) return 'AS path loop';
  if (a.originatorId === settings.routerId) return 'originator is us';
  const cid = settings.clusterId ?? settings.routerId;
  if (peer.ibgp && a.clusterList?.includes(cid)) return 'cluster list loop';
  return '';
}

/**
 * The import stage: a peer's UPDATEs into the RIB. Withdrawals remove routes; announcements are
 * interned as received, loop-checked, put through import policy, and stored with both attribute
 * sets (as received, for soft reconfiguration; after policy, or rejected). Max-prefix is checked
 * per UPDATE. End-of-RIB is graceful restart's business, not this stage's.
 */
export class ImportStage {
  private readonly views = new Map<ImportPeer, ImportView>();
  private readonly maxPrefixTimers = new Map<ImportPeer, TimerHandle>();

  constructor(
    private readonly deps: ImportDeps,
    private settings: ImportSettings,
    private policies: PolicySet,
  ) {}

  /** A new config: policies are resolved again. */
  reconfigure(settings: ImportSettings, policies: PolicySet): void {
    this.settings = settings;
    this.policies = policies;
    this.views.clear();
  }

  /** The peer's settings changed (a reload): its policies are resolved again. */
  forget(peer: ImportPeer): void {
    this.views.delete(peer);
  }

  private view(peer: ImportPeer): ImportView {
    let v = this.views.get(peer);
    if (!v) {
      const imports = this.policies.resolve(peer.config.import);
      v = {
        imports,
        perPrefix: matchesPrefix(imports),
        denyAll: !peer.ibgp && imports.length === 0 && this.settings.ebgpRequiresPolicy,
        keepFor: undefined,
        keep: true,
      };
      this.views.set(peer, v);
    }
    return v;
  }

  /**
   * Whether the peer's routes keep their attribute sets as received where import policy replaced
   * them (BIRD's `import table`, FRR's `soft-reconfiguration inbound`): when the peer's config
   * asks for it (`importTable`), or when the peer cannot send its routes again (no ROUTE-REFRESH
   * capability), so a policy change can only be applied to what is stored. Otherwise only the set
   * after policy is kept, as BIRD and FRR do by default: a diverse full table through a policy that
   * sets LOCAL_PREF held two sets per route (330 MB against BIRD's 221). A policy change then asks
   * the peer for its routes again (see `reimport`).
   */
  private keepsReceived(peer: ImportPeer, v: ImportView): boolean {
    const s = peer.established;
    if (v.keepFor !== s) {
      v.keepFor = s;
      v.keep = peer.config.importTable || !s?.remoteOpen?.capabilities.some((c) => c.kind === 'route-refresh');
    }
    return v.keep;
  }

  /** Clock time in whole seconds (kept as a small integer on every path). */
  private seconds(): number {
    return Math.floor(this.deps.clock.now() / 1000);
  }

  /** An UPDATE from the peer's established session (not an End-of-RIB). */
  update(peer: ImportPeer, m: UpdateMessage): void {
    if (m.errors?.length) {
      this.deps.log.warn(
        { peer: peer.config.name, errors: m.errors.map((e) => `${e.action}: ${e.reason}`) },
        'malformed UPDATE (RFC 7606)',
      );
    }
    // The time of the read, not the clock's (read per UPDATE: 500,000 times for a diverse table).
    const now = Math.floor((peer.established?.heardAt ?? this.deps.clock.now()) / 1000);
    this.withdraw(peer, m.withdrawn);
    if (m.mpUnreach) this.withdraw(peer, m.mpUnreach.withdrawn);
    if (m.nlri.count) this.announce(peer, m, m.nlri, m.attributes.nextHop ?? '', now);
    if (m.mpReach?.nlri.count) {
      const r = m.mpReach;
      this.announce(peer, m, r.nlri, r.linkLocalNextHop ? `${r.nextHop}%${r.linkLocalNextHop}` : r.nextHop, now);
    }
    this.checkMaxPrefix(peer);
  }

  private withdraw(peer: ImportPeer, list: PrefixList): void {
    const rib = this.deps.rib;
    for (let i = 0; i < list.count; i++) {
      const key = prefixKeyAt(list, i);
      const r = rib.find(key, peer.source, list.pathIds ? list.pathIds[i]! : 0);
      peer.updates.withdrawalsReceived += 1;
      if (r !== NONE) rib.remove(r);
    }
  }

  private announce(peer: ImportPeer, m: UpdateMessage, list: PrefixList, nextHop: string, now: number): void {
    const { rib, attrs: table } = this.deps;
    let attrs = m.attributes;
    peer.updates.prefixesReceived += list.count;
    // The received set, interned when a route stores it: a peer whose routes keep only the set
    // after policy does not intern (and then drop) one per UPDATE that the policy changes.
    let raw: AttrSet | undefined;
    const received = (): AttrSet =>
      (raw ??= m.attrKey
        ? table.internRaw(m.attributes, nextHop, m.attrKey, peer.established?.ctx.fourOctetAs ?? true)
        : table.internEncoded(m.attributes, nextHop));
    const loop = loopCheck(peer, attrs, this.settings);
    // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
    if (!peer.ibgp && attrs.localPref !== undefined) attrs = { ...attrs, localPref: undefined };
    const view = this.view(peer);
    const { imports, perPrefix, denyAll } = view;
    const keep = this.keepsReceived(peer, view);
    if (keep) received();
    const reject = loop !== '' || denyAll;
    rib.warm(list);
    // The set after import: one for every prefix unless a policy reads the prefix.
    const one = !perPrefix || !imports.length;
    let shared: AttrSet | null | undefined;
    const postFor = (key: PrefixKey): AttrSet | null => {
      if (reject) return null;
      if (one && shared !== undefined) return shared;
      const post = imports.length
        ? this.applyImport(peer, imports, key, attrs, nextHop, received, m.attributes)
        : attrs === m.attributes
          ? received()
          : table.internEncoded(attrs, nextHop);
      if (one) shared = post;
      return post;
    };
    // Stored as received: when kept, when the policy changed nothing, when rejected.
    const rawFor = (post: AttrSet | null) => (keep || post === raw || post === null ? received() : null);
    if (one && list.afi === Afi.ipv4 && !list.pathIds && list.count > 0) {
      // One outcome for every prefix: decided once, stored at once.
      const post = postFor(prefixKeyAt(list, 0));
      rib.putList(list, peer.source, rawFor(post), post, now);
    } else {
      for (let i = 0; i < list.count; i++) {
        const key = prefixKeyAt(list, i);
        const post = postFor(key);
        rib.put(key, peer.source, list.pathIds ? list.pathIds[i]! : 0, rawFor(post), post, now);
      }
    }
    if (loop) this.deps.log.debug({ peer: peer.config.name, prefixes: list.count, reason: loop }, 'routes ignored');
  }

  /** Import policy on one route; a policy that changed nothing keeps the received set (no second interning). */
  private applyImport(
    peer: ImportPeer,
    imports: readonly CompiledPolicy[],
    key: PrefixKey,
    attrs: PathAttributes,
    nextHop: string,
    raw: () => AttrSet,
    received: PathAttributes,
  ): AttrSet | null {
    const r = applyPolicies(
      imports,
      { key, attrs, nextHop, peerName: peer.config.name, peerAddress: peer.config.address },
      this.settings.asn,
    );
    if (!r.accept) return null;
    return r.attrs === received && r.nextHop === nextHop ? raw() : this.deps.attrs.internEncoded(r.attrs, r.nextHop);
  }

  /**
   * Soft reconfiguration inbound: re-runs import over the peer's stored Adj-RIB-In. Attribute sets
   * are decoded once per pass; without per-prefix policies each set is evaluated once. Routes whose
   * received sets were not kept are left as they are: true when there were any, and the peer must
   * send its routes again (ROUTE-REFRESH) for the change to reach them.
   */
  reimport(peer: ImportPeer): boolean {
    const now = this.seconds();
    const rib = this.deps.rib;
    const { imports, perPrefix, denyAll } = this.view(peer);
    const bySet = new Map<AttrSet, AttrSet | null>();
    const evaluate = (raw: AttrSet, key: PrefixKey): AttrSet | null => {
      const received = raw.attrs;
      if (denyAll || loopCheck(peer, received, this.settings)) return null;
      // RFC 4271 5.1.5: LOCAL_PREF from an external peer is ignored.
      const attrs = !peer.ibgp && received.localPref !== undefined ? { ...received, localPref: undefined } : received;
      if (!imports.length) return attrs === received ? raw : this.deps.attrs.internEncoded(attrs, raw.nextHop);
      return this.applyImport(peer, imports, key, attrs, raw.nextHop, () => raw, received);
    };
    let unkept = false;
    for (const r of rib.routesOf(peer.source)) {
      if (!rib.receivedKept(r)) {
        unkept = true;
        continue;
      }
      const raw = rib.raw(r);
      let post: AttrSet | null;
      if (perPrefix) post = evaluate(raw, rib.key(r));
      else {
        const hit = bySet.get(raw);
        post = hit !== undefined ? hit : evaluate(raw, rib.key(r));
        bySet.set(raw, post);
      }
      if (post === (rib.accepted(r) ? rib.attrs(r) : null)) continue;
      rib.setImport(r, post, now);
    }
    return unkept;
  }

  /** RFC 4486: past the peer's prefix limit, warn, or end the session and restart it later. */
  private checkMaxPrefix(peer: ImportPeer): void {
    const mp = peer.config.maxPrefix;
    const rib = this.deps.rib;
    // Accepted routes are a subset of the Adj-RIB-In: count them only when it is over the limit.
    if (!mp || rib.routeCount(peer.source) <= mp.limit) return;
    const accepted = rib.acceptedCount(peer.source);
    if (accepted <= mp.limit) return;
    if (mp.action === 'warn') {
      this.deps.log.warn({ peer: peer.config.name, accepted, limit: mp.limit }, 'maximum prefix limit exceeded');
      return;
    }
    // RFC 4486 4: Cease, subcode 1, data AFI (2), SAFI (1), upper bound (4).
    const data = new Uint8Array(7);
    new DataView(data.buffer).setUint16(0, 1);
    data[2] = 1;
    new DataView(data.buffer).setUint32(3, mp.limit);
    peer.stop(notification(6, CeaseSubcode.MaximumPrefixesReached, data));
    peer.lastError = `Maximum prefix limit ${mp.limit} exceeded; restart in ${mp.restartTime}s`;
    const clock = this.deps.clock;
    clock.clearTimeout(this.maxPrefixTimers.get(peer));
    this.maxPrefixTimers.set(
      peer,
      clock.setTimeout(() => {
        this.maxPrefixTimers.delete(peer);
        if (this.deps.configured(peer) && !peer.adminDown) peer.start();
      }, mp.restartTime * 1000),
    );
  }

  /** Cancels pending max-prefix restarts (the speaker stops). */
  stop(): void {
    for (const t of this.maxPrefixTimers.values()) this.deps.clock.clearTimeout(t);
    this.maxPrefixTimers.clear();
  }
}
