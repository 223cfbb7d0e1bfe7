import type { Family } from './ip.js';
import { KINDS, type Kind, NAMESPACED_KINDS } from './resources/types.js';

/** Calico's etcd key layout, used by every backend. */
export const KEY_PREFIX = {
  /** `/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>` */
  resources: '/calico/resources/v3/projectcalico.org/',
  /** `/calico/ipam/v2/...`: affinities, blocks, handles. */
  ipam: '/calico/ipam/v2/',
  /** confd's flat BGP view (derived, never stored). */
  bgp: '/calico/bgp/v1/',
  /** confd's flat pool view (derived, never stored). */
  pools: '/calico/v1/ipam/',
} as const;

/** The key prefix of every resource of a kind. */
export function kindPrefix(kind: Kind): string {
  return `${KEY_PREFIX.resources}${KINDS[kind]}/`;
}

/** The key of one resource. */
export function resourceKey(kind: Kind, name: string, namespace?: string): string {
  return NAMESPACED_KINDS.has(kind)
    ? `${kindPrefix(kind)}${namespace ?? 'default'}/${name}`
    : `${kindPrefix(kind)}${name}`;
}

const PLURAL_TO_KIND = new Map(Object.entries(KINDS).map(([k, p]) => [p as string, k as Kind]));

/** The kind, name and namespace of a resource key, or undefined for other keys. */
export function parseResourceKey(key: string): { kind: Kind; name: string; namespace?: string } | undefined {
  if (!key.startsWith(KEY_PREFIX.resources)) return undefined;
  const parts = key.slice(KEY_PREFIX.resources.length).split('/');
  const kind = PLURAL_TO_KIND.get(parts[0] ?? '');
  if (!kind) return undefined;
  if (NAMESPACED_KINDS.has(kind)) {
    return parts.length === 3 ? { kind, namespace: parts[1] as string, name: parts[2] as string } : undefined;
  }
  return parts.length === 2 ? { kind, name: parts[1] as string } : undefined;
}

/** `10.0.0.0/26` → `10.0.0.0-26` (the key segment Calico uses). */
export function cidrSegment(cidr: string): string {
  return cidr.replace('/', '-');
}

/** `10.0.0.0-26` → `10.0.0.0/26`. */
export function segmentCidr(seg: string): string {
  const i = seg.lastIndexOf('-');
  return `${seg.slice(0, i)}/${seg.slice(i + 1)}`;
}

/** IPAM keys (Calico's layout). */
export const ipamKeys = {
  /** Every affinity of a node for a family: `/calico/ipam/v2/host/<node>/ipv4/block/`. */
  hostAffinities: (node: string, family: Family) => `${KEY_PREFIX.ipam}host/${node}/ipv${family}/block/`,
  affinity: (node: string, family: Family, cidr: string) =>
    `${KEY_PREFIX.ipam}host/${node}/ipv${family}/block/${cidrSegment(cidr)}`,
  allAffinities: () => `${KEY_PREFIX.ipam}host/`,
  blocks: (family: Family) => `${KEY_PREFIX.ipam}assignment/ipv${family}/block/`,
  block: (family: Family, cidr: string) => `${KEY_PREFIX.ipam}assignment/ipv${family}/block/${cidrSegment(cidr)}`,
  handles: () => `${KEY_PREFIX.ipam}handle/`,
  handle: (id: string) => `${KEY_PREFIX.ipam}handle/${id}`,
} as const;
