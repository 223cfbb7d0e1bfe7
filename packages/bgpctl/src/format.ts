import type {
  FibRoute,
  NeighborDetail,
  PeerSummary,
  RibResult,
  RibRoute,
  StatusResult,
  SummaryResult,
} from '@tabby/bgp';

/** OpenBGPD's time format: `Never`, `HH:MM:SS` under a day, `NdHHhMMm` under a week, `NwNdHHh` after. */
export function fmtTimeframe(seconds: number | null): string {
  if (seconds === null || seconds < 0) return 'Never';
  const s = Math.floor(seconds);
  const sec = s % 60;
  const min = Math.floor(s / 60) % 60;
  const hrs = Math.floor(s / 3600) % 24;
  const days = Math.floor(s / 86400);
  const p = (n: number) => String(n).padStart(2, '0');
  if (days === 0) return `${p(hrs)}:${p(min)}:${p(sec)}`;
  if (days < 7) return `${days}d${p(hrs)}h${p(min)}m`;
  return `${Math.floor(days / 7)}w${days % 7}d${p(hrs)}h`;
}

function table(rows: string[][], rightAligned: Set<number>): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((r) =>
      r
        .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function stateColumn(p: PeerSummary): string {
  if (p.admin_down) return 'Idle (Admin)';
  return p.state === 'Established' ? String(p.prefixes_received) : p.state;
}

/** `show summary`: Neighbor, AS, MsgRcvd, MsgSent, OutQ, Up/Down, State/PrfRcvd. */
export function formatSummary(r: SummaryResult): string {
  const head = ['Neighbor', 'AS', 'MsgRcvd', 'MsgSent', 'OutQ', 'Up/Down', 'State/PrfRcvd'];
  const rows = r.peers.map((p) => [
    p.name,
    p.remote_as,
    String(p.msgs_received),
    String(p.msgs_sent),
    String(p.out_queue),
    fmtTimeframe(p.state === 'Established' || p.state_seconds > 0 ? p.state_seconds : null),
    stateColumn(p),
  ]);
  const header = `BGP router ID ${r.router_id}, local AS ${r.local_as}, ${r.peers.length} neighbor${r.peers.length === 1 ? '' : 's'}\n`;
  return `${header}${table([head, ...rows], new Set([1, 2, 3, 4, 6]))}`;
}

function notif(n: NeighborDetail['last_notification_sent']): string {
  return n ? `${n.text} (${n.code}/${n.subcode}) at ${n.at}` : 'none';
}

/** `show neighbor PEER`: one block per peer, the facts an operator asks first. */
export function formatNeighbor(n: NeighborDetail): string {
  const lines = [
    `BGP neighbor is ${n.address}, port ${n.port}, remote AS ${n.remote_as}, ${n.ibgp ? 'internal' : 'external'} link`,
    ` Name: ${n.name}${n.description ? `, description: ${n.description}` : ''}`,
    ` BGP version 4, remote router ID ${n.remote_router_id || 'unknown'}, local AS ${n.local_as}`,
    ` BGP state = ${n.admin_down ? 'Idle (administratively down)' : n.state}, ${n.state === 'Established' ? 'up' : 'down'} for ${fmtTimeframe(n.state_seconds)}`,
    ` Local address ${n.local_address || '-'}:${n.local_port || '-'}${n.passive ? ', passive' : ''}${n.route_reflector_client ? ', route-reflector client' : ''}`,
    ` Hold time ${n.hold_time}s (configured ${n.hold_time_configured}s), keepalive ${n.keepalive_time}s, connect retry ${n.connect_retry_time}s`,
    ` Last error: ${n.last_error || 'none'}`,
    '',
    ' Capabilities sent:     ' + (n.capabilities_sent.join(', ') || 'none'),
    ' Capabilities received: ' + (n.capabilities_received.join(', ') || 'none'),
    ` Families: ${n.families.join(', ') || 'none'}`,
    ` Graceful restart: ${n.graceful_restart.enabled ? `on, peer restart time ${n.graceful_restart.peer_restart_time}s, ${n.graceful_restart.stale_routes} stale routes` : 'off'}`,
    ` Policies: import ${n.import_policies.join(', ') || '(default)'}; export ${n.export_policies.join(', ') || '(default)'}`,
    '',
    ' Message statistics:',
    table(
      [
        ['', 'Sent', 'Received'],
        ...(['open', 'notification', 'update', 'keepalive', 'route_refresh', 'total'] as const).map((k) => [
          `  ${k.replace('_', ' ')}`,
          String(n.messages.sent[k]),
          String(n.messages.received[k]),
        ]),
      ],
      new Set([1, 2]),
    ),
    '',
    ' Update statistics:',
    table(
      [
        ['', 'Sent', 'Received'],
        ['  prefixes', String(n.updates.prefixes_sent), String(n.updates.prefixes_received)],
        ['  withdrawals', String(n.updates.withdrawals_sent), String(n.updates.withdrawals_received)],
      ],
      new Set([1, 2]),
    ),
    '',
    ` Last notification sent:     ${notif(n.last_notification_sent)}`,
    ` Last notification received: ${notif(n.last_notification_received)}`,
    ` Established ${n.established_transitions} time${n.established_transitions === 1 ? '' : 's'}`,
  ];
  return lines.join('\n');
}

export const RIB_LEGEND =
  'flags: * = valid, > = selected, = = ECMP member, I = via iBGP, S = stale, L = local\norigin: i = IGP, e = EGP, ? = incomplete';

const ORIGIN_CHAR = { IGP: 'i', EGP: 'e', incomplete: '?' } as const;

/** `show rib`: OpenBGPD's layout with a flag legend. */
export function formatRib(r: RibResult, detail: boolean): string {
  const title =
    r.table === 'loc' ? 'Loc-RIB' : r.table === 'in' ? `Adj-RIB-In from ${r.peer}` : `Adj-RIB-Out to ${r.peer}`;
  if (detail) {
    const blocks = r.routes.map(formatRouteDetail);
    return [`${title}: ${r.routes.length} route${r.routes.length === 1 ? '' : 's'}`, ...blocks].join('\n\n');
  }
  const head = ['flags', 'destination', 'gateway', 'lpref', 'med', 'aspath origin'];
  const rows = r.routes.map((x) => [
    x.flags.padEnd(4),
    x.path_id ? `${x.prefix} [${x.path_id}]` : x.prefix,
    x.next_hop,
    String(x.local_pref),
    x.med === null ? '0' : String(x.med),
    `${x.as_path ? `${x.as_path} ` : ''}${ORIGIN_CHAR[x.origin]}`,
  ]);
  const more = r.truncated ? '\n(more routes matched; narrow the query or raise --limit)' : '';
  return `${RIB_LEGEND}\n\n${title}\n${table([head, ...rows], new Set([3, 4]))}${more}`;
}

function formatRouteDetail(x: RibRoute): string {
  const lines = [
    `${x.prefix}${x.path_id ? ` path-id ${x.path_id}` : ''}`,
    `    From ${x.from} (${x.from_address || 'local'}), flags [${x.flags.trim()}]${x.reason ? `, not selected: ${x.reason}` : ''}`,
    `    Nexthop ${x.next_hop}, origin ${x.origin}, AS path ${x.as_path || '(empty)'}`,
    `    Local-pref ${x.local_pref}, MED ${x.med ?? 'none'}, age ${fmtTimeframe(x.age)}`,
  ];
  if (x.after_import_policy)
    lines.push(
      '    Attributes after import policy (as received not kept: the peer can send them again; importTable keeps them)',
    );
  if (x.communities.length) lines.push(`    Communities: ${x.communities.join(' ')}`);
  if (x.large_communities.length) lines.push(`    Large communities: ${x.large_communities.join(' ')}`);
  if (x.extended_communities.length) lines.push(`    Extended communities: ${x.extended_communities.join(' ')}`);
  if (x.originator_id)
    lines.push(`    Originator ${x.originator_id}, cluster list ${x.cluster_list.join(' ') || '(empty)'}`);
  return lines.join('\n');
}

export function formatFib(routes: FibRoute[]): string {
  const rows = routes.map((r) => [r.prefix, r.blackhole ? 'blackhole' : r.next_hops.join(', '), r.source]);
  return table([['destination', 'gateway', 'source'], ...rows], new Set());
}

export function formatStatus(s: StatusResult): string {
  return [
    `Tabby bgpd ${s.version}`,
    `Router ID ${s.router_id}, local AS ${s.local_as}${s.cluster_id ? `, route reflector cluster ${s.cluster_id}` : ''}`,
    `Started ${s.started}, up ${fmtTimeframe(s.uptime_seconds)}`,
    `Config ${s.config_file}, last reload ${s.last_reload ?? 'never'}`,
    `Peers: ${s.peers_established} of ${s.peers_configured} established`,
    `Loc-RIB: ${s.loc_rib_prefixes} prefixes, ${s.loc_rib_paths} paths, ${s.attribute_sets} distinct attribute sets`,
    `Pending: ${s.pending_selection} prefixes to decide, ${s.export_backlog} to export${s.pending_selection || s.export_backlog ? '' : ' (converged)'}`,
    `Event loop: held at most ${s.event_loop_max_delay_ms} ms`,
    `Graceful restart: ${s.graceful_restart.enabled ? `on, restart time ${s.graceful_restart.restart_time}s${s.graceful_restart.restarting ? ', restarting now' : ''}` : 'off'}`,
  ].join('\n');
}

/** One row of `node status` (what the node agent answers). */
export interface NodeStatusPeer {
  peer_address: string;
  peer_type: string;
  state: string;
  since: string;
  info: string;
}

export interface NodeStatusResult {
  node: string;
  ready: boolean;
  /** Why not ready (agents before readiness reasons do not send it). */
  reason?: string;
  error: string;
  peers: NodeStatusPeer[];
}

function boxTable(head: string[], rows: string[][]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = `+${w.map((n) => '-'.repeat(n + 2)).join('+')}+`;
  const center = (t: string, n: number) => {
    const left = Math.floor((n - t.length) / 2);
    return `${' '.repeat(left)}${t}${' '.repeat(n - t.length - left)}`;
  };
  const fmt = (r: string[], c: boolean) =>
    `| ${r.map((x, i) => (c ? center(x, w[i]!) : x.padEnd(w[i]!))).join(' | ')} |`;
  return [line, fmt(head, true), line, ...rows.map((r) => fmt(r, false)), line].join('\n');
}

/** `bgpctl node status`: Calico's `calicoctl node status` table, IPv4 then IPv6. */
export function formatNodeStatus(r: NodeStatusResult): string {
  const out = [
    `Tabby node ${r.node} is running${r.ready ? ' (ready)' : r.reason ? ` (not ready: ${r.reason})` : ' (not ready)'}.`,
    ...(r.error && r.error !== r.reason ? [`Last error: ${r.error}`] : []),
  ];
  for (const fam of ['IPv4', 'IPv6'] as const) {
    const rows = r.peers
      .filter((p) => p.peer_address.includes(':') === (fam === 'IPv6'))
      .map((p) => [p.peer_address, p.peer_type, p.state, p.since.slice(11, 19), p.info]);
    out.push('', `${fam} BGP status`);
    out.push(
      rows.length ? boxTable(['PEER ADDRESS', 'PEER TYPE', 'STATE', 'SINCE', 'INFO'], rows) : `No ${fam} peers found.`,
    );
  }
  return out.join('\n');
}
