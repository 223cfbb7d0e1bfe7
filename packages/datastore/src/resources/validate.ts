import { parseBfdSpec } from '@tabby/bfd';
import { type FieldProblem, ValidationError } from '../errors.js';
import { contains, formatCidr, parseCidr, parseIp } from '../ip.js';
import { parseSelector, SelectorParseError } from '../selector/parse.js';
import { DEFAULTS, durationSeconds, parseAsNumber } from './defaults.js';
import { API_VERSION, KINDS, type Kind, NAMESPACED_KINDS, type Resource } from './types.js';

type Field =
  | { t: 'string' | 'bool' | 'ip' | 'ipOrCidr' | 'selector' | 'asn' | 'duration' | 'mac' | 'quad' | 'peerIP' }
  | { t: 'ipOrCidr'; family: 4 | 6 }
  /** A CIDR, masked (with a warning); `family` pins it; `bareIp` also takes a single address. */
  | { t: 'cidr'; family?: 4 | 6; bareIp?: boolean }
  | { t: 'int'; min: number; max: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'pattern'; re: RegExp; hint: string }
  | { t: 'object'; fields: Record<string, Field>; required?: readonly string[] }
  | { t: 'array'; of: Field; unique?: boolean }
  | { t: 'labels' };

const S = { t: 'string' } as const;
const B = { t: 'bool' } as const;
const CIDR = { t: 'cidr' } as const;
const obj = (fields: Record<string, Field>, required: readonly string[] = []): Field => ({
  t: 'object',
  fields,
  required,
});
const arr = (of: Field): Field => ({ t: 'array', of });
const enm = (...values: string[]): Field => ({ t: 'enum', values });
const int = (min: number, max: number): Field => ({ t: 'int', min, max });
const secret = obj({ secretKeyRef: obj({ name: S, key: S }, ['name', 'key']) }, ['secretKeyRef']);
const encap = enm('Never', 'Always', 'CrossSubnet');
const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
/** A reference to another resource by name. */
const NAME_REF: Field = {
  t: 'pattern',
  re: NAME,
  hint: 'a resource name (lower-case letters, digits, "-" and ".")',
};

/** One BGPFilter rule of a family (Calico's BGPFilterRuleV4 / BGPFilterRuleV6). */
const filterRule = (family: 4 | 6): Field =>
  obj(
    {
      cidr: { t: 'cidr', family },
      prefixLength: obj({ min: int(0, family === 4 ? 32 : 128), max: int(0, family === 4 ? 32 : 128) }),
      source: enm('RemotePeers'),
      interface: {
        t: 'pattern',
        re: /^([a-zA-Z0-9_.*-]{1,15})$/,
        hint: 'an interface name or pattern of 1 to 15 characters (letters, digits, "_.-" and "*" wildcards)',
      },
      matchOperator: enm('Equal', 'NotEqual', 'In', 'NotIn'),
      action: enm('Accept', 'Reject'),
    },
    ['action'],
  );

const METADATA = obj(
  {
    name: S,
    namespace: S,
    labels: { t: 'labels' },
    annotations: { t: 'labels' },
    resourceVersion: S,
    uid: S,
    creationTimestamp: S,
    generation: int(0, Number.MAX_SAFE_INTEGER),
  },
  ['name'],
);

