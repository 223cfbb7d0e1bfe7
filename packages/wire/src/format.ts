import type { AsPathSegment, PathAttributes } from './attributes.js';
import type { Capability } from './capabilities.js';
import {
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  HeaderSubcode,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
  WellKnownCommunity,
} from './constants.js';
import { ipv4ToString } from './ip.js';
import type { BgpMessage } from './message.js';
import type { PrefixList } from './prefix-list.js';

const CODE_NAMES: Record<number, string> = {
  [ErrorCode.MessageHeader]: 'Message Header Error',
  [ErrorCode.Open]: 'OPEN Message Error',
  [ErrorCode.Update]: 'UPDATE Message Error',
  [ErrorCode.HoldTimerExpired]: 'Hold Timer Expired',
  [ErrorCode.Fsm]: 'Finite State Machine Error',
  [ErrorCode.Cease]: 'Cease',
  [ErrorCode.RouteRefresh]: 'ROUTE-REFRESH Message Error',
  [ErrorCode.SendHoldTimerExpired]: 'Send Hold Timer Expired',
};

// RFC 4271 §4.5 and §6, RFC 5492 §5, RFC 6608 §4, RFC 4486 §4, RFC 8538 §3, RFC 9234 §4.2, RFC 7313 §5.
const SUBCODE_NAMES: Record<number, Record<number, string>> = {
  [ErrorCode.MessageHeader]: {
    [HeaderSubcode.ConnectionNotSynchronized]: 'Connection Not Synchronized',
    [HeaderSubcode.BadMessageLength]: 'Bad Message Length',
    [HeaderSubcode.BadMessageType]: 'Bad Message Type',
  },
  [ErrorCode.Open]: {
    [OpenSubcode.UnsupportedVersionNumber]: 'Unsupported Version Number',
    [OpenSubcode.BadPeerAs]: 'Bad Peer AS',
    [OpenSubcode.BadBgpIdentifier]: 'Bad BGP Identifier',
    [OpenSubcode.UnsupportedOptionalParameter]: 'Unsupported Optional Parameter',
    5: 'Authentication Failure (deprecated)',
    [OpenSubcode.UnacceptableHoldTime]: 'Unacceptable Hold Time',
    [OpenSubcode.UnsupportedCapability]: 'Unsupported Capability',
    [OpenSubcode.RoleMismatch]: 'Role Mismatch',
  },
  [ErrorCode.Update]: {
    [UpdateSubcode.MalformedAttributeList]: 'Malformed Attribute List',
    [UpdateSubcode.UnrecognizedWellKnownAttribute]: 'Unrecognized Well-known Attribute',
    [UpdateSubcode.MissingWellKnownAttribute]: 'Missing Well-known Attribute',
    [UpdateSubcode.AttributeFlagsError]: 'Attribute Flags Error',
    [UpdateSubcode.AttributeLengthError]: 'Attribute Length Error',
    [UpdateSubcode.InvalidOriginAttribute]: 'Invalid ORIGIN Attribute',
    7: 'AS Routing Loop (deprecated)',
    [UpdateSubcode.InvalidNextHopAttribute]: 'Invalid NEXT_HOP Attribute',
    [UpdateSubcode.OptionalAttributeError]: 'Optional Attribute Error',
    [UpdateSubcode.InvalidNetworkField]: 'Invalid Network Field',
    [UpdateSubcode.MalformedAsPath]: 'Malformed AS_PATH',
  },
  [ErrorCode.Fsm]: {
    [FsmSubcode.UnexpectedMessageInOpenSent]: 'Receive Unexpected Message in OpenSent State',
    [FsmSubcode.UnexpectedMessageInOpenConfirm]: 'Receive Unexpected Message in OpenConfirm State',
    [FsmSubcode.UnexpectedMessageInEstablished]: 'Receive Unexpected Message in Established State',
  },
  [ErrorCode.Cease]: {
    [CeaseSubcode.MaximumPrefixesReached]: 'Maximum Number of Prefixes Reached',
    [CeaseSubcode.AdministrativeShutdown]: 'Administrative Shutdown',
    [CeaseSubcode.PeerDeconfigured]: 'Peer De-configured',
    [CeaseSubcode.AdministrativeReset]: 'Administrative Reset',
    [CeaseSubcode.ConnectionRejected]: 'Connection Rejected',
    [CeaseSubcode.OtherConfigurationChange]: 'Other Configuration Change',
    [CeaseSubcode.ConnectionCollisionResolution]: 'Connection Collision Resolution',
    [CeaseSubcode.OutOfResources]: 'Out of Resources',
    [CeaseSubcode.HardReset]: 'Hard Reset',
    [CeaseSubcode.BfdDown]: 'BFD Down',
  },
  [ErrorCode.RouteRefresh]: {
    [RouteRefreshSubcode.InvalidMessageLength]: 'Invalid Message Length',
  },
};

