import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { ConfigError } from './reader.js';

const GOOD = `
routerId: 198.18.0.1
asn: 64512
listen: { address: 127.0.0.1, port: 1179 }
controlSocket: /tmp/bgpd.sock
holdTime: 9
originate:
  - prefix: 198.18.64.0/26
    blackhole: true
    communities: ["64512:100", no-export]
policies:
  - name: blocks-only
    rules:
      - match: { prefix: ["198.18.0.0/15 ge 26 le 32"] }
        set: { localPref: 200, addCommunities: ["64512:7"] }
        action: accept
    default: reject
peers:
  - address: 198.18.0.2
    asn: 64512
    routeReflectorClient: true
  - name: tor
    address: 198.18.0.254
    port: 1790
    asn: 65001
    import: blocks-only
    export: [blocks-only]
    families: [ipv4-unicast]
    maxPrefix: { limit: 1000, action: warn }
`;

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, 'bgpd.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message.split('\n');
  }
  throw new Error('expected the config to be rejected');
}

describe('parseConfig', () => {
  it('reads a full config with defaults filled in', () => {
    const c = parseConfig(GOOD, 'bgpd.yaml');
    expect(c).toMatchObject({ routerId: '198.18.0.1', asn: 64512, holdTime: 9, keepaliveTime: 3 });
    expect(c.listen).toEqual({ address: '127.0.0.1', port: 1179, enabled: true });
    expect(c.originate).toEqual([
      { prefix: '198.18.64.0/26', blackhole: true, communities: ['64512:100', 'no-export'], largeCommunities: [] },
    ]);
    expect(c.peers[0]).toMatchObject({
      name: 'Peer_198_18_0_2',
      port: 179,
      localAsn: 64512,
      holdTime: 9,
      keepaliveTime: 3,
      nextHop: 'auto',
      routeReflectorClient: true,
      families: ['ipv4-unicast', 'ipv6-unicast'],
    });
    expect(c.peers[1]).toMatchObject({ name: 'tor', import: ['blocks-only'], export: ['blocks-only'] });
    expect(c.peers[1]?.maxPrefix).toEqual({ limit: 1000, action: 'warn', restartTime: 60 });
    expect(c.policies.get('blocks-only')?.rules[0]).toEqual({
      match: { prefix: [{ prefix: '198.18.0.0/15', ge: 26, le: 32 }] },
      set: { localPref: 200, addCommunities: ['64512:7'] },
      action: 'accept',
    });
  });

  it('names file, line, column and field for each problem, all at once', () => {
    const issues = issuesOf(`routerId: 198.18.0.1
asn: 64512
peers:
  - address: 198.18.0.300
    asn: 64513
  - address: 198.18.0.3
    asn: 0
    holdtime: 5
    import: [nope]
`);
    expect(issues).toEqual([
      'bgpd.yaml:4:14: peers[0].address: "198.18.0.300" is not an IPv4 or IPv6 address',
      'bgpd.yaml:8:5: peers[1].holdtime: unknown field (did you mean "holdTime"?)',
      'bgpd.yaml:7:10: peers[1].asn: 0 is not an AS number (1 to 4294967295)',
    ]);
  });

  it.each([
    ['asn: 64512\n', 'bgpd.yaml:1:1: routerId: is required'],
    [
      'routerId: 1.2.3.4\nasn: 1\nholdTime: 2\n',
      'bgpd.yaml:3:11: holdTime: 2 is not allowed: the hold time is 0 or at least 3 seconds (RFC 4271 4.2)',
    ],
    [
      'routerId: 1.2.3.4\nasn: 1\noriginate:\n  - prefix: 198.18.64.1/26\n',
      'bgpd.yaml:4:13: originate[0].prefix: 198.18.64.1/26 has host bits set; did you mean 198.18.64.0/26?',
    ],
    [
      'routerId: 1.2.3.4\nasn: 1\noriginate:\n  - { prefix: 198.18.0.0/24, communities: ["70000:1"] }\n',
      'bgpd.yaml:4:44: originate[0].communities[0]: "70000:1" is not a community (aa:nn with each part 0..65535, or a well-known name)',
    ],
    [
      'routerId: 1.2.3.4\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 1 }\n  - { address: 10.0.0.1, asn: 2 }\n',
      'bgpd.yaml:5:16: peers[1].address: 10.0.0.1:179 is also configured as peers[0]',
    ],
    [
      'routerId: 1.2.3.4\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 2, routeReflectorClient: true }\n',
      'bgpd.yaml:4:56: peers[0].routeReflectorClient: a route-reflector client must be an iBGP peer (same AS)',
    ],
    ['routerId: 1.2.3.4\nasn: 1\nasn: 2\n', 'bgpd.yaml:3:1: Map keys must be unique'],
    [
      'routerId: 1.2.3.4\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 2, password: x }\n',
      'bgpd.yaml:4:44: peers[0].password: TCP MD5 (RFC 2385) needs kernel socket options Node.js cannot set; not supported',
    ],
  ])('rejects %j', (text, expected) => {
    expect(issuesOf(text)).toContain(expected);
  });

  it('accepts asdot AS numbers and 4-octet ASNs', () => {
    const c = parseConfig('routerId: 1.2.3.4\nasn: "1.10"\npeers:\n  - { address: "2001:db8::1", asn: 4200000000 }\n');
    expect(c.asn).toBe(65546);
    expect(c.peers[0]?.asn).toBe(4200000000);
  });
});
