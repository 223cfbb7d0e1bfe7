import { asPathToString, communityToString, extendedCommunityToString } from '@tabby/wire';
import { peerCapabilities } from '../capability-names.js';
import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { SpeakerConfig } from '../config/types.js';
import type { Peer } from '../peer.js';
import { comparePaths } from '../rib/decision.js';
import { type DestView, NONE } from '../rib/loc-rib.js';
import type { AttrSet, Path } from '../rib/path.js';
import { compareKeys, type PrefixKey, prefixKeyFromText, prefixKeyText } from '../rib/prefix-key.js';
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
import { ControlError } from './protocol.js';

const ORIGIN = { igp: 'IGP', egp: 'EGP', incomplete: 'incomplete' } as const;

function iso(ms: number): string {
  return new Date(ms).toISOString();
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

  handle = async (command: string, args: Record<string, unknown>): Promise<unknown> => {
    switch (command) {
      case 'show summary':
        return this.summary();
      case 'show neighbor': {
        const name = args.peer as string | undefined;
        const peers = name ? [this.peer(name)] : [...this.speaker.peers.values()];
        return peers.map((p) => this.neighbor(p));
      }
      case 'show rib':
        return this.rib(args);
      case 'show fib':
        return this.fibRoutes();
      case 'show status':
        return this.status();
      case 'neighbor up':
      case 'neighbor down':
      case 'neighbor clear':
      case 'neighbor refresh': {
        const p = this.peer(String(args.peer ?? ''));
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
        return this.speaker.reload(next);
      }
      default:
        throw new ControlError('UNKNOWN_COMMAND', `unknown command "${command}"`);
    }
  };

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

  rib(args: Record<string, unknown>): RibResult {
    const limit = typeof args.limit === 'number' ? args.limit : 10000;
    const table = (args.table as 'loc' | 'in' | 'out' | undefined) ?? 'loc';
    let match: ((key: PrefixKey) => boolean) | undefined;
    if (typeof args.prefix === 'string') {
      const text = args.prefix.includes('/') ? args.prefix : `${args.prefix}/${args.prefix.includes(':') ? 128 : 32}`;
      const p = parseCidr(text);
      if (!p) throw new ControlError('BAD_PREFIX', `"${args.prefix}" is not a prefix or address`);
      const exact = args.prefix.includes('/');
      const want = prefixKeyFromText(p.family, addressToBigInt(p.address)!.value, p.length);
      const bits = BigInt(p.family === 4 ? 32 : 128);
      const addr = addressToBigInt(p.address)!.value;
      // An address (no /len) finds the prefixes containing it, like `show rib 198.18.64.5`.
      match = exact
        ? (k) => k === want
        : (k) => {
            const t = prefixKeyText(k);
            const q = parseCidr(t)!;
            if (q.family !== p.family) return false;
            const shift = bits - BigInt(q.length);
            return addressToBigInt(q.address)!.value >> shift === addr >> shift;
          };
    }
    const routes: RibRoute[] = [];
    let truncated = false;
    const push = (r: RibRoute) => {
      if (routes.length >= limit) truncated = true;
      else routes.push(r);
    };
    // Prefixes are chosen and sorted by number; only those listed are turned into objects.
    const rib = this.speaker.rib;
    if (table === 'loc') {
      const dests = [...rib.dests()].filter((d) => !match || match(rib.destKey(d)));
      dests.sort((a, b) => compareKeys(rib.destKey(a), rib.destKey(b)));
      for (const d of dests) {
        if (routes.length >= limit) {
          truncated = true;
          break;
        }
        for (const r of this.destRoutes(rib.view(d))) push(r);
      }
      return { table, peer: null, routes, truncated };
    }
    const p = this.peer(String(args.peer ?? ''));
    if (table === 'in') {
      const held = [...rib.routesOf(p.source)].filter((r) => !match || match(rib.key(r)));
      held.sort((a, b) => compareKeys(rib.key(a), rib.key(b)) || rib.pathId(a) - rib.pathId(b));
      for (const r of held.slice(0, limit + 1)) {
        const accepted = rib.accepted(r);
        push(
          this.route(
            rib.key(r),
            { source: p.source, pathId: rib.pathId(r), attrs: rib.raw(r), stale: rib.stale(r), since: 0 },
            { best: false, ecmp: false, reason: accepted ? '' : 'rejected by import policy' },
          ),
        );
      }
    } else {
      // Without ADD-PATH one path per prefix (path ID 0); with it every path sent, by identifier.
      const entries: [PrefixKey, number, AttrSet][] = [...p.advertised()].map(([k, set]) => [k, 0, set]);
      for (const [k, paths] of p.addPathOut) for (const [id, set] of paths) entries.push([k, id, set]);
      const listed = entries.filter(([k]) => !match || match(k)).sort((a, b) => compareKeys(a[0], b[0]) || a[1] - b[1]);
      for (const [k, id, set] of listed.slice(0, limit + 1)) {
        const d = rib.dest(k);
        const best = d === NONE ? NONE : rib.best(d);
        const source = id ? this.speaker.addPathSource(k, id) : best === NONE ? undefined : rib.source(best);
        push(
          this.route(
            k,
            { source: source ?? p.source, pathId: id, attrs: set, stale: false, since: 0 },
            {
              best: id ? source !== undefined && best !== NONE && rib.source(best) === source : true,
              ecmp: false,
              reason: '',
            },
          ),
        );
      }
    }
    return { table, peer: p.config.name, routes, truncated };
  }

  fibRoutes(): FibRoute[] {
    return [...this.speaker.fib.entries()]
      .sort((a, b) => compareKeys(a[0], b[0]))
      .map(([k, e]) => ({
        prefix: prefixKeyText(k),
        next_hops: [...e.nextHops],
        blackhole: e.blackhole,
        source: e.sources.join(', '),
      }));
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