/** `Cease / Administrative Shutdown`, or numbers for values without a name. */
export function notificationName(code: number, subcode: number): string {
  const c = CODE_NAMES[code] ?? `error code ${code}`;
  if (subcode === 0) return `${c} / Unspecific`;
  const s = SUBCODE_NAMES[code]?.[subcode] ?? `subcode ${subcode}`;
  return `${c} / ${s}`;
}

const COMMUNITY_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(WellKnownCommunity).map(([k, v]) => [v, k]),
);

/** `NO_EXPORT` for well-known values, otherwise `ASN:value` (RFC 1997 §3). */
export function communityToString(c: number): string {
  return COMMUNITY_NAMES[c] ?? `${c >>> 16}:${c & 0xffff}`;
}

/**
 * RFC 4360 text of an extended community (16 hex digits): `rt:65000:100`, `soo:192.0.2.1:7`,
 * `rt:4200000000:1` for the route-target / route-origin kinds, `0x…` otherwise.
 */
export function extendedCommunityToString(hex: string): string {
  const type = Number.parseInt(hex.slice(0, 2), 16) & 0xbf; // ignore the transitive bit (RFC 4360 §2)
  const sub = Number.parseInt(hex.slice(2, 4), 16);
  const kind = sub === 2 ? 'rt' : sub === 3 ? 'soo' : undefined;
  if (kind !== undefined) {
    if (type === 0x00) return `${kind}:${Number.parseInt(hex.slice(4, 8), 16)}:${Number.parseInt(hex.slice(8), 16)}`;
    if (type === 0x01)
      return `${kind}:${ipv4ToString(Number.parseInt(hex.slice(4, 12), 16))}:${Number.parseInt(hex.slice(12), 16)}`;
    if (type === 0x02) return `${kind}:${Number.parseInt(hex.slice(4, 12), 16)}:${Number.parseInt(hex.slice(12), 16)}`;
  }
  return `0x${hex}`;
}

/** `65001 65002 {65003,65004} (65010)` style text (confederation sequences in parentheses, sets in braces). */
export function asPathToString(path: readonly AsPathSegment[]): string {
  return path
    .map((s) => {
      const list = s.asns.join(s.kind.endsWith('set') ? ',' : ' ');
      if (s.kind === 'sequence') return list;
      if (s.kind === 'set') return `{${list}}`;
      if (s.kind === 'confed-sequence') return `(${list})`;
      return `[${list}]`;
    })
    .join(' ');
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function capabilityJson(c: Capability): Record<string, unknown> {
  if (c.kind === 'unknown') return { kind: c.kind, code: c.code, value: hex(c.value) };
  return { ...c };
}

function capabilityText(c: Capability): string {
  switch (c.kind) {
    case 'multiprotocol':
      return `multiprotocol ${c.afi}/${c.safi}`;
    case 'four-octet-as':
      return `4-octet AS ${c.asn}`;
    case 'graceful-restart':
      return `graceful restart time ${c.restartTime}${c.restarting ? ' restarting' : ''}${c.notification ? ' notification' : ''} families ${c.families.map((f) => `${f.afi}/${f.safi}${f.forwarding ? '(F)' : ''}`).join(',') || '-'}`;
    case 'add-path':
      return `add-path ${c.families.map((f) => `${f.afi}/${f.safi} ${f.mode}`).join(', ')}`;
    case 'extended-next-hop':
      return `extended next hop ${c.entries.map((e) => `${e.afi}/${e.safi} via ${e.nextHopAfi}`).join(', ')}`;
    case 'fqdn':
      return `hostname ${c.hostname}${c.domain ? `.${c.domain}` : ''}`;
    case 'role':
      return `role ${c.role}`;
    case 'unknown':
      return `capability ${c.code} 0x${hex(c.value)}`;
    default:
      return c.kind.replace(/-/g, ' ');
  }
}

function prefixesJson(l: PrefixList): string[] {
  return l.toStrings();
}

function attributesJson(a: PathAttributes): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (a.origin !== undefined) o.origin = a.origin;
  if (a.asPath !== undefined) o.as_path = a.asPath.map((s) => ({ kind: s.kind, asns: [...s.asns] }));
  if (a.nextHop !== undefined) o.next_hop = a.nextHop;
  if (a.med !== undefined) o.med = a.med;
  if (a.localPref !== undefined) o.local_pref = a.localPref;
  if (a.atomicAggregate) o.atomic_aggregate = true;
  if (a.aggregator !== undefined) o.aggregator = { ...a.aggregator };
  if (a.communities !== undefined) o.communities = a.communities.map(communityToString);
  if (a.originatorId !== undefined) o.originator_id = a.originatorId;
  if (a.clusterList !== undefined) o.cluster_list = [...a.clusterList];
  if (a.extendedCommunities !== undefined)
    o.extended_communities = a.extendedCommunities.map(extendedCommunityToString);
  if (a.largeCommunities !== undefined) o.large_communities = a.largeCommunities.map((l) => l.join(':'));
  if (a.otc !== undefined) o.otc = a.otc;
  if (a.unknown !== undefined)
    o.unknown = a.unknown.map((u) => ({ type: u.type, flags: u.flags, value: hex(u.value) }));
  return o;
}

