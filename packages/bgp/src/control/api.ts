/**
 * What the control socket answers, command by command. Keys are snake_case and stable; AS numbers
 * are strings (as OpenBGPD's bgpctl -j does), times are ISO 8601 plus seconds for durations.
 * `bgpctl --json` prints these objects unchanged, and its text output shows the same data.
 */

import type { ShowBfdEntry } from '@tabby/bfd';

export const SessionStates = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;
export type SessionState = (typeof SessionStates)[number];

export interface PeerSummary {
  name: string;
  address: string;
  port: number;
  remote_as: string;
  local_as: string;
  description: string;
  state: SessionState;
  /** True when an operator took the peer down (`neighbor X down`). */
  admin_down: boolean;
  msgs_received: number;
  msgs_sent: number;
  /** Bytes queued towards the peer and not yet written. */
  out_queue: number;
  /** When the session entered its current state (Established or not). */
  state_since: string;
  state_seconds: number;
  prefixes_received: number;
  prefixes_accepted: number;
  prefixes_sent: number;
  /** Last error, e.g. `Socket: Connection refused` or `Received: Hold timer expired`. */
  last_error: string;
}

export interface SummaryResult {
  router_id: string;
  local_as: string;
  peers: PeerSummary[];
}

export interface NotificationInfo {
  code: number;
  subcode: number;
  /** `Cease/Administrative Shutdown`, with the RFC 8203 message appended when present. */
  text: string;
  at: string;
}

export interface NeighborDetail extends PeerSummary {
  local_address: string;
  local_port: number;
  remote_router_id: string;
  passive: boolean;
  ibgp: boolean;
  route_reflector_client: boolean;
  hold_time_configured: number;
  hold_time: number;
  keepalive_time: number;
  connect_retry_time: number;
  /** Capabilities as `name` strings, e.g. `mp ipv4-unicast`, `as4`, `route-refresh`, `graceful-restart`. */
  capabilities_sent: string[];
  capabilities_received: string[];
  families: string[];
  graceful_restart: { enabled: boolean; peer_restart_time: number; stale_routes: number };
  messages: {
    sent: Record<'open' | 'update' | 'notification' | 'keepalive' | 'route_refresh' | 'total', number>;
    received: Record<'open' | 'update' | 'notification' | 'keepalive' | 'route_refresh' | 'total', number>;
  };
  updates: { prefixes_received: number; withdrawals_received: number; prefixes_sent: number; withdrawals_sent: number };
  last_notification_sent: NotificationInfo | null;
  last_notification_received: NotificationInfo | null;
  established_transitions: number;
  import_policies: string[];
  export_policies: string[];
}

export interface RibRoute {
  prefix: string;
  /** RFC 7911 path identifier when ADD-PATH is in use, else 0. */
  path_id: number;
  /** `*` valid, `>` best, `=` ECMP member, `I` iBGP, `S` stale, `L` locally originated. */
  flags: string;
  valid: boolean;
  best: boolean;
  ecmp: boolean;
  ibgp: boolean;
  stale: boolean;
  local: boolean;
  /** Peer name it was learned from, or `local`. */
  from: string;
  from_address: string;
  next_hop: string;
  origin: 'IGP' | 'EGP' | 'incomplete';
  as_path: string;
  local_pref: number;
  med: number | null;
  communities: string[];
  large_communities: string[];
  extended_communities: string[];
  originator_id: string | null;
  cluster_list: string[];
  /** Seconds since the route was last changed. */
  age: number;
  /** Why it is not best when it is valid but lost (`lower local-pref`, ...); empty otherwise. */
  reason: string;
  /**
   * Adj-RIB-In only: the attributes shown are the ones after import policy, because those received
   * were not kept (the policy changed them and the peer can send them again; the peer's
   * `importTable` keeps them). False elsewhere.
   */
  after_import_policy: boolean;
}

export interface RibResult {
  /** `loc` (Loc-RIB), `in` (Adj-RIB-In of `peer`), `out` (Adj-RIB-Out to `peer`). */
  table: 'loc' | 'in' | 'out';
  peer: string | null;
  routes: RibRoute[];
  /** True when more routes matched than `limit` allowed. */
  truncated: boolean;
}

export interface FibRoute {
  prefix: string;
  next_hops: string[];
  blackhole: boolean;
  source: string;
}

export interface StatusResult {
  version: string;
  router_id: string;
  local_as: string;
  cluster_id: string | null;
  started: string;
  uptime_seconds: number;
  config_file: string;
  last_reload: string | null;
  peers_configured: number;
  peers_established: number;
  loc_rib_prefixes: number;
  loc_rib_paths: number;
  attribute_sets: number;
  /** Prefixes received but not yet decided (the decision process's backlog, a restart's deferral included). */
  pending_selection: number;
  /** Prefixes decided but not yet sent to the peers (update groups' queues, ADD-PATH changes). */
  export_backlog: number;
  /** The longest the event loop was held since the first `show status` (ms, 10 ms resolution). */
  event_loop_max_delay_ms: number;
  graceful_restart: { enabled: boolean; restart_time: number; restarting: boolean };
}

export interface ReloadResult {
  peers_added: string[];
  peers_removed: string[];
  /** Peers whose session-level settings changed: reset with Cease/Other Configuration Change. */
  peers_reset: string[];
  /** Peers with other changes (policies, description): applied without a reset. */
  peers_changed: string[];
  peers_unchanged: string[];
  policies_changed: boolean;
}

/** One locally announced network (`network show`). */
export interface NetworkEntry {
  prefix: string;
  /**
   * `config`: the config file's `originate` (change it there and reload); `runtime`: added with
   * `network add` (not persisted: gone when the speaker restarts, kept across reloads); `api`: by
   * the program embedding the speaker.
   */
  origin: 'config' | 'runtime' | 'api';
  communities: string[];
  large_communities: string[];
  blackhole: boolean;
}

export interface NetworkShowResult {
  networks: NetworkEntry[];
  /** Runtime networks held, and the most `network add` may hold. */
  runtime: number;
  runtime_limit: number;
}

export interface NetworkChangeResult {
  prefix: string;
  action: 'added' | 'changed' | 'deleted';
  /** Runtime networks held after the change. */
  runtime: number;
}

/** One row of `show bfd`: the BFD session (see `@tabby/bfd`'s `ShowBfdEntry`) and its BGP peer. */
export interface BfdShowEntry extends ShowBfdEntry {
  /** The BGP session's state, empty when no configured peer has the session's name. */
  bgp_state: SessionState | '';
  /** BFD went Down: the BGP peer makes no connection until BFD is Up again. */
  bgp_held: boolean;
}
