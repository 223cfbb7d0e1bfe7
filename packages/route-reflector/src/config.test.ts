import { ConfigError, parseConfig } from '@tabby/bgp';
import type { NodeResource } from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { buildSpeakerConfig, nodePeers, speakerBase } from './clients.js';
import { parseRrConfig } from './config.js';

function issues(text: string): string[] {
  try {
    parseRrConfig(text, 'rr.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return err.message.split('\n');
    throw err;
  }
  return [];
}

const base = 'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\n';

function node(name: string, spec: NonNullable<NodeResource['spec']['bgp']>, labels?: Record<string, string>) {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: { bgp: spec },
  } satisfies NodeResource;
}

describe('parseRrConfig', () => {
  it('builds client and non-client peers with the reflector AS and cluster ID', () => {
    const c = parseRrConfig(
      `${base}holdTime: 9\nconnectRetryTime: 2\nclientDefaults: { addPath: { send: true, select: all } }\n` +
        'clients:\n  - { address: 198.18.0.1, name: bird }\n  - { address: 198.18.0.2, addPath: { send: false } }\n' +
        'nonClients:\n  - { address: 198.18.0.11, holdTime: 30 }\n',
      'rr.yaml',
    );
    const s = buildSpeakerConfig(c, []);
    expect(s.clusterId).toBe('198.18.0.100');
    expect(s.peers.map((p) => [p.name, p.routeReflectorClient, p.asn, p.addPath.send])).toEqual([
      ['bird', true, 64512, true],
      ['Peer_198_18_0_2', true, 64512, false],
      ['Peer_198_18_0_11', false, 64512, false],
    ]);
    expect(s.peers[0]).toMatchObject({
      holdTime: 9,
      keepaliveTime: 3,
      connectRetryTime: 2,
      families: ['ipv4-unicast'],
    });
    expect(s.peers[0]!.addPath.select).toBe('all');
    expect(s.peers[2]).toMatchObject({ holdTime: 30, keepaliveTime: 10 });
    expect(s.gracefulRestart.enabled).toBe(true);
  });

  it('reports every problem with file, line and field', () => {
    const got = issues(
      'routerId: 198.18.0.10\nasn: 64512\nclients:\n  - { address: 198.18.0.1, asn: 65001 }\n' +
        '  - { address: 198.18.0.1 }\nnonClients:\n  - { adress: 198.18.0.3 }\ndatastore: { nodeSelector: "" }\n',
    );
    expect(got).toEqual([
      'rr.yaml:1:1: clusterId: is required',
      expect.stringMatching(/^rr\.yaml:4:33: clients\[0\]\.asn: 65001 differs from the reflector's AS 64512/),
      'rr.yaml:5:16: clients[1].address: 198.18.0.1:179 is also configured as clients[0]',
      expect.stringMatching(/^rr\.yaml:7:7: nonClients\[0\]\.adress: unknown field/),
      'rr.yaml:7:5: nonClients[0].address: is required',
      expect.stringMatching(/^rr\.yaml:8:28: datastore\.nodeSelector: is empty: an unquoted !has\(x\)/),
    ]);
  });

  it('rejects a bad cluster ID and a bad selector', () => {
    const got = issues(
      'routerId: 198.18.0.10\nasn: 64512\nclusterId: 100\ndatastore: { nodeSelector: "rr == \'a\' &&" }\n',
    );
    expect(got[0]).toMatch(/^rr\.yaml:3:12: clusterId: must be a string/);
    expect(got[1]).toMatch(/^rr\.yaml:4:28: datastore\.nodeSelector: .* at column \d+/);
  });
});

describe('one config model with tabby bgpd', () => {
  it('reads peers with the speaker’s loader: the same defaults as a bgpd config with the same settings', () => {
    const rr = parseRrConfig(
      `${base}holdTime: 30\ngracefulRestart: { restartTime: 60 }\nclients:\n  - { address: 198.18.0.1 }\n  - { address: "2001:db8::1" }\n` +
        'nonClients:\n  - { address: 198.18.0.11, sendHoldTime: 600, maxPrefix: { limit: 100 } }\n',
      'rr.yaml',
    );
    const bgpd = parseConfig(
      `${base}holdTime: 30\ngracefulRestart: { restartTime: 60 }\npeers:\n` +
        '  - { address: 198.18.0.1, asn: 64512, routeReflectorClient: true }\n' +
        '  - { address: "2001:db8::1", asn: 64512, routeReflectorClient: true }\n' +
        '  - { address: 198.18.0.11, asn: 64512, sendHoldTime: 600, maxPrefix: { limit: 100 } }\n',
      'bgpd.yaml',
    );
    expect(buildSpeakerConfig(rr, []).peers).toEqual(bgpd.peers);
    expect(rr.peers.map((p) => p.families)).toEqual([['ipv4-unicast'], ['ipv6-unicast'], ['ipv4-unicast']]);
    const { source: _rs, ...rrTop } = speakerBase(rr);
    const { source: _bs, ...bgpdTop } = { ...bgpd, peers: [] };
    expect(rrTop).toEqual(bgpdTop);
  });

  it('applies clientDefaults to clients only, listed or from the datastore', () => {
    const c = parseRrConfig(
      `${base}clientDefaults: { port: 1790, passive: true, families: [ipv4-unicast, ipv6-unicast], addPath: { send: true } }\n` +
        'clients:\n  - { address: 198.18.0.1 }\nnonClients:\n  - { address: 198.18.0.11 }\n' +
        'datastore: { nodeSelector: all() }\n',
      'rr.yaml',
    );
    expect(c.peers.map((p) => [p.name, p.port, p.passive, p.families.length, p.addPath.send])).toEqual([
      ['Peer_198_18_0_1_port_1790', 1790, true, 2, true],
      ['Peer_198_18_0_11', 179, false, 1, false],
    ]);
    const r = nodePeers(c, [node('n5', { ipv4Address: '198.18.0.5/24', ipv6Address: '2001:db8::5/64' })]);
    expect(r.peers.map((p) => [p.name, p.port, p.passive, p.families])).toEqual([
      ['Node_198_18_0_5', 1790, true, ['ipv4-unicast', 'ipv6-unicast']],
      ['Node_2001_db8__5', 1790, true, ['ipv6-unicast']],
    ]);
  });

  it('refuses what a reflector does not do, in the speaker’s error format', () => {
    expect(
      issues(
        `${base}policies: []\noriginate: []\nclients:\n  - { address: 198.18.0.1, import: [x], routeReflectorClient: false, importTable: true }\n`,
      ).map((l) => l.replace(/; expected one of .*/, '')),
    ).toEqual([
      'rr.yaml:4:1: policies: unknown field',
      'rr.yaml:5:1: originate: unknown field',
      'rr.yaml:7:28: clients[0].import: unknown field',
      'rr.yaml:7:41: clients[0].routeReflectorClient: unknown field',
      'rr.yaml:7:70: clients[0].importTable: unknown field',
    ]);
  });
});

describe('nodePeers (which nodes become clients)', () => {
  const c = parseRrConfig(
    `${base}clients:\n  - { address: 198.18.0.7 }\ndatastore: { nodeSelector: "has(bgp)" }\n`,
    'rr.yaml',
  );

  it('makes clients of plain nodes and of reflectors in other clusters, non-clients of same-cluster reflectors', () => {
    const r = nodePeers(c, [
      node('n2', { ipv4Address: '198.18.0.2/24' }, { bgp: 'y' }),
      node('n1', { ipv4Address: '198.18.0.1/24', ipv6Address: '2001:db8::1/64' }, { bgp: 'y' }),
      node('rr-b', { ipv4Address: '198.18.0.12/24', routeReflectorClusterID: '198.18.0.200' }, { bgp: 'y' }),
      node('rr-a2', { ipv4Address: '198.18.0.11/24', routeReflectorClusterID: '198.18.0.100' }, { bgp: 'y' }),
      node('unlabelled', { ipv4Address: '198.18.0.3/24' }),
      node('other-as', { ipv4Address: '198.18.0.4/24', asNumber: 65001 }, { bgp: 'y' }),
      node('self', { ipv4Address: '198.18.0.10/24', routeReflectorClusterID: '198.18.0.100' }, { bgp: 'y' }),
      node('listed', { ipv4Address: '198.18.0.7/24' }, { bgp: 'y' }),
      node('no-address', {}, { bgp: 'y' }),
    ]);
    expect(r.peers.map((p) => [p.name, p.address, p.routeReflectorClient, p.families])).toEqual([
      ['Node_198_18_0_1', '198.18.0.1', true, ['ipv4-unicast']],
      ['Node_198_18_0_11', '198.18.0.11', false, ['ipv4-unicast']],
      ['Node_198_18_0_12', '198.18.0.12', true, ['ipv4-unicast']],
      ['Node_198_18_0_2', '198.18.0.2', true, ['ipv4-unicast']],
      ['Node_2001_db8__1', '2001:db8::1', true, ['ipv6-unicast']],
    ]);
    expect(r.skipped.map((s) => s.node).sort()).toEqual(['listed', 'no-address', 'other-as', 'self']);
  });

  it('is deterministic: the same nodes in any order give the same peers', () => {
    const ns = [
      node('a', { ipv4Address: '198.18.0.5/24' }, { bgp: '' }),
      node('b', { ipv4Address: '198.18.0.6/24' }, { bgp: '' }),
    ];
    expect(JSON.stringify(nodePeers(c, ns))).toBe(JSON.stringify(nodePeers(c, [...ns].reverse())));
  });
});
