import { createHash } from 'node:crypto';
import { parseBfdSpec } from '@tabby/bfd';
import { contains, formatCidr, parseCidr } from '../ip.js';
import { cidrSegment, ipamKeys, KEY_PREFIX } from '../keys.js';
import { durationSeconds, effectiveBGPConfiguration, parseAsNumber } from '../resources/defaults.js';
import type {
  BGPConfigurationResource,
  BGPFilterResource,
  BGPFilterRule,
  BGPPeerResource,
  IPPoolResource,
  NodeResource,
  WorkloadEndpointResource,
} from '../resources/types.js';
import { BFD_ANNOTATION, parsePeerIP } from '../resources/validate.js';
import { Selector } from '../selector/evaluate.js';

/** The inputs of confd's flat view. */
export interface FlatViewInput {
  nodes: NodeResource[];
  bgpConfigurations: BGPConfigurationResource[];
  bgpPeers: BGPPeerResource[];
  /** BGPFilters (absent: none). */
  bgpFilters?: BGPFilterResource[];
  ipPools: IPPoolResource[];
  /** Raw IPAM affinity pairs (`/calico/ipam/v2/host/...`), passed through unchanged. */
  affinities: { key: string; value: string }[];
  /** Pods, for the addresses a node borrowed from another node's block (announced as /32, /128). */
  workloadEndpoints?: WorkloadEndpointResource[];
}

const G = `${KEY_PREFIX.bgp}global/`;
const H = (node: string) => `${KEY_PREFIX.bgp}host/${node}/`;

function addrOnly(s: string | undefined): string {
  return s ? (s.split('/')[0] ?? '') : '';
}

/**
 * Tabby's BFD extension (`tabby.dev/bfd` annotation, validated on apply) as a YAML flow mapping
 * for the speaker's `bfd:` field, e.g. `{"minRx":100,"minTx":100,"multiplier":3}`; undefined when
 * absent (or, from an older store, not valid).
 */
function bfdValue(r: { metadata: { annotations?: Record<string, string> } }): string | undefined {
  const text = r.metadata.annotations?.[BFD_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    return JSON.stringify(parseBfdSpec(text));
  } catch {
    return undefined;
  }
}

/**
 * A peer's JSON. `calico_node` marks a peer that is itself a node of the cluster (picked by a
 * `peerSelector`, or the reverse of such a peering): the templates make the higher address of
 * such a pair passive, as in the mesh. `restart_time` and `keepalive_time` are in whole seconds
 * (restart time 0: graceful restart off). `filters` names BGPFilters (see `filter_v4`).
 */
function peerValue(p: BGPPeerResource, ip: string, port: number, asNum: string, calicoNode = false): string {
  const v: Record<string, unknown> = { ip, as_num: asNum };
  if (calicoNode) v.calico_node = true;
  if (port !== 179) v.port = port;
  if (p.spec.localASNumber !== undefined) v.local_as_num = String(parseAsNumber(p.spec.localASNumber));
  if (p.spec.keepOriginalNextHop) v.keep_next_hop = true;
  if (p.spec.nextHopMode) v.next_hop_mode = p.spec.nextHopMode;
  if (p.spec.sourceAddress) v.source_address = p.spec.sourceAddress;
  if (p.spec.maxRestartTime) v.restart_time = String(durationSeconds(p.spec.maxRestartTime));
  if (p.spec.keepaliveTime) v.keepalive_time = String(durationSeconds(p.spec.keepaliveTime));
  if (p.spec.numAllowedLocalASNumbers) v.num_allow_local_as = p.spec.numAllowedLocalASNumbers;
  if (p.spec.filters?.length) v.filters = p.spec.filters;
  const bfd = bfdValue(p);
  if (bfd) v.tabby_bfd = bfd;
  v.name = p.metadata.name;
  return JSON.stringify(v);
}

/**
 * Computes confd's flat key/value view from the resources, with Calico's keys:
 * `/calico/bgp/v1/global/{as_num,node_mesh,node_mesh_restart_time,listen_port,loglevel,peer_v4/<ip>,peer_v6/<ip>}`,
 * `/calico/bgp/v1/host/<node>/{ip_addr_v4,ip_addr_v6,network_v4,network_v6,as_num,rr_cluster_id,peer_v4/<ip>,...}`,
 * `/calico/v1/ipam/v4/pool/<a.b.c.d-len>`, plus IPAM affinities as stored. Pure; deterministic.
 */