/**
 * A JSON-safe object for a message (what `bgpctl --json` and log lines show): snake_case keys,
 * prefixes as text, byte strings as hex, NOTIFICATION codes with their names.
 */
export function messageToJson(m: BgpMessage): Record<string, unknown> {
  switch (m.type) {
    case 'keepalive':
      return { type: m.type };
    case 'open': {
      const o: Record<string, unknown> = {
        type: m.type,
        version: m.version,
        my_as: m.myAs,
        hold_time: m.holdTime,
        bgp_id: m.bgpId,
        capabilities: m.capabilities.map(capabilityJson),
      };
      if (m.extendedOptionalParameters) o.extended_optional_parameters = true;
      return o;
    }
    case 'notification': {
      const o: Record<string, unknown> = {
        type: m.type,
        code: m.code,
        subcode: m.subcode,
        name: notificationName(m.code, m.subcode),
        data: hex(m.data),
      };
      if (m.shutdownMessage !== undefined) o.shutdown_message = m.shutdownMessage;
      return o;
    }
    case 'route-refresh': {
      const o: Record<string, unknown> = { type: m.type, afi: m.afi, safi: m.safi, subtype: m.subtype };
      if (m.orf) o.orf = hex(m.orf);
      return o;
    }
    case 'update': {
      const o: Record<string, unknown> = { type: m.type };
      if (m.withdrawn.count > 0) o.withdrawn = prefixesJson(m.withdrawn);
      const attrs = attributesJson(m.attributes);
      if (Object.keys(attrs).length > 0) o.attributes = attrs;
      if (m.mpReach) {
        o.mp_reach = {
          afi: m.mpReach.afi,
          safi: m.mpReach.safi,
          next_hop: m.mpReach.nextHop,
          ...(m.mpReach.linkLocalNextHop !== undefined ? { link_local_next_hop: m.mpReach.linkLocalNextHop } : {}),
          nlri: prefixesJson(m.mpReach.nlri),
        };
      }
      if (m.mpUnreach)
        o.mp_unreach = { afi: m.mpUnreach.afi, safi: m.mpUnreach.safi, withdrawn: prefixesJson(m.mpUnreach.withdrawn) };
      if (m.nlri.count > 0) o.nlri = prefixesJson(m.nlri);
      if (m.treatAsWithdraw) o.treat_as_withdraw = true;
      if (m.errors?.length)
        o.errors = m.errors.map((e) => ({
          action: e.action,
          subcode: e.subcode,
          attr_type: e.attrType,
          reason: e.reason,
        }));
      return o;
    }
  }
}

const MAX_LISTED = 20;

function listPrefixes(l: PrefixList): string {
  const shown = Math.min(l.count, MAX_LISTED);
  const items: string[] = [];
  for (let i = 0; i < shown; i++) items.push(l.toStringAt(i));
  return l.count > shown ? `${items.join(' ')} ... (${l.count} prefixes)` : items.join(' ');
}

