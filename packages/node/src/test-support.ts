import type { BGPPeerResource, NodeResource } from '@tabby/datastore';

// Resources for the node package's tests.

export function node(
  name: string,
  ip: string,
  extra: { labels?: Record<string, string>; cluster?: string; asn?: number; v6?: string } = {},
): NodeResource {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, ...(extra.labels ? { labels: extra.labels } : {}) },
    spec: {
      bgp: {
        ipv4Address: `${ip}/24`,
        ...(extra.v6 ? { ipv6Address: `${extra.v6}/64` } : {}),
        ...(extra.cluster ? { routeReflectorClusterID: extra.cluster } : {}),
        ...(extra.asn ? { asNumber: extra.asn } : {}),
      },
    },
  } as NodeResource;
}
export const peer = (name: string, spec: BGPPeerResource['spec']) =>
  ({ apiVersion: 'projectcalico.org/v3', kind: 'BGPPeer', metadata: { name }, spec }) as BGPPeerResource;