export function computeFlatView(input: FlatViewInput): Map<string, string> {
  const out = new Map<string, string>();
  const def = input.bgpConfigurations.find((c) => c.metadata.name === 'default');
  const eff = effectiveBGPConfiguration(def?.spec);
  out.set(`${G}as_num`, String(eff.asNumber));
  out.set(`${G}node_mesh`, JSON.stringify({ enabled: eff.nodeToNodeMeshEnabled }));
  out.set(`${G}listen_port`, String(eff.listenPort));
  // Tabby: the speaker listens on the node's own address rather than on every address.
  if (eff.bindMode === 'NodeIP') out.set(`${G}bind_mode`, 'NodeIP');
  // Graceful restart time of the mesh sessions (Calico's nodeMeshMaxRestartTime, a Go duration)
  // in whole seconds, as the templates use it; 0 turns graceful restart off.
  out.set(`${G}node_mesh_restart_time`, String(eff.nodeMeshRestartSeconds));
  out.set(`${G}loglevel`, eff.logSeverityScreen.toLowerCase());
  // Tabby: BFD for the node-to-node mesh (a node's own annotation wins, below).
  const meshBfd = def && bfdValue(def);
  if (meshBfd) out.set(`${G}tabby_bfd`, meshBfd);
  if (def?.spec.communities?.length) out.set(`${G}communities`, JSON.stringify(def.spec.communities));
  if (def?.spec.prefixAdvertisements?.length)
    out.set(`${G}prefix_advertisements`, JSON.stringify(def.spec.prefixAdvertisements));
  for (const f of ['serviceClusterIPs', 'serviceExternalIPs', 'serviceLoadBalancerIPs'] as const) {
    const v = def?.spec[f];
    if (v?.length)
      out.set(
        `${G}svc_${f.replace('service', '').replace('IPs', '').toLowerCase()}_ips`,
        v.map((x) => x.cidr).join(','),
      );
  }

  for (const n of input.nodes) {
    const name = n.metadata.name;
    const bgp = n.spec.bgp ?? {};
    out.set(`${H(name)}ip_addr_v4`, addrOnly(bgp.ipv4Address));
    out.set(`${H(name)}ip_addr_v6`, addrOnly(bgp.ipv6Address));
    const v4 = bgp.ipv4Address ? parseCidr(bgp.ipv4Address) : undefined;
    if (v4 && bgp.ipv4Address?.includes('/')) out.set(`${H(name)}network_v4`, formatCidr(v4));
    const v6 = bgp.ipv6Address ? parseCidr(bgp.ipv6Address) : undefined;
    if (v6 && bgp.ipv6Address?.includes('/')) out.set(`${H(name)}network_v6`, formatCidr(v6));
    if (bgp.asNumber !== undefined) out.set(`${H(name)}as_num`, String(parseAsNumber(bgp.asNumber)));
    out.set(`${H(name)}rr_cluster_id`, bgp.routeReflectorClusterID ?? '');
    const nodeBfd = bfdValue(n);
    if (nodeBfd) out.set(`${H(name)}tabby_bfd`, nodeBfd);
    const nodeCfg = input.bgpConfigurations.find((c) => c.metadata.name === `node.${name}`);
    if (nodeCfg?.spec.listenPort !== undefined) out.set(`${H(name)}listen_port`, String(nodeCfg.spec.listenPort));
    if (nodeCfg?.spec.logSeverityScreen) out.set(`${H(name)}loglevel`, nodeCfg.spec.logSeverityScreen.toLowerCase());
  }

  // A node's BGP port: its own BGPConfiguration (node.<name>) or the cluster's.
  const nodePort = (n: NodeResource) =>
    input.bgpConfigurations.find((c) => c.metadata.name === `node.${n.metadata.name}`)?.spec.listenPort ??
    eff.listenPort;
  const nodeAs = (n: NodeResource) =>
    String(n.spec.bgp?.asNumber !== undefined ? parseAsNumber(n.spec.bgp.asNumber) : eff.asNumber);
  for (const p of input.bgpPeers) {
    const local: NodeResource[] | 'global' =
      p.spec.node !== undefined
        ? input.nodes.filter((n) => n.metadata.name === p.spec.node)
        : p.spec.nodeSelector
          ? input.nodes.filter((n) => new Selector(p.spec.nodeSelector as string).matches(n.metadata.labels ?? {}))
          : 'global';
    if (p.spec.peerIP) {
      const pe = parsePeerIP(p.spec.peerIP);
      if (!pe) continue;
      const fam = pe.ip.includes(':') ? 'peer_v6' : 'peer_v4';
      const value = peerValue(p, pe.ip, pe.port, String(parseAsNumber(p.spec.asNumber ?? eff.asNumber)));
      const seg = pe.port === 179 ? pe.ip : `${pe.ip}-${pe.port}`;
      if (local === 'global') out.set(`${G}${fam}/${seg}`, value);
      else for (const n of local) out.set(`${H(n.metadata.name)}${fam}/${seg}`, value);
    } else if (p.spec.peerSelector) {
      const sel = new Selector(p.spec.peerSelector);
      const remotes = input.nodes.filter((n) => sel.matches(n.metadata.labels ?? {}));
      const locals = local === 'global' ? input.nodes : local;
      /** `host` peers with the node `target` (both families); `keep`: an existing key wins. */
      const peerWith = (host: NodeResource, target: NodeResource, keep: boolean) => {
        if (host.metadata.name === target.metadata.name) return;
        for (const [fam, addr] of [
          ['peer_v4', addrOnly(target.spec.bgp?.ipv4Address)],
          ['peer_v6', addrOnly(target.spec.bgp?.ipv6Address)],
        ] as const) {
          const key = `${H(host.metadata.name)}${fam}/${addr}`;
          if (addr && !(keep && out.has(key))) out.set(key, peerValue(p, addr, nodePort(target), nodeAs(target), true));
        }
      };
      for (const l of locals) for (const r of remotes) peerWith(l, r, false);
      // Reverse peerings (reversePeering Auto): the selected nodes peer back with the local side.
      if (p.spec.reversePeering === 'Manual') continue;
      for (const r of remotes) for (const l of locals) peerWith(r, l, true);
    }
  }

  for (const pool of input.ipPools) {
    const c = parseCidr(pool.spec.cidr);
    if (!c) continue;
    const v: Record<string, unknown> = { cidr: pool.spec.cidr };
    if (pool.spec.ipipMode && pool.spec.ipipMode !== 'Never') {
      v.ipip = 'tunl0';
      v.ipip_mode = pool.spec.ipipMode === 'CrossSubnet' ? 'cross-subnet' : 'always';
    }
    if (pool.spec.vxlanMode && pool.spec.vxlanMode !== 'Never')
      v.vxlan_mode = pool.spec.vxlanMode === 'CrossSubnet' ? 'cross-subnet' : 'always';
    v.masquerade = pool.spec.natOutgoing ?? false;
    v.ipam = true;
    v.disabled = pool.spec.disabled ?? false;
    v.disableBGPExport = pool.spec.disableBGPExport ?? false;
    v.blockSize = pool.spec.blockSize;
    out.set(`${KEY_PREFIX.pools}v${c.family}/pool/${cidrSegment(pool.spec.cidr)}`, JSON.stringify(v));
  }

  for (const f of input.bgpFilters ?? []) filterKeys(f, out);
  serviceRoutes(def?.spec, input.nodes, out);

  for (const a of input.affinities) if (a.key.startsWith(ipamKeys.allAffinities())) out.set(a.key, a.value);
  borrowedAddresses(input, out);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** BIRD's longest symbol (Calico's limit for BGPFilter function names). */