/** Multi-line human-readable text of a message, as logs and `bgpctl` show it. Long prefix lists are cut after 20. */
export function formatMessage(m: BgpMessage): string {
  switch (m.type) {
    case 'keepalive':
      return 'KEEPALIVE';
    case 'open': {
      const lines = [`OPEN version ${m.version} AS ${m.myAs} hold ${m.holdTime}s id ${m.bgpId}`];
      for (const c of m.capabilities) lines.push(`  ${capabilityText(c)}`);
      return lines.join('\n');
    }
    case 'notification': {
      let s = `NOTIFICATION ${m.code}/${m.subcode} ${notificationName(m.code, m.subcode)}`;
      if (m.shutdownMessage !== undefined) s += `: "${m.shutdownMessage}"`;
      else if (m.code === ErrorCode.Cease && m.subcode === CeaseSubcode.MaximumPrefixesReached && m.data.length === 7) {
        // RFC 4486 §4: AFI (2), SAFI (1), prefix upper bound (4).
        const d = m.data;
        s += ` (AFI ${(d[0]! << 8) | d[1]!} SAFI ${d[2]} limit ${((d[3]! << 24) | (d[4]! << 16) | (d[5]! << 8) | d[6]!) >>> 0})`;
      } else if (m.data.length > 0) s += ` data 0x${hex(m.data)}`;
      return s;
    }
    case 'route-refresh':
      return `ROUTE-REFRESH ${m.afi}/${m.safi}${m.subtype === 'normal' ? '' : ` ${String(m.subtype).toUpperCase()}`}`;
    case 'update': {
      const lines = ['UPDATE'];
      const a = m.attributes;
      if (m.treatAsWithdraw) lines[0] += ' (treat-as-withdraw)';
      if (m.withdrawn.count > 0) lines.push(`  withdrawn: ${listPrefixes(m.withdrawn)}`);
      if (m.mpUnreach)
        lines.push(
          `  withdrawn (MP ${m.mpUnreach.afi}/${m.mpUnreach.safi}): ${listPrefixes(m.mpUnreach.withdrawn) || 'none (End-of-RIB)'}`,
        );
      if (a.origin !== undefined) lines.push(`  origin: ${a.origin}`);
      if (a.asPath !== undefined) lines.push(`  as-path: ${asPathToString(a.asPath) || '(empty)'}`);
      if (a.nextHop !== undefined) lines.push(`  next-hop: ${a.nextHop}`);
      if (a.med !== undefined) lines.push(`  med: ${a.med}`);
      if (a.localPref !== undefined) lines.push(`  local-pref: ${a.localPref}`);
      if (a.atomicAggregate) lines.push('  atomic-aggregate');
      if (a.aggregator !== undefined) lines.push(`  aggregator: ${a.aggregator.asn} ${a.aggregator.address}`);
      if (a.communities !== undefined) lines.push(`  communities: ${a.communities.map(communityToString).join(' ')}`);
      if (a.extendedCommunities !== undefined)
        lines.push(`  extended-communities: ${a.extendedCommunities.map(extendedCommunityToString).join(' ')}`);
      if (a.largeCommunities !== undefined)
        lines.push(`  large-communities: ${a.largeCommunities.map((l) => l.join(':')).join(' ')}`);
      if (a.originatorId !== undefined) lines.push(`  originator-id: ${a.originatorId}`);
      if (a.clusterList !== undefined) lines.push(`  cluster-list: ${a.clusterList.join(' ')}`);
      if (a.otc !== undefined) lines.push(`  otc: ${a.otc}`);
      for (const u of a.unknown ?? [])
        lines.push(`  attribute ${u.type} flags 0x${u.flags.toString(16)}: 0x${hex(u.value)}`);
      if (m.mpReach) {
        const r = m.mpReach;
        lines.push(
          `  mp-reach ${r.afi}/${r.safi} next-hop ${r.nextHop}${r.linkLocalNextHop ? ` ${r.linkLocalNextHop}` : ''}: ${listPrefixes(r.nlri)}`,
        );
      }
      if (m.nlri.count > 0) lines.push(`  nlri: ${listPrefixes(m.nlri)}`);
      for (const e of m.errors ?? []) lines.push(`  ${e.action}: ${e.reason}`);
      if (lines.length === 1) lines[0] += ' End-of-RIB (IPv4 unicast)';
      return lines.join('\n');
    }
  }
}