const SPECS: Record<Kind, Field> = {
  Node: obj({
    bgp: obj({
      ipv4Address: { t: 'ipOrCidr', family: 4 },
      ipv6Address: { t: 'ipOrCidr', family: 6 },
      asNumber: { t: 'asn' },
      routeReflectorClusterID: { t: 'quad' },
      ipv4IPIPTunnelAddr: { t: 'ip' },
    }),
    ipv4VXLANTunnelAddr: { t: 'ip' },
    vxlanTunnelMACAddr: { t: 'mac' },
    ipv6VXLANTunnelAddr: { t: 'ip' },
    vxlanTunnelMACAddrV6: { t: 'mac' },
    addresses: arr(
      obj({ address: { t: 'ipOrCidr' }, type: enm('InternalIP', 'ExternalIP', 'CalicoNodeIP') }, ['address']),
    ),
    orchRefs: arr(obj({ nodeName: S, orchestrator: S }, ['orchestrator'])),
  }),
  BGPConfiguration: obj({
    nodeToNodeMeshEnabled: B,
    asNumber: { t: 'asn' },
    listenPort: int(1, 65535),
    logSeverityScreen: enm('Trace', 'Debug', 'Info', 'Warning', 'Error', 'Fatal'),
    bindMode: enm('None', 'NodeIP'),
    serviceClusterIPs: arr(obj({ cidr: CIDR }, ['cidr'])),
    serviceExternalIPs: arr(obj({ cidr: CIDR }, ['cidr'])),
    serviceLoadBalancerIPs: arr(obj({ cidr: CIDR }, ['cidr'])),
    communities: arr(obj({ name: S, value: S }, ['name', 'value'])),
    prefixAdvertisements: arr(obj({ cidr: CIDR, communities: arr(S) }, ['cidr'])),
    nodeMeshPassword: secret,
    nodeMeshMaxRestartTime: { t: 'duration' },
    ignoredInterfaces: arr(S),
    localWorkloadPeeringIPV4: { t: 'ip' },
    localWorkloadPeeringIPV6: { t: 'ip' },
  }),
  BGPPeer: obj({
    node: S,
    nodeSelector: { t: 'selector' },
    peerIP: { t: 'peerIP' },
    peerSelector: { t: 'selector' },
    asNumber: { t: 'asn' },
    localASNumber: { t: 'asn' },
    keepOriginalNextHop: B,
    nextHopMode: enm('Auto', 'Self', 'Keep'),
    password: secret,
    sourceAddress: enm('UseNodeIP', 'None'),
    maxRestartTime: { t: 'duration' },
    keepaliveTime: { t: 'duration' },
    numAllowedLocalASNumbers: int(1, 10),
    ttlSecurity: int(0, 255),
    reversePeering: enm('Auto', 'Manual'),
    filters: arr(NAME_REF),
    reachableBy: { t: 'ip' },
    localWorkloadSelector: { t: 'selector' },
  }),
  BGPFilter: obj({
    exportV4: arr(filterRule(4)),
    importV4: arr(filterRule(4)),
    exportV6: arr(filterRule(6)),
    importV6: arr(filterRule(6)),
  }),
  IPPool: obj(
    {
      cidr: CIDR,
      blockSize: int(0, 128),
      ipipMode: encap,
      vxlanMode: encap,
      natOutgoing: B,
      disabled: B,
      disableBGPExport: B,
      nodeSelector: { t: 'selector' },
      allowedUses: { t: 'array', of: enm('Workload', 'Tunnel', 'LoadBalancer'), unique: true },
      assignmentMode: enm('Automatic', 'Manual'),
    },
    ['cidr'],
  ),
  IPReservation: obj({ reservedCIDRs: arr({ t: 'cidr', bareIp: true }) }),
  CalicoNodeStatus: obj(
    {
      node: NAME_REF,
      classes: { t: 'array', of: enm('Agent', 'BGP', 'Routes'), unique: true },
      updatePeriodSeconds: int(0, 86400),
    },
    ['node', 'classes', 'updatePeriodSeconds'],
  ),
  WorkloadEndpoint: obj(
    {
      node: S,
      pod: S,
      interfaceName: S,
      ipNetworks: arr(CIDR),
      mac: { t: 'mac' },
      containerID: S,
      orchestrator: S,
      workload: S,
      endpoint: S,
      profiles: arr(S),
    },
    ['node', 'pod', 'interfaceName', 'ipNetworks'],
  ),
};

const MAC = /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/;
const QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The result of validating one document: the normalised resource (CIDRs masked, pool defaults filled) and warnings. */
export interface Validated<R extends Resource = Resource> {
  resource: R;
  warnings: string[];
}

class Ctx {
  problems: FieldProblem[] = [];
  warnings: string[] = [];
  bad(field: string, value: unknown, message: string): undefined {
    this.problems.push({ field, value, message });
    return undefined;
  }
}