const MAX_SYMBOL = 64;

/**
 * The BGPFilter part of Calico's function names, `bgp_<name>_importFilterV4`: the name itself,
 * or when the whole would pass BIRD's 64 characters, its start, `_` and the first 16 hex digits
 * (upper case) of the name's SHA-256, as Calico's confd shortens it.
 */
function filterFunctionName(name: string): string {
  const room = MAX_SYMBOL - 'bgp__importFilterV4'.length;
  if (name.length <= room) return `bgp_${name}`;
  const hash = createHash('sha256').update(name).digest('hex').toUpperCase().slice(0, 16);
  return `bgp_${name.slice(0, room - 17)}_${hash}`;
}

/** One rule as the templates render it: Calico's fields, the prefix lengths made explicit. */
function filterRule(r: BGPFilterRule, bits: number): Record<string, unknown> {
  const v: Record<string, unknown> = { action: r.action.toLowerCase() };
  if (r.cidr !== undefined && r.matchOperator !== undefined) {
    v.cidr = r.cidr;
    v.operator = r.matchOperator;
    const c = parseCidr(r.cidr);
    if (r.prefixLength && c) {
      // Calico matches lengths from max(cidr length, min) to min(family width, max).
      v.min = Math.max(c.len, r.prefixLength.min ?? c.len);
      v.max = Math.min(bits, r.prefixLength.max ?? bits);
    }
  }
  if (r.source) v.source = r.source;
  if (r.interface) v.interface = r.interface;
  return v;
}

/**
 * `/calico/bgp/v1/global/filter_v4/<name>` (and `filter_v6`), for a BGPFilter with rules of that
 * family: `{"function":"bgp_<name>","import":[rules],"export":[rules]}`, rules in order, each
 * `{action: accept|reject, cidr, operator (Calico's Equal|NotEqual|In|NotIn), min, max, source,
 * interface}` as set. A template appends `_importFilterV4` (and so on) to the function name.
 */
