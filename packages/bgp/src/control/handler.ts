import { asPathToString, communityToString, extendedCommunityToString } from '@tabby/wire';
import { peerCapabilities } from '../capability-names.js';
import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { SpeakerConfig } from '../config/types.js';
import type { Peer } from '../peer.js';
import { comparePaths } from '../rib/decision.js';
import { type DestView, NONE } from '../rib/loc-rib.js';
import type { AttrSet, Path, PathSource } from '../rib/path.js';
import { type PrefixKey, prefixKeyFromText, prefixKeyText, v4Parts } from '../rib/prefix-key.js';
import { describeNotification } from '../session.js';
import type { Speaker } from '../speaker.js';
import type {
  FibRoute,
  NeighborDetail,
  NotificationInfo,
  PeerSummary,
  RibResult,
  RibRoute,
  StatusResult,
  SummaryResult,
} from './api.js';
import {
  collect,
  jsonArrayPieces,
  jsonPieces,
  Smallest,
  type SortKey,
  STEP,
  STEP_EVERY,
  type Step,
} from './listing.js';
import { ControlError, ControlStream } from './protocol.js';

const ORIGIN = { igp: 'IGP', egp: 'EGP', incomplete: 'incomplete' } as const;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Most routes one `show rib` lists. */
const MAX_LIMIT = 1_000_000;
const DEFAULT_LIMIT = 10_000;

const TABLES = ['loc', 'in', 'out'] as const;
type Table = (typeof TABLES)[number];

/** The argument types of the commands; every argument is checked before anything is done. */
type ArgType = 'text' | 'peer' | 'boolean' | 'limit' | 'table' | 'message';
const COMMANDS: Record<string, { args: Record<string, ArgType>; required?: string[] }> = {
  'show summary': { args: {} },
  'show neighbor': { args: { peer: 'peer' } },
  'show rib': { args: { prefix: 'text', table: 'table', peer: 'peer', limit: 'limit', detail: 'boolean' } },
  'show fib': { args: {} },
  'show status': { args: {} },
  'neighbor up': { args: { peer: 'peer' }, required: ['peer'] },
  'neighbor down': { args: { peer: 'peer', message: 'message' }, required: ['peer'] },
  'neighbor clear': { args: { peer: 'peer', message: 'message' }, required: ['peer'] },
  'neighbor refresh': { args: { peer: 'peer' }, required: ['peer'] },
  reload: { args: {} },
};

function preview(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Throws BAD_REQUEST (or UNKNOWN_COMMAND) unless `args` are what `command` takes. */
function checkArgs(command: string, args: Record<string, unknown>): void {
  const spec = COMMANDS[command];
  if (!spec) throw new ControlError('UNKNOWN_COMMAND', `unknown command ${preview(command)}`);
  const bad = (message: string) => new ControlError('BAD_REQUEST', `${command}: ${message}`);
  for (const [k, v] of Object.entries(args)) {
    const type = spec.args[k];
    if (!type) {
      const takes = Object.keys(spec.args);
      throw bad(`unknown argument ${preview(k)} (${takes.length ? `it takes ${takes.join(', ')}` : 'it takes none'})`);
    }
    if (v === undefined) continue;
    switch (type) {
      case 'text':
      case 'peer':
        if (typeof v !== 'string' || v.length === 0 || v.length > 256)
          throw bad(`"${k}" must be a non-empty string, not ${preview(v)}`);
        break;
      case 'message':
        if (typeof v !== 'string') throw bad(`"${k}" must be a string, not ${preview(v)}`);
        if (Buffer.byteLength(v) > 255)
          throw bad(`"${k}" is ${Buffer.byteLength(v)} bytes; the limit is 255 (RFC 8203)`);
        break;
      case 'boolean':
        if (typeof v !== 'boolean') throw bad(`"${k}" must be true or false, not ${preview(v)}`);
        break;
      case 'limit':
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_LIMIT)
          throw bad(`"${k}" must be an integer from 1 to ${MAX_LIMIT}, not ${preview(v)}`);
        break;
      case 'table':
        if (!TABLES.includes(v as Table)) throw bad(`"${k}" must be one of ${TABLES.join(', ')}, not ${preview(v)}`);
        break;
    }
  }
  for (const k of spec.required ?? []) if (args[k] === undefined) throw bad(`"${k}" is required`);
}

