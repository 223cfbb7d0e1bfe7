import type { Afi, BgpMessage, SessionContext } from '@tabby/wire';
import type { PeerConfig } from '../config/types.js';
import type { AttrSet, PathSource } from '../rib/path.js';
import type { PrefixKey } from '../rib/prefix-key.js';
import type { UpdateGroup } from './update-group.js';

/** What the export stage writes to: an established session (`Session` is one). */
export interface OutSession {
  readonly ctx: SessionContext;
  readonly conn: { readonly localAddress: string; readonly pendingBytes: number };
  readonly writable: boolean;
  send(m: BgpMessage): boolean;
  /** Pre-encoded UPDATE bytes (`count` messages). */
  sendEncoded(bytes: Uint8Array, count: number): boolean;
}

/** What the export stage needs of a peer (`Peer` is one). */
export interface ExportPeer {
  readonly id: number;
  readonly config: PeerConfig;
  readonly ibgp: boolean;
  /** The source of the paths this peer sent us: they are never sent back to it. */
  readonly source: PathSource;
  /** Families negotiated on the established session. */
  readonly families: ReadonlySet<Afi>;
  readonly established: OutSession | null;
  readonly updates: { prefixesSent: number; withdrawalsSent: number };
  /** The export stage's state for the established session (null while there is none). */
  out: PeerOut | null;
}

const NO_PATHS: ReadonlyMap<number, AttrSet> = new Map();

/**
 * What we send one peer on its established session: the update group whose Adj-RIB-Out and
 * UPDATE stream it shares, and what is its own: the paths sent with ADD-PATH (RFC 7911) and the
 * End-of-RIB markers still owed. Made when the session is established, dropped when it ends.
 */
export class PeerOut {
  group: UpdateGroup<PeerOut> | null = null;
  /** RFC 7911: path identifier -> attributes sent, per prefix, in the families sent with ADD-PATH. */
  readonly addPathOut = new Map<PrefixKey, Map<number, AttrSet>>();
  /** Prefixes whose ADD-PATH paths are to be re-evaluated and sent. */
  readonly addPathDirty = new Set<PrefixKey>();
  /** Families for which we still owe the peer an End-of-RIB. */
  readonly eorPending: Set<Afi>;

  constructor(
    readonly peer: ExportPeer,
    /** Families where we send several paths per prefix. */
    readonly addPathSend: ReadonlySet<Afi>,
  ) {
    this.eorPending = new Set(peer.families);
  }

  get source(): PathSource {
    return this.peer.source;
  }

  /** Sends `select: all` (every candidate path) rather than the ECMP set. */
  get allPaths(): boolean {
    return this.addPathSend.size > 0 && this.peer.config.addPath.select === 'all';
  }

  /** What we sent for `key`, by path identifier (0 without ADD-PATH). */
  sentAt(key: PrefixKey): ReadonlyMap<number, AttrSet> {
    const held = this.group?.held(this, key);
    const paths = this.addPathOut.get(key) ?? NO_PATHS;
    if (!held) return paths;
    const out = new Map<number, AttrSet>([[0, held]]);
    for (const [id, set] of paths) out.set(id, set);
    return out;
  }

  /** What we advertise without ADD-PATH, per prefix key. */
  advertised(): IterableIterator<[PrefixKey, AttrSet]> {
    return this.group ? this.group.advertised(this) : new Map<PrefixKey, AttrSet>().entries();
  }

  /** How many prefixes we advertise (with ADD-PATH: prefixes, not paths). */
  get advertisedCount(): number {
    return (this.group?.advertisedCount(this) ?? 0) + this.addPathOut.size;
  }

  /** Forgets the ADD-PATH paths sent; `unref` is called per set. */
  clearAddPath(unref: (s: AttrSet) => void): void {
    for (const paths of this.addPathOut.values()) for (const set of paths.values()) unref(set);
    this.addPathOut.clear();
    this.addPathDirty.clear();
  }
}
