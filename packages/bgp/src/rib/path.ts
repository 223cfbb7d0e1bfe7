import type { PathAttributes } from '@tabby/wire';
import type { PrefixKey } from './prefix-key.js';

/** Where a path came from: a peer session, or the speaker itself (`local`). */
export interface PathSource {
  /** Unique per peer for the life of the speaker; 0 is the speaker itself. */
  readonly id: number;
  readonly name: string;
  /** Peer address ('' for local). */
  readonly address: string;
  /** The peer's address as a comparable key (RFC 4271 9.1.2.2 g): lower wins. */
  readonly addressKey: bigint;
  /** The peer's BGP identifier as uint32 (RFC 4271 9.1.2.2 f). */
  routerId: number;
  readonly asn: number;
  readonly ibgp: boolean;
  readonly rrClient: boolean;
  readonly local: boolean;
  /**
   * The session these paths came from is gone and they are being removed (a slice at a time):
   * they are no candidates any more. A new session of the peer gets a new source.
   */
  dead?: boolean;
}

/**
 * An attribute set shared by every path that carries identical attributes (BIRD's `rta`
 * interning). The derived fields are what the decision process reads, computed once.
 */
export interface AttrSet {
  readonly id: number;
  /** The interning key (for sets interned by received bytes: a tag octet and the bytes). */
  readonly key: string;
  readonly attrs: PathAttributes;
  /** The effective next hop: NEXT_HOP, or the MP_REACH_NLRI next hop (IPv6: global, then `%link-local`). */
  readonly nextHop: string;
  readonly localPref: number;
  readonly asPathLength: number;
  /** The neighbouring AS: first AS of the first AS_SEQUENCE (0 when the path is empty). */
  readonly neighborAs: number;
  readonly originRank: number;
  readonly med: number;
  readonly clusterListLength: number;
  /** ORIGINATOR_ID as uint32, or undefined. */
  readonly originatorId: number | undefined;
  refs: number;
  /** The set's number in its table (`AttrTable.at`) while it is in it; -1 once it has left. */
  slot: number;
}

/**
 * One route for a prefix as received from a source: the Adj-RIB-In entry and, when import policy
 * accepted it, the Loc-RIB candidate too (one object for both, to keep a full table small).
 */
export interface Path {
  readonly source: PathSource;
  readonly key: PrefixKey;
  /** RFC 7911 path identifier as received (0 without ADD-PATH). */
  readonly pathId: number;
  /** Attributes after import policy (equal to `raw` when there is none). */
  attrs: AttrSet;
  /**
   * Attributes as received, before import policy (soft reconfiguration inbound); the ones after
   * policy where those received were not kept (`LocRib.receivedKept`, the peer's `importTable`).
   */
  raw: AttrSet;
  /** Import policy accepted it: it is a Loc-RIB candidate. */
  accepted: boolean;
  /** Graceful restart: kept from a session that went down, awaiting refresh (RFC 4724 4.2). */
  stale: boolean;
  /** Clock time, in whole seconds, when this path was last changed. */
  since: number;
}

export const LOCAL_SOURCE_ID = 0;