/** Listing order: IPv4 before IPv6, then address, then length (as `compareKeys`), as one primitive. */
function sortKey(k: PrefixKey): SortKey {
  if (typeof k === 'number') {
    const { addr, len } = v4Parts(k);
    return addr * 64 + len;
  }
  const i = k.indexOf('/');
  return `${k.slice(0, i)}/${k.slice(i + 1).padStart(3, '0')}`;
}

/** What `show rib` is asked for, checked. */
interface RibQuery {
  table: Table;
  peer: Peer | null;
  limit: number;
  /** An exact prefix, or the prefixes that could contain an address, longest first. */
  keys: PrefixKey[] | null;
  /** `keys` are candidates for the longest match of an address (the first present wins). */
  longest: boolean;
}

/** The keys of every prefix that contains `address`, longest first. */
function coveringKeys(family: 4 | 6, address: bigint): PrefixKey[] {
  const bits = family === 4 ? 32 : 128;
  const out: PrefixKey[] = [];
  for (let len = bits; len >= 0; len--) {
    const shift = BigInt(bits - len);
    out.push(prefixKeyFromText(family, (address >> shift) << shift, len));
  }
  return out;
}

/** Serves the control protocol's commands from a running speaker. */
export class ControlHandler {
  constructor(
    private readonly speaker: Speaker,
    private readonly opts: { version: string; reload?: () => SpeakerConfig; configFile?: string },
  ) {}

  /** Wall-clock time of a speaker clock reading. */
  private wall(clockMs: number): number {
    return Date.now() - (this.speaker.clock.now() - clockMs);
  }

  /**
   * Answers a command (for `ControlServer`): a result, or a {@link ControlStream} for the long
   * listings. Throws a ControlError with a stable code; anything else is a bug, logged here and
   * answered as INTERNAL_ERROR without its details.
   */
  handle = (command: string, args: Record<string, unknown>): unknown => {
    try {
      checkArgs(command, args);
      return this.answer(command, args);
    } catch (err) {
      if (err instanceof ControlError) throw err;
      this.speaker.log.error({ command, err: (err as Error)?.stack ?? String(err) }, 'control: request failed');
      throw new ControlError(
        'INTERNAL_ERROR',
        `internal error answering "${command}"; the speaker's log has the details`,
      );
    }
  };

  /** A listing for the server to pull; a failure half-way (a bug) is logged here, then the server drops the connection. */
  private stream(command: string, pieces: Generator<string | undefined, void>): ControlStream {
    const log = this.speaker.log;
    function* logged(): Generator<string | undefined, void> {
      try {
        yield* pieces;
      } catch (err) {
        log.error({ command, err: (err as Error)?.stack ?? String(err) }, 'control: listing failed');
        throw err;
      }
    }
    return new ControlStream(logged());
  }

  private answer(command: string, args: Record<string, unknown>): unknown {
    switch (command) {
      case 'show summary':
        return this.summary();
      case 'show neighbor': {
        if (typeof args.peer === 'string') return this.neighbor(this.peer(args.peer));
        return this.stream('show neighbor', jsonArrayPieces(this.neighbors([...this.speaker.peers.values()])));
      }
      case 'show rib':
        return this.ribStream(args);
      case 'show fib':
        return this.stream('show fib', jsonArrayPieces(this.fibItems()));
      case 'show status':
        return this.status();
      case 'neighbor up':
      case 'neighbor down':
      case 'neighbor clear':
      case 'neighbor refresh': {
        const p = this.peer(args.peer as string);
        const msg = typeof args.message === 'string' ? args.message : undefined;
        if (command === 'neighbor up') p.enable();
        else if (command === 'neighbor down') p.shutdown(msg);
        else if (command === 'neighbor clear') p.clear(msg);
        else if (!p.established)
          throw new ControlError('NOT_ESTABLISHED', `${p.config.name} is ${p.state}: nothing to refresh`);
        else this.speaker.refresh(p);
        return { peer: p.config.name, state: p.state };
      }
      case 'reload': {
        if (!this.opts.reload)
          throw new ControlError('NO_CONFIG_FILE', 'this speaker was not started from a config file');
        let next: SpeakerConfig;
        try {
          next = this.opts.reload();
        } catch (err) {
          throw new ControlError(
            'CONFIG_INVALID',
            `config not reloaded, the running one stays:\n${(err as Error).message}`,
          );
        }
        try {
          return this.speaker.reload(next);
        } catch (err) {
          throw new ControlError('RELOAD_REFUSED', `config not reloaded: ${(err as Error).message}`);
        }
      }
      default:
        throw new ControlError('UNKNOWN_COMMAND', `unknown command ${preview(command)}`);
    }
  }

