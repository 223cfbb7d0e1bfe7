import { type BGPPeerResource, type NodeResource, validateResource } from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { SpeakerConfigRenderer } from './speaker-config.js';

// The BGPPeer fields Tabby's speaker already has a setting for, as the agent's rendered config
// carries them (what the speaker then does with each is tested in packages/bgp).

const valid = <R>(kind: string, name: string, spec: unknown) =>
  validateResource({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name }, spec }).resource as R;

function peersOf(peers: BGPPeerResource[]) {
  const { config } = new SpeakerConfigRenderer({ nodeName: 'node-a' }).render({
    nodes: [valid<NodeResource>('Node', 'node-a', { bgp: { ipv4Address: '198.19.0.1/24' } })],
    bgpConfigurations: [],
    bgpPeers: peers,
    ipPools: [],
    affinities: [],
  });
  return new Map(config.peers.map((p) => [p.address, p]));
}

describe('BGPPeer fields in the speaker config', () => {
  it('keepOriginalNextHop, nextHopMode, numAllowedLocalASNumbers, sourceAddress, keepaliveTime, maxRestartTime 0s', () => {
    const peer = (name: string, ip: string, spec: Record<string, unknown>) =>
      valid<BGPPeerResource>('BGPPeer', name, { node: 'node-a', peerIP: ip, ...spec });
    const peers = peersOf([
      peer('ebgp-keep', '198.19.8.1', { asNumber: 65001, keepOriginalNextHop: true }),
      peer('ibgp-keep', '198.19.8.2', { asNumber: 64512, keepOriginalNextHop: true }),
      peer('mode-wins', '198.19.8.3', { asNumber: 65003, keepOriginalNextHop: true, nextHopMode: 'Self' }),
      peer('mode-auto', '198.19.8.4', { asNumber: 65004, keepOriginalNextHop: true, nextHopMode: 'Auto' }),
      peer('no-source', '198.19.8.5', { asNumber: 65005, sourceAddress: 'None', keepaliveTime: '10s' }),
      peer('loops', '198.19.8.6', { asNumber: 65006, numAllowedLocalASNumbers: 3, maxRestartTime: '0s' }),
    ]);
    // Calico: the older keepOriginalNextHop keeps the next hop towards eBGP peers only;
    // nextHopMode, when set, wins.
    expect(peers.get('198.19.8.1')?.nextHop).toBe('keep');
    expect(peers.get('198.19.8.2')?.nextHop).toBe('auto');
    expect(peers.get('198.19.8.3')?.nextHop).toBe('self');
    expect(peers.get('198.19.8.4')?.nextHop).toBe('auto');
    // sourceAddress None: the kernel picks the source; UseNodeIP (the default): the node's address.
    expect(peers.get('198.19.8.5')?.localAddress).toBeUndefined();
    expect(peers.get('198.19.8.1')?.localAddress).toBe('198.19.0.1');
    expect(peers.get('198.19.8.5')?.keepaliveTime).toBe(10);
    expect(peers.get('198.19.8.6')).toMatchObject({ allowLocalAs: 3, gracefulRestart: false });
  });
});