function check(f: Field, v: unknown, path: string, c: Ctx): unknown {
  switch (f.t) {
    case 'string':
      return typeof v === 'string' ? v : c.bad(path, v, 'must be a string');
    case 'bool':
      return typeof v === 'boolean' ? v : c.bad(path, v, 'must be true or false');
    case 'int':
      if (typeof v !== 'number' || !Number.isInteger(v)) return c.bad(path, v, 'must be an integer');
      return v < f.min || v > f.max ? c.bad(path, v, `must be between ${f.min} and ${f.max}`) : v;
    case 'enum':
      return typeof v === 'string' && f.values.includes(v)
        ? v
        : c.bad(path, v, `must be one of ${f.values.join(', ')}`);
    case 'cidr': {
      const p = typeof v === 'string' ? parseCidr(v) : undefined;
      const example = f.family === 6 ? 'fd00::/48' : '10.0.0.0/16';
      if (!p || (typeof v === 'string' && !v.includes('/') && !f.bareIp))
        return c.bad(path, v, `must be ${f.bareIp ? 'an IP address or ' : ''}a CIDR such as ${example}`);
      if (f.family && p.family !== f.family) return c.bad(path, v, `must be an IPv${f.family} CIDR such as ${example}`);
      if (typeof v === 'string' && !v.includes('/')) return v;
      const norm = formatCidr(p);
      if (norm !== v) c.warnings.push(`${path}: ${String(v)} normalised to ${norm}`);
      return norm;
    }
    case 'pattern':
      return typeof v === 'string' && f.re.test(v) ? v : c.bad(path, v, `must be ${f.hint}`);
    case 'ip':
      return typeof v === 'string' && parseIp(v) ? v : c.bad(path, v, 'must be an IP address');
    case 'ipOrCidr': {
      const p = typeof v === 'string' ? parseCidr(v) : undefined;
      if (!p) return c.bad(path, v, 'must be an IP address, optionally with a prefix length');
      if ('family' in f && p.family !== f.family) return c.bad(path, v, `must be an IPv${f.family} address`);
      return v;
    }
    case 'quad': {
      const m = typeof v === 'string' ? QUAD.exec(v) : null;
      if (v === '') return v;
      return m?.slice(1).every((x) => Number(x) <= 255) ? v : c.bad(path, v, 'must be a dotted quad such as 224.0.0.1');
    }
    case 'asn':
      return (typeof v === 'number' || typeof v === 'string') && !Number.isNaN(parseAsNumber(v)) && parseAsNumber(v) > 0
        ? v
        : c.bad(path, v, 'must be an AS number between 1 and 4294967295 (or asdot such as 1.10)');
    case 'duration':
      return typeof v === 'string' && !Number.isNaN(durationSeconds(v))
        ? v
        : c.bad(path, v, 'must be a duration such as 120s or 1m30s');
    case 'mac':
      return typeof v === 'string' && MAC.test(v)
        ? v
        : c.bad(path, v, 'must be a MAC address such as ee:ee:ee:ee:ee:ee');
    case 'peerIP':
      return typeof v === 'string' && parsePeerIP(v) ? v : c.bad(path, v, 'must be a.b.c.d, a.b.c.d:port or [v6]:port');
    case 'selector':
      if (typeof v !== 'string') return c.bad(path, v, 'must be a selector string');
      if (v.trim() === '') {
        c.warnings.push(
          `${path} is empty: an unquoted selector starting with "!" (such as !has(x)) is a YAML tag and vanishes; quote it`,
        );
        return v;
      }
      try {
        parseSelector(v);
      } catch (e) {
        if (e instanceof SelectorParseError) return c.bad(path, v, `${e.reason} at column ${e.column}`);
        throw e;
      }
      return v;
    case 'labels': {
      if (!isObj(v)) return c.bad(path, v, 'must be a map of strings');
      for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') c.bad(`${path}.${k}`, x, 'must be a string');
      return v;
    }
    case 'array': {
      if (!Array.isArray(v)) return c.bad(path, v, 'must be a list');
      const out = v.map((x, i) => check(f.of, x, `${path}[${i}]`, c));
      if (f.unique) {
        const seen = new Set<unknown>();
        out.forEach((x, i) => {
          if (x !== undefined && seen.has(x)) c.bad(`${path}[${i}]`, x, 'is listed twice');
          seen.add(x);
        });
      }
      return out;
    }
    case 'object': {
      if (!isObj(v)) return c.bad(path, v, 'must be a map');
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        const sub = f.fields[k];
        const p = path ? `${path}.${k}` : k;
        if (!sub) {
          c.bad(p, x, `unknown field (known: ${Object.keys(f.fields).join(', ')})`);
          continue;
        }
        if (x === null || x === undefined) {
          if (sub.t === 'selector') check(sub, '', p, c);
          continue;
        }
        const r = check(sub, x, p, c);
        if (r !== undefined) out[k] = r;
      }
      for (const k of f.required ?? [])
        if (v[k] === null || v[k] === undefined) c.bad(path ? `${path}.${k}` : k, undefined, 'is required');
      return out;
    }
  }
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses a BGPPeer `peerIP` (`a.b.c.d`, `a.b.c.d:port`, `[v6]:port`, or a bare v6 address). */
export function parsePeerIP(s: string): { ip: string; port: number } | undefined {
  let ip = s;
  let port: number = DEFAULTS.peerPort;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  const v4 = /^([\d.]+):(\d+)$/.exec(s);
  if (v6) {
    ip = v6[1] as string;
    if (v6[2]) port = Number(v6[2]);
  } else if (v4) {
    ip = v4[1] as string;
    port = Number(v4[2]);
  }
  if (!parseIp(ip) || port < 1 || port > 65535) return undefined;
  return { ip, port };
}