function filterKeys(f: BGPFilterResource, out: Map<string, string>): void {
  for (const [family, bits, imp, exp] of [
    ['v4', 32, f.spec.importV4, f.spec.exportV4],
    ['v6', 128, f.spec.importV6, f.spec.exportV6],
  ] as const) {
    if (!imp?.length && !exp?.length) continue;
    out.set(
      `${G}filter_${family}/${f.metadata.name}`,
      JSON.stringify({
        function: filterFunctionName(f.metadata.name),
        import: (imp ?? []).map((r) => filterRule(r, bits)),
        export: (exp ?? []).map((r) => filterRule(r, bits)),
      }),
    );
  }
}

/**
 * The service ranges every node announces and programs no learned route for (`/calico/staticroutes`
 * and `/calico/rejectcidrs`): each `serviceClusterIPs` CIDR, and each `serviceExternalIPs` /
 * `serviceLoadBalancerIPs` CIDR that is not a single address.
 */
export function serviceRouteCidrs(spec: BGPConfigurationResource['spec'] | undefined): string[] {
  return [
    ...(spec?.serviceClusterIPs ?? []).map((x) => x.cidr),
    ...[...(spec?.serviceExternalIPs ?? []), ...(spec?.serviceLoadBalancerIPs ?? [])]
      .map((x) => x.cidr)
      .filter((c) => {
        const p = parseCidr(c);
        return p && p.len !== (p.family === 4 ? 32 : 128);
      }),
  ];
}

/** The node label that keeps a node from advertising the service ranges (Kubernetes' and Calico's). */
const EXCLUDE_SERVICES_LABEL = 'node.kubernetes.io/exclude-from-external-load-balancers';

/**
 * Calico's service advertisement without per-service state: every node advertises each
 * `serviceClusterIPs` CIDR, and each `serviceExternalIPs` / `serviceLoadBalancerIPs` CIDR that is
 * not a single address (single addresses go with a Service's endpoints, which Tabby does not
 * know), as `/calico/staticroutes/<a.b.c.d-len>` (`staticroutesv6` for IPv6), and keeps routes
 * learned for them out of the kernel (`/calico/rejectcidrs/...`, `rejectcidrsv6`): kube-proxy
 * serves them on every node. `/calico/bgp/v1/host/<node>/exclude_services` marks a node with the
 * label above set to "true": it advertises none of them.
 */
function serviceRoutes(
  spec: BGPConfigurationResource['spec'] | undefined,
  nodes: NodeResource[],
  out: Map<string, string>,
): void {
  const cidrs = serviceRouteCidrs(spec);
  for (const cidr of cidrs) {
    const six = cidr.includes(':') ? 'v6' : '';
    out.set(`/calico/staticroutes${six}/${cidrSegment(cidr)}`, cidr);
    out.set(`/calico/rejectcidrs${six}/${cidrSegment(cidr)}`, cidr);
  }
  if (!cidrs.length) return;
  for (const n of nodes) {
    if (n.metadata.labels?.[EXCLUDE_SERVICES_LABEL] === 'true')
      out.set(`${H(n.metadata.name)}exclude_services`, 'true');
  }
}

const AFFINITY = /^\/calico\/ipam\/v2\/host\/([^/]+)\/ipv[46]\/block\/(.+)$/;

/**
 * `/calico/bgp/v1/host/<node>/borrowed_v4/<a.b.c.d-32>` (Tabby's key): a pod address on `node`
 * outside every block the node holds (confirmed affinities), which it announces as a /32 (/128)
 * so that longest-prefix match beats the owner's block.
 */
function borrowedAddresses(input: FlatViewInput, out: Map<string, string>): void {
  if (!input.workloadEndpoints?.length) return;
  const blocks = new Map<string, ReturnType<typeof parseCidr>[]>();
  for (const a of input.affinities) {
    const m = AFFINITY.exec(a.key);
    if (!m) continue;
    let state = 'confirmed';
    try {
      state = (JSON.parse(a.value || '{}') as { state?: string }).state ?? 'confirmed';
    } catch {
      // an empty or odd value: confirmed, as Calico reads it
    }
    if (state !== 'confirmed') continue;
    const list = blocks.get(m[1] as string) ?? [];
    list.push(parseCidr((m[2] as string).replace(/-(\d+)$/, '/$1')));
    blocks.set(m[1] as string, list);
  }
  for (const w of input.workloadEndpoints) {
    const own = blocks.get(w.spec.node) ?? [];
    for (const net of w.spec.ipNetworks) {
      const c = parseCidr(net.includes('/') ? net : `${net}/${net.includes(':') ? 128 : 32}`);
      if (!c || own.some((b) => b && contains(b, c))) continue;
      const cidr = formatCidr(c);
      out.set(`${H(w.spec.node)}borrowed_v${c.family}/${cidrSegment(cidr)}`, cidr);
    }
  }
}
