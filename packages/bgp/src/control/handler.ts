import { peerCapabilities } from '../capability-names.js';
import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { SpeakerConfig } from '../config/types.js';
import { loopWatch } from '../loop-delay.js';
import type { Peer } from '../peer.js';
import { NONE } from '../rib/loc-rib.js';
import { type PrefixKey, prefixKeyFromText, prefixKeyText } from '../rib/prefix-key.js';
import { describeNotification } from '../session.js';
import type { Speaker } from '../speaker.js';
import type {
  BfdShowEntry,
  FibRoute,
  NeighborDetail,
  NotificationInfo,
  PeerSummary,
  RibResult,
  StatusResult,
  SummaryResult,
} from './api.js';
import { collect, jsonArrayPieces, jsonPieces, Smallest, STEP, STEP_EVERY, type Step } from './listing.js';
import { RuntimeNetworks } from './networks.js';
import { ControlError, ControlStream } from './protocol.js';
import { coveringKeys, RibListing, type RibQuery, sortKey, TABLES, type Table } from './rib-listing.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Most routes one `show rib` lists. */
const MAX_LIMIT = 1_000_000;
const DEFAULT_LIMIT = 10_000;

/** The argument types of the commands; every argument is checked before anything is done. */
type ArgType = 'text' | 'peer' | 'boolean' | 'limit' | 'table' | 'message' | 'words';
const COMMANDS: Record<string, { args: Record<string, ArgType>; required?: string[] }> = {
  'show summary': { args: {} },
  'show neighbor': { args: { peer: 'peer' } },
  'show rib': { args: { prefix: 'text', table: 'table', peer: 'peer', limit: 'limit', detail: 'boolean' } },
  'show fib': { args: {} },
  'show status': { args: {} },
  'show bfd': { args: { peer: 'peer' } },
  'neighbor up': { args: { peer: 'peer' }, required: ['peer'] },
  'neighbor down': { args: { peer: 'peer', message: 'message' }, required: ['peer'] },
  'neighbor clear': { args: { peer: 'peer', message: 'message' }, required: ['peer'] },
  'neighbor refresh': { args: { peer: 'peer' }, required: ['peer'] },
  'network add': { args: { prefix: 'text', communities: 'words' }, required: ['prefix'] },
  'network delete': { args: { prefix: 'text' }, required: ['prefix'] },
  'network flush': { args: {} },
  'network show': { args: {} },
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
      case 'words':
        if (!Array.isArray(v) || v.length > 256 || !v.every((w) => typeof w === 'string' && w.length <= 256))
          throw bad(`"${k}" must be a list of at most 256 strings, not ${preview(v)}`);
        break;
      case 'table':
        if (!TABLES.includes(v as Table)) throw bad(`"${k}" must be one of ${TABLES.join(', ')}, not ${preview(v)}`);
        break;
    }
  }
  for (const k of spec.required ?? []) if (args[k] === undefined) throw bad(`"${k}" is required`);
}

/** Serves the control protocol's commands from a running speaker. */
export class ControlHandler {
  private readonly listing: RibListing;
  private readonly networks: RuntimeNetworks;

  constructor(
    private readonly speaker: Speaker,
    private readonly opts: { version: string; reload?: () => SpeakerConfig; configFile?: string },
  ) {
    this.listing = new RibListing(speaker);
    this.networks = new RuntimeNetworks(speaker);
  }

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
      case 'show bfd':
        return this.bfd(args.peer as string | undefined);
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
      case 'network add':
        return this.networks.add(args.prefix as string, (args.communities as string[] | undefined) ?? []);
      case 'network delete':
        return this.networks.delete(args.prefix as string);
      case 'network flush':
        return { withdrawn: this.networks.flush() };
      case 'network show':
        return this.networks.show();
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
    const routes = collect(this.listing.items(q, state));
    return { table: q.table, peer: q.peer?.config.name ?? null, routes, truncated: state.truncated };
  }

  /** `show rib` written a slice at a time: sorted and listed without holding the event loop. */
  private ribStream(args: Record<string, unknown>): ControlStream {
    const q = this.ribQuery(args);
    const state = { truncated: false };
    const head = { table: q.table, peer: q.peer?.config.name ?? null };
    return this.stream(
      'show rib',
      jsonPieces(head, 'routes', this.listing.items(q, state), () => ({ truncated: state.truncated })),
    );
  }

  private *fibItems(): Generator<FibRoute | Step, void> {
    const rib = this.speaker.rib;
    const top = new Smallest<PrefixKey>(Number.POSITIVE_INFINITY);
    let i = 0;
    for (const d of rib.dests()) {
      if (this.speaker.fibAt(d)) top.offer(sortKey(rib.destKey(d)), 0, rib.destKey(d));
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

  /** `show bfd`: every BFD session, or the one of `peer` (live from the BFD worker). */
  bfd(peer?: string): Promise<BfdShowEntry[]> {
    const name = peer === undefined ? undefined : this.peer(peer).config.name;
    return this.speaker.bfd.show().then(
      (rows) => (name === undefined ? rows : rows.filter((r) => r.peer === name)),
      (err: Error) => {
        throw new ControlError('BFD_UNAVAILABLE', err.message);
      },
    );
  }

  status(): StatusResult {
    const s = this.speaker;
    const c = s.config;
    const peers = [...s.peers.values()];
    const backlog = s.backlog;
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
      pending_selection: backlog.selection,
      export_backlog: backlog.export,
      event_loop_max_delay_ms: loopWatch.maxMs(),
      graceful_restart: {
        enabled: c.gracefulRestart.enabled,
        restart_time: c.gracefulRestart.restartTime,
        restarting: s.deferring,
      },
    };
  }
}