/** A short name for a document in messages: `IPPool/pool-a`, or `document 3` without a name. */
export function describeDoc(doc: unknown, fallback = 'document'): string {
  if (!isObj(doc)) return fallback;
  const meta = isObj(doc.metadata) ? doc.metadata : {};
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${typeof doc.kind === 'string' ? doc.kind : 'unknown kind'}/${ns}${typeof meta.name === 'string' ? meta.name : '(no name)'}`;
}

/** Kinds whose documents may carry a `status` (written by Tabby; an applied one is ignored). */
const STATUS_KINDS: ReadonlySet<Kind> = new Set<Kind>(['CalicoNodeStatus']);

/**
 * Validates one Calico v3 document. Rejects unknown fields (with their path), masks CIDRs, fills
 * the IPPool defaults Calico fills (blockSize, ipipMode, vxlanMode, nodeSelector, allowedUses,
 * assignmentMode) and returns warnings (empty selectors, normalised CIDRs). Throws
 * ValidationError naming every bad field. A `status` (CalicoNodeStatus) must be a map and is
 * dropped: status belongs to the node agent.
 */
export function validateResource(doc: unknown, documentName = describeDoc(doc)): Validated {
  const c = new Ctx();
  if (!isObj(doc))
    throw new ValidationError(documentName, [{ field: '(document)', value: doc, message: 'must be a map' }]);
  const kind = doc.kind;
  const known = typeof kind === 'string' && Object.hasOwn(KINDS, kind);
  const topLevel = [
    'apiVersion',
    'kind',
    'metadata',
    'spec',
    ...(known && STATUS_KINDS.has(kind as Kind) ? ['status'] : []),
  ];
  for (const k of Object.keys(doc)) {
    if (!topLevel.includes(k)) c.bad(k, doc[k], `unknown field (known: ${topLevel.join(', ')})`);
  }
  if (doc.apiVersion !== API_VERSION) c.bad('apiVersion', doc.apiVersion, `must be ${API_VERSION}`);
  if (!known) {
    c.bad('kind', kind, `must be one of ${Object.keys(KINDS).join(', ')}`);
    throw new ValidationError(documentName, c.problems);
  }
  const k = kind as Kind;
  if (doc.status !== undefined && doc.status !== null && !isObj(doc.status))
    c.bad('status', doc.status, 'must be a map (it is written by the node agent; an applied one is ignored)');
  const metadata = check(METADATA, doc.metadata ?? undefined, 'metadata', c) as Record<string, unknown> | undefined;
  const spec = (check(SPECS[k], doc.spec ?? {}, 'spec', c) ?? {}) as Record<string, unknown>;
  if (metadata) {
    const name = metadata.name;
    if (typeof name === 'string' && (!NAME.test(name) || name.length > 253)) {
      c.bad(
        'metadata.name',
        name,
        'must be lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
      );
    }
    if (NAMESPACED_KINDS.has(k) && typeof metadata.namespace !== 'string')
      c.bad('metadata.namespace', undefined, `is required for ${k}`);
    if (!NAMESPACED_KINDS.has(k) && metadata.namespace !== undefined)
      c.bad('metadata.namespace', metadata.namespace, `${k} is not namespaced`);
  }
  checkTabbyAnnotations(k, metadata, c);
  CROSS_CHECKS[k]?.(spec, c, String(metadata?.name ?? ''));
  if (c.problems.length) throw new ValidationError(documentName, c.problems);
  // Stored and printed in the schema's field order, defaults included.
  const specFields = SPECS[k].t === 'object' ? Object.keys(SPECS[k].fields) : [];
  const ordered = Object.fromEntries(specFields.filter((f) => spec[f] !== undefined).map((f) => [f, spec[f]]));
  const resource = { apiVersion: API_VERSION, kind: k, metadata, spec: ordered } as unknown as Resource;
  return { resource, warnings: c.warnings.map((w) => `${documentName}: ${w}`) };
}

/** Tabby's extension annotation for BFD (docs/bfd.md): `minRx=100ms,minTx=100ms,multiplier=3`. */
export const BFD_ANNOTATION = 'tabby.dev/bfd';
const BFD_ANNOTATION_KINDS: ReadonlySet<Kind> = new Set(['BGPPeer', 'BGPConfiguration', 'Node']);

/** Tabby-only annotations are checked where they have an effect; Calico ignores them. */
function checkTabbyAnnotations(k: Kind, metadata: Record<string, unknown> | undefined, c: Ctx): void {
  const v = (metadata?.annotations as Record<string, unknown> | undefined)?.[BFD_ANNOTATION];
  if (v === undefined || !BFD_ANNOTATION_KINDS.has(k)) return;
  try {
    parseBfdSpec(String(v));
  } catch (err) {
    c.bad(`metadata.annotations.${BFD_ANNOTATION}`, v, (err as Error).message);
  }
}

/**
 * BGPPeer fields Tabby refuses, and why (one line each). Node.js cannot set the socket options
 * the first two need; the others need work Tabby has not done (see docs/datastore.md).
 */
const REFUSED_PEER_FIELDS: Record<string, string> = {
  password:
    'TCP MD5 session passwords (RFC 2385) need the TCP_MD5SIG socket option, which Node.js cannot set, so Tabby cannot authenticate BGP sessions; remove it here and on the peer (protect the peering network instead)',
  ttlSecurity:
    'GTSM (RFC 5082) needs the IP_MINTTL socket option, which Node.js cannot set, so Tabby cannot drop packets by TTL; remove it (0 means off and is accepted)',
  reachableBy:
    'Tabby does not program the static route to the peer through this gateway; remove it and make the peer reachable by the node’s routing table',
  localWorkloadSelector: 'Tabby does not peer with local workloads (pods); remove it',
};

const CROSS_CHECKS: Partial<Record<Kind, (spec: Record<string, unknown>, c: Ctx, name: string) => void>> = {
  BGPPeer(spec, c) {
    const hasPeerIP = spec.peerIP !== undefined;
    const hasPeerSel = typeof spec.peerSelector === 'string' && spec.peerSelector.trim() !== '';
    if (hasPeerIP && hasPeerSel)
      c.bad('spec.peerSelector', spec.peerSelector, 'cannot be set together with spec.peerIP (set one)');
    if (!hasPeerIP && !hasPeerSel)
      c.bad('spec.peerIP', undefined, 'one of spec.peerIP or spec.peerSelector is required');
    if (spec.node !== undefined && spec.nodeSelector !== undefined) {
      c.bad(
        'spec.nodeSelector',
        spec.nodeSelector,
        'cannot be set together with spec.node (set one, or neither for a global peer)',
      );
    }
    if (hasPeerSel && spec.asNumber !== undefined) {
      c.bad('spec.asNumber', spec.asNumber, 'must be empty with spec.peerSelector (the remote node’s AS is used)');
    }
    if (hasPeerIP && spec.asNumber === undefined) c.bad('spec.asNumber', undefined, 'is required with spec.peerIP');
    for (const [field, why] of Object.entries(REFUSED_PEER_FIELDS)) {
      const v = spec[field];
      if (v === undefined || (field === 'ttlSecurity' && v === 0) || (field === 'localWorkloadSelector' && v === ''))
        continue;
      c.bad(`spec.${field}`, v, `is not supported: ${why}`);
    }
  },
  BGPFilter(spec, c) {
    for (const list of ['exportV4', 'importV4', 'exportV6', 'importV6'] as const) {
      const bits = list.endsWith('V4') ? 32 : 128;
      ((spec[list] as (Record<string, unknown> | undefined)[] | undefined) ?? []).forEach((rule, i) => {
        if (!rule) return;
        const at = `spec.${list}[${i}]`;
        // A field already refused (wrong family, unknown operator) is not also "missing".
        if (c.problems.some((p) => p.field.startsWith(`${at}.`))) return;
        const cidr = typeof rule.cidr === 'string' ? parseCidr(rule.cidr) : undefined;
        if ((rule.cidr === undefined) !== (rule.matchOperator === undefined)) {
          if (rule.cidr === undefined)
            c.bad(`${at}.cidr`, undefined, 'is required with matchOperator (set both or neither)');
          else c.bad(`${at}.matchOperator`, undefined, 'is required with cidr (Equal, NotEqual, In or NotIn)');
        }
        const pl = rule.prefixLength as { min?: number; max?: number } | undefined;
        if (!pl) return;
        if (rule.cidr === undefined) c.bad(`${at}.prefixLength`, pl, 'needs cidr (the prefix lengths are within it)');
        else if (rule.matchOperator === 'Equal' || rule.matchOperator === 'NotEqual')
          c.bad(
            `${at}.prefixLength`,
            pl,
            `only applies with matchOperator In or NotIn (${rule.matchOperator} compares with cidr exactly)`,
          );
        else if (cidr) {
          // Calico matches lengths from max(cidr length, min) to min(family width, max).
          const lo = Math.max(cidr.len, pl.min ?? cidr.len);
          const hi = Math.min(bits, pl.max ?? bits);
          if (lo > hi)
            c.bad(`${at}.prefixLength`, pl, `matches no prefix length: ${lo} to ${hi} within ${rule.cidr as string}`);
        }
      });
    }
  },
  IPPool: ipPoolChecks,
  BGPConfiguration(spec, c, name) {
    if (name !== 'default' && !name.startsWith('node.')) {
      c.bad('metadata.name', name, 'must be "default" (global) or "node.<nodename>" (per node)');
    }
    if (name !== 'default') {
      for (const f of [
        'nodeToNodeMeshEnabled',
        'asNumber',
        'serviceClusterIPs',
        'serviceExternalIPs',
        'serviceLoadBalancerIPs',
      ]) {
        if (spec[f] !== undefined)
          c.bad(`spec.${f}`, spec[f], 'may only be set in the BGPConfiguration named "default"');
      }
    }
    const communities = (spec.communities as { name: string; value: string }[] | undefined) ?? [];
    communities.forEach((cm, i) => {
      if (cm && typeof cm.value === 'string' && !/^\d+:\d+(:\d+)?$/.test(cm.value)) {
        c.bad(`spec.communities[${i}].value`, cm.value, 'must be aa:nn (standard) or aa:nn:mm (large)');
      }
    });
    if (spec.nodeMeshPassword !== undefined)
      c.bad('spec.nodeMeshPassword', spec.nodeMeshPassword, `is not supported: ${REFUSED_PEER_FIELDS.password}`);
    for (const f of ['localWorkloadPeeringIPV4', 'localWorkloadPeeringIPV6']) {
      if (spec[f] !== undefined)
        c.bad(`spec.${f}`, spec[f], `is not supported: ${REFUSED_PEER_FIELDS.localWorkloadSelector}`);
    }
  },
};

const LINK_LOCAL = [parseCidr('169.254.0.0/16'), parseCidr('fe80::/10')];

function ipPoolChecks(spec: Record<string, unknown>, c: Ctx): void {
  if (typeof spec.cidr !== 'string') return;
  const cidr = parseCidr(spec.cidr);
  if (!cidr) return;
  const ipip = (spec.ipipMode as string | undefined) ?? DEFAULTS.encapMode;
  const vxlan = (spec.vxlanMode as string | undefined) ?? DEFAULTS.encapMode;
  if (ipip !== 'Never' && vxlan !== 'Never') {
    c.bad('spec.vxlanMode', vxlan, `cannot be used with spec.ipipMode ${ipip} on one pool (set one of them to Never)`);
  }
  if (cidr.family === 6 && ipip !== 'Never') c.bad('spec.ipipMode', ipip, 'IPIP is not supported on IPv6 pools');
  for (const ll of LINK_LOCAL) {
    if (ll && (contains(ll, cidr) || contains(cidr, ll)))
      c.bad('spec.cidr', spec.cidr, `overlaps the link-local range ${formatCidr(ll)}`);
  }
  const [lo, hi] = cidr.family === 4 ? [20, 32] : [116, 128];
  const bs =
    (spec.blockSize as number | undefined) ?? (cidr.family === 4 ? DEFAULTS.blockSizeV4 : DEFAULTS.blockSizeV6);
  if (bs < lo || bs > hi) c.bad('spec.blockSize', bs, `must be between ${lo} and ${hi} for an IPv${cidr.family} pool`);
  else if (bs < cidr.len && !spec.disabled)
    c.bad('spec.blockSize', bs, `must not be smaller than the pool's prefix length /${cidr.len}`);
  if (typeof spec.nodeSelector === 'string' && spec.nodeSelector.includes('global('))
    c.bad('spec.nodeSelector', spec.nodeSelector, 'global() is not valid in an IP pool’s nodeSelector');
  const uses = (spec.allowedUses as string[] | undefined)?.length
    ? (spec.allowedUses as string[])
    : [...DEFAULTS.poolAllowedUses];
  if (uses.includes('LoadBalancer')) {
    const why = (what: string) => `a LoadBalancer pool ${what}`;
    if (uses.some((u) => u !== 'LoadBalancer'))
      c.bad('spec.allowedUses', uses, why('cannot also be used for Workload or Tunnel addresses'));
    if (ipip !== 'Never' || vxlan !== 'Never')
      c.bad(
        ipip !== 'Never' ? 'spec.ipipMode' : 'spec.vxlanMode',
        ipip !== 'Never' ? ipip : vxlan,
        why('cannot use IPIP or VXLAN'),
      );
    if (spec.disableBGPExport === true) c.bad('spec.disableBGPExport', true, why('cannot disable BGP export'));
    if (spec.nodeSelector !== undefined && spec.nodeSelector !== 'all()')
      c.bad('spec.nodeSelector', spec.nodeSelector, why('must select all() nodes'));
  }
  spec.blockSize = bs;
  spec.ipipMode = ipip;
  spec.vxlanMode = vxlan;
  if (spec.nodeSelector === undefined) spec.nodeSelector = DEFAULTS.poolNodeSelector;
  spec.allowedUses = uses;
  if (spec.assignmentMode === undefined) spec.assignmentMode = DEFAULTS.poolAssignmentMode;
}