  private peer(nameOrAddress: string): Peer {
    const p = this.speaker.findPeer(nameOrAddress);
    if (!p) {
      const known = [...this.speaker.peers.keys()].join(', ') || 'none';
      throw new ControlError('UNKNOWN_PEER', `no neighbor "${nameOrAddress}" (configured: ${known})`);
    }
    return p;
  }

  private peerSummary(p: Peer): PeerSummary {
    const { sent, received } = p.counters();
    const rib = this.speaker.rib;
    const now = this.speaker.clock.now();
    return {
      name: p.config.name,
      address: p.config.address,
      port: p.config.port,
      remote_as: String(p.config.asn),
      local_as: String(p.config.localAsn),
      description: p.config.description,
      state: p.state,
      admin_down: p.adminDown,
      msgs_received: received.total,
      msgs_sent: sent.total,
      out_queue: p.outQueueBytes,
      state_since: iso(this.wall(p.stateSince)),
      state_seconds: Math.max(0, Math.floor((now - p.stateSince) / 1000)),
      prefixes_received: rib.routeCount(p.source),
      prefixes_accepted: rib.acceptedCount(p.source),
      prefixes_sent: p.advertisedCount,
      last_error: p.lastError,
    };
  }

  summary(): SummaryResult {
    const c = this.speaker.config;
    return {
      router_id: c.routerId,
      local_as: String(c.asn),
      peers: [...this.speaker.peers.values()].map((p) => this.peerSummary(p)),
    };
  }

  private notif(x: Peer['lastNotificationSent']): NotificationInfo | null {
    if (!x) return null;
    return { code: x.n.code, subcode: x.n.subcode, text: describeNotification(x.n), at: iso(this.wall(x.at)) };
  }

  neighbor(p: Peer): NeighborDetail {
    const s = p.established;
    const { sent, received } = p.counters();
    const stale = this.speaker.staleCount(p);
    return {
      ...this.peerSummary(p),
      local_address: s?.conn.localAddress ?? '',
      local_port: s?.conn.localPort ?? 0,
      remote_router_id: s?.remoteRouterId ?? '',
      passive: p.config.passive,
      ibgp: p.ibgp,
      route_reflector_client: p.config.routeReflectorClient,
      hold_time_configured: p.config.holdTime,
      hold_time: s?.holdTime ?? 0,
      keepalive_time: s?.keepaliveTime ?? 0,
      connect_retry_time: p.config.connectRetryTime,
      capabilities_sent: s ? peerCapabilities(s.options.localOpen.capabilities) : [],
      capabilities_received: s?.remoteOpen ? peerCapabilities(s.remoteOpen.capabilities) : [],
      families: [...p.families].map((a) => (a === 1 ? 'ipv4-unicast' : 'ipv6-unicast')),
      graceful_restart: {
        enabled: p.peerRestartTime >= 0,
        peer_restart_time: Math.max(0, p.peerRestartTime),
        stale_routes: stale,
      },
      messages: { sent, received },
      updates: {
        prefixes_received: p.updates.prefixesReceived,
        withdrawals_received: p.updates.withdrawalsReceived,
        prefixes_sent: p.updates.prefixesSent,
        withdrawals_sent: p.updates.withdrawalsSent,
      },
      last_notification_sent: this.notif(p.lastNotificationSent),
      last_notification_received: this.notif(p.lastNotificationReceived),
      established_transitions: p.establishedTransitions,
      import_policies: p.config.import,
      export_policies: p.config.export,
    };
  }

