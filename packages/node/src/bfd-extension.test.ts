import {
  type BGPConfigurationResource,
  type BGPPeerResource,
  type NodeResource,
  ValidationError,
  validateResource,
} from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { SpeakerConfigRenderer } from './speaker-config.js';

// Tabby's BFD extension: the `tabby.dev/bfd` annotation on a Calico BGPConfiguration (the mesh),
// Node (its own mesh sessions) or BGPPeer (that peer's sessions). Calico ignores annotations, so
// the manifests stay valid Calico; Tabby checks the value on apply and renders it as `bfd:`.

const valid = <R>(kind: string, name: string, spec: unknown, bfd?: string) =>
  validateResource({
    apiVersion: 'projectcalico.org/v3',
    kind,
    metadata: { name, ...(bfd !== undefined ? { annotations: { 'tabby.dev/bfd': bfd } } : {}) },
    spec,
  }).resource as R;

const node = (name: string, ip: string, bfd?: string) =>
  valid<NodeResource>('Node', name, { bgp: { ipv4Address: `${ip}/24` } }, bfd);

function render(
  nodeName: string,
  nodes: NodeResource[],
  conf: BGPConfigurationResource[],
  peers: BGPPeerResource[] = [],
) {
  const { config } = new SpeakerConfigRenderer({ nodeName }).render({
    nodes,
    bgpConfigurations: conf,
    bgpPeers: peers,
    ipPools: [],
    affinities: [],
  });
  return new Map(config.peers.map((p) => [p.address, p.bfd ?? null]));
}

describe('the tabby.dev/bfd extension', () => {
  const mesh = valid<BGPConfigurationResource>(
    'BGPConfiguration',
    'default',
    {},
    'minRx=100ms,minTx=100ms,multiplier=3',
  );
  const fast = { minRx: 100, minTx: 100, multiplier: 3, passive: false };

  it('on the default BGPConfiguration: every mesh session; a Node annotation wins for its own sessions', () => {
    const nodes = [node('a', '198.19.0.1'), node('b', '198.19.0.2'), node('c', '198.19.0.3', 'false')];
    expect(render('a', nodes, [mesh])).toEqual(
      new Map([
        ['198.19.0.2', fast],
        ['198.19.0.3', fast],
      ]),
    );
    expect(render('c', nodes, [mesh])).toEqual(
      new Map([
        ['198.19.0.1', null],
        ['198.19.0.2', null],
      ]),
    );
    expect(render('a', nodes, [])).toEqual(
      new Map([
        ['198.19.0.2', null],
        ['198.19.0.3', null],
      ]),
    );
  });

  it("on a BGPPeer: that peer's sessions only", () => {
    const tor = valid<BGPPeerResource>(
      'BGPPeer',
      'tor',
      { peerIP: '198.19.8.1', asNumber: 65001 },
      'minRx=0.2s,multiplier=4,passive=true',
    );
    const other = valid<BGPPeerResource>('BGPPeer', 'other', { peerIP: '198.19.8.2', asNumber: 65002 });
    const peers = render('a', [node('a', '198.19.0.1')], [], [tor, other]);
    expect(peers.get('198.19.8.1')).toEqual({ minRx: 200, minTx: 300, multiplier: 4, passive: true });
    expect(peers.get('198.19.8.2')).toBeNull();
  });

  it('a bad value is refused on apply with one line naming the annotation', () => {
    let err: unknown;
    try {
      valid('BGPPeer', 'tor', { peerIP: '198.19.8.1', asNumber: 65001 }, 'minRx=1ms');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as Error).message).toContain('metadata.annotations.tabby.dev/bfd');
    expect((err as Error).message).toContain('minRx="1ms" is not an interval from 10 to 60000 ms');
    // Other kinds ignore it, as Calico does.
    expect(() => valid('IPPool', 'p', { cidr: '198.19.64.0/18' }, 'nonsense')).not.toThrow();
  });
});