  private route(
    key: PrefixKey,
    path: { source: Path['source']; pathId: number; attrs: AttrSet; stale: boolean; since: number },
    flags: { best: boolean; ecmp: boolean; reason: string; valid?: boolean },
  ): RibRoute {
    const a = path.attrs.attrs;
    const src = path.source;
    const valid = flags.valid ?? true;
    const f = `${valid ? '*' : ' '}${flags.best ? '>' : flags.ecmp ? '=' : ' '}${src.ibgp ? 'I' : ' '}${path.stale ? 'S' : ' '}${src.local ? 'L' : ''}`;
    return {
      prefix: prefixKeyText(key),
      path_id: path.pathId,
      flags: f.trimEnd(),
      valid,
      best: flags.best,
      ecmp: flags.ecmp,
      ibgp: src.ibgp,
      stale: path.stale,
      local: src.local,
      from: src.name,
      from_address: src.address,
      next_hop: path.attrs.nextHop || (src.local ? 'self' : ''),
      origin: ORIGIN[a.origin ?? 'incomplete'],
      as_path: asPathToString(a.asPath ?? []),
      local_pref: path.attrs.localPref,
      med: a.med ?? null,
      communities: (a.communities ?? []).map(communityToString),
      large_communities: (a.largeCommunities ?? []).map((c) => c.join(':')),
      extended_communities: (a.extendedCommunities ?? []).map(extendedCommunityToString),
      originator_id: a.originatorId ?? null,
      cluster_list: [...(a.clusterList ?? [])],
      age: Math.max(0, Math.floor(this.speaker.clock.now() / 1000) - path.since),
      reason: flags.reason,
    };
  }

  private destRoutes(d: DestView): RibRoute[] {
    const opts = this.speaker.rib.options;
    return d.paths
      .map((p) => ({ p, best: p === d.best, ecmp: d.ecmpRest.includes(p) }))
      .sort((x, y) => (x.best ? -1 : y.best ? 1 : comparePaths(x.p, y.p, opts).order))
      .map(({ p, best, ecmp }) => {
        const usable = this.speaker.rib.usable(p.route);
        const reason = best
          ? ''
          : !usable
            ? 'next hop unreachable'
            : d.best
              ? comparePaths(d.best, p, opts).reason
              : '';
        return this.route(d.key, p, { best, ecmp, reason, valid: usable });
      });
  }

  private ribQuery(args: Record<string, unknown>): RibQuery {
    checkArgs('show rib', args);
    const table = (args.table as Table | undefined) ?? 'loc';
    const limit = (args.limit as number | undefined) ?? DEFAULT_LIMIT;
    if (table !== 'loc' && typeof args.peer !== 'string') {
      throw new ControlError('BAD_REQUEST', `show rib: table "${table}" needs a "peer"`);
    }
    const peer = table === 'loc' ? null : this.peer(args.peer as string);
    if (typeof args.prefix !== 'string') return { table, peer, limit, keys: null, longest: false };
    const text = args.prefix;
    const exact = text.includes('/');
    const p = parseCidr(exact ? text : `${text}/${text.includes(':') ? 128 : 32}`);
    if (!p) throw new ControlError('BAD_PREFIX', `"${text.slice(0, 64)}" is not a prefix or an address`);
    const address = addressToBigInt(p.address)!.value;
    // An address (no /len) finds the longest prefix containing it, as `birdc show route for`.
    const keys = exact ? [prefixKeyFromText(p.family, address, p.length)] : coveringKeys(p.family, address);
    return { table, peer, limit, keys, longest: !exact };
  }

  /** `show rib` as one object (in-process callers and tests; the socket gets `ribStream`). */
  rib(args: Record<string, unknown>): RibResult {
    const q = this.ribQuery(args);
    const state = { truncated: false };
    const routes = collect(this.ribItems(q, state));
    return { table: q.table, peer: q.peer?.config.name ?? null, routes, truncated: state.truncated };
  }

  /** `show rib` written a slice at a time: sorted and listed without holding the event loop. */
  private ribStream(args: Record<string, unknown>): ControlStream {
    const q = this.ribQuery(args);
    const state = { truncated: false };
    const head = { table: q.table, peer: q.peer?.config.name ?? null };
    return this.stream(
      'show rib',
      jsonPieces(head, 'routes', this.ribItems(q, state), () => ({ truncated: state.truncated })),
    );
  }

  /** The routes of a query, in order, up to the limit (setting `truncated` when more matched). */
  private *ribItems(q: RibQuery, state: { truncated: boolean }): Generator<RibRoute | Step, void> {
    let n = 0;
    for (const r of this.ribRoutes(q, state)) {
      if (r === STEP) {
        yield r;
        continue;
      }
      if (n >= q.limit) {
        state.truncated = true;
        return;
      }
      n += 1;
      yield r;
    }
  }

  /** Candidates in listing order: found directly for a prefix or an address, else sorted in slices. */
  private *ribRoutes(q: RibQuery, state: { truncated: boolean }): Generator<RibRoute | Step, void> {
    const rib = this.speaker.rib;
    // What one listed entry (prefix, path ID) turns into, looked up again when its turn comes.
    let routesOf: (key: PrefixKey, pathId: number) => RibRoute[];
    let walk: () => Generator<[PrefixKey, number] | Step, void>;
    if (q.table === 'loc') {
      routesOf = (key) => {
        const d = rib.get(key);
        return d ? this.destRoutes(d) : [];
      };
      walk = function* () {
        let i = 0;
        for (const d of rib.dests()) {
          yield [rib.destKey(d), 0];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    } else if (q.table === 'in') {
      const source = q.peer!.source;
      routesOf = (key, pathId) => {
        const r = rib.find(key, source, pathId);
        return r === NONE ? [] : [this.adjInRoute(key, r, source)];
      };
      walk = function* () {
        let i = 0;
        for (const d of rib.allDests()) {
          const key = rib.destKey(d);
          for (const r of rib.routesFrom(d, source)) yield [key, rib.pathId(r)];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    } else {
      const peer = q.peer!;
      routesOf = (key, pathId) => {
        const set = this.sentAt(peer, key).get(pathId);
        return set ? [this.adjOutRoute(peer, key, pathId, set)] : [];
      };
      walk = function* () {
        let i = 0;
        for (const [key] of peer.advertised()) {
          yield [key, 0];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
        for (const [key, paths] of peer.addPathOut) {
          for (const id of paths.keys()) yield [key, id];
          if (++i % STEP_EVERY === 0) yield STEP;
        }
      };
    }
    if (q.keys) {
      // One prefix (or the longest one containing an address): a few lookups, no walk.
      for (const key of q.keys) {
        const ids =
          q.table === 'loc'
            ? [0]
            : q.table === 'in'
              ? this.adjInIds(q.peer!, key)
              : [...this.sentAt(q.peer!, key).keys()];
        const routes = ids.sort((a, b) => a - b).flatMap((id) => routesOf(key, id));
        if (routes.length) {
          yield* routes;
          return;
        }
        if (!q.longest) return;
      }
      return;
    }
    // Every prefix: the first `limit + 1` entries in order are kept while walking (memory bounded
    // by the limit, not the table), then listed, each looked up again as it is listed.
    const top = new Smallest<[PrefixKey, number]>(q.limit + 1);
    for (const e of walk()) {
      if (e === STEP) yield STEP;
      else top.offer(sortKey(e[0]), e[1], e);
    }
    if (top.offered > top.size) state.truncated = true;
    let last: [PrefixKey, number] | undefined;
    for (const e of top.drain()) {
      if (e === STEP) {
        yield STEP;
        continue;
      }
      if (last && last[0] === e[0] && last[1] === e[1]) continue; // re-added during the walk
      last = e;
      yield* routesOf(e[0], e[1]);
    }
  }

  /** The path IDs the peer's Adj-RIB-In holds for `key`. */
  private adjInIds(peer: Peer, key: PrefixKey): number[] {
    const rib = this.speaker.rib;
    const d = rib.dest(key);
    return d === NONE ? [] : rib.routesFrom(d, peer.source).map((r) => rib.pathId(r));
  }

  private adjInRoute(key: PrefixKey, r: number, source: PathSource): RibRoute {
    const rib = this.speaker.rib;
    const accepted = rib.accepted(r);
    return this.route(
      key,
      { source, pathId: rib.pathId(r), attrs: rib.raw(r), stale: rib.stale(r), since: 0 },
      { best: false, ecmp: false, reason: accepted ? '' : 'rejected by import policy' },
    );
  }

  /** What we sent the peer for `key`, by path ID (0 without ADD-PATH). */
  private sentAt(peer: Peer, key: PrefixKey): Map<number, AttrSet> {
    const out = new Map<number, AttrSet>();
    const held = peer.group?.held(peer, key);
    if (held) out.set(0, held);
    for (const [id, set] of peer.addPathOut.get(key) ?? []) out.set(id, set);
    return out;
  }

  private adjOutRoute(peer: Peer, key: PrefixKey, pathId: number, set: AttrSet): RibRoute {
    const rib = this.speaker.rib;
    const d = rib.dest(key);
    const best = d === NONE ? NONE : rib.best(d);
    const bestSource = best === NONE ? undefined : rib.source(best);
    // Without ADD-PATH the path sent is the best; with it, each identifier names its path.
    const source = pathId ? this.speaker.addPathSource(key, pathId) : bestSource;
    return this.route(
      key,
      { source: source ?? peer.source, pathId, attrs: set, stale: false, since: 0 },
      { best: source !== undefined && source === bestSource, ecmp: false, reason: '' },
    );
  }

  private *fibItems(): Generator<FibRoute | Step, void> {
    const rib = this.speaker.rib;
    const top = new Smallest<PrefixKey>(Number.POSITIVE_INFINITY);
    let i = 0;
    for (const d of rib.dests()) {
      if (rib.fib(d)) top.offer(sortKey(rib.destKey(d)), 0, rib.destKey(d));
      if (++i % STEP_EVERY === 0) yield STEP;
    }
    let last: PrefixKey | undefined;
    for (const k of top.drain()) {
      if (k === STEP || k === last) {
        if (k === STEP) yield STEP;
        continue;
      }
      last = k;
      const d = rib.dest(k);
      const e = d === NONE ? undefined : this.speaker.fibAt(d);
      if (e)
        yield {
          prefix: prefixKeyText(k),
          next_hops: [...e.nextHops],
          blackhole: e.blackhole,
          source: e.sources.join(', '),
        };
    }
  }

  /** One peer at a time (a reflector has a thousand). */
  private *neighbors(peers: Peer[]): Generator<NeighborDetail, void> {
    for (const p of peers) yield this.neighbor(p);
  }

  /** `show fib` as one array (in-process callers and tests). */
  fibRoutes(): FibRoute[] {
    return collect(this.fibItems());
  }

  status(): StatusResult {
    const s = this.speaker;
    const c = s.config;
    const peers = [...s.peers.values()];
    return {
      version: this.opts.version,
      router_id: c.routerId,
      local_as: String(c.asn),
      cluster_id: c.clusterId ?? null,
      started: iso(s.startedAt),
      uptime_seconds: Math.floor((Date.now() - s.startedAt) / 1000),
      config_file: this.opts.configFile ?? c.source,
      last_reload: s.lastReload ? iso(s.lastReload) : null,
      peers_configured: peers.length,
      peers_established: peers.filter((p) => p.state === 'Established').length,
      loc_rib_prefixes: s.rib.size,
      loc_rib_paths: s.rib.paths,
      attribute_sets: s.attrs.size,
      graceful_restart: {
        enabled: c.gracefulRestart.enabled,
        restart_time: c.gracefulRestart.restartTime,
        restarting: false,
      },
    };
  }
}
