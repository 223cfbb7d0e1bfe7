import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from './load.js';
import { completePeer } from './peer-reader.js';
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
      families: ['ipv4-unicast'], // the family of its address
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

  it('an undefined alias is one line naming file, line and column', () => {
    expect(issuesOf('routerId: 1.2.3.4\nasn: *nope\n')).toEqual([
      'bgpd.yaml:2:6: undefined alias *nope: an anchor &nope must come before it',
    ]);
  });

  it('an alias bomb is one line, and nothing is expanded', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `l${i}: &l${i} [${Array(9)
          .fill(`*${i === 1 ? 'a' : `l${i - 1}`}`)
          .join(', ')}]`,
      );
    expect(issuesOf(`routerId: 1.2.3.4\nasn: 1\n${levels.join('\n')}\n`)).toEqual([
      expect.stringMatching(/^bgpd\.yaml:7:\d+: alias \*l3 expands the document beyond 10000 nodes from aliases/),
    ]);
  });

  it('a file ending with --- (an empty last document) is read', () => {
    expect(parseConfig('---\nrouterId: 1.2.3.4\nasn: 1\n---\n', 'bgpd.yaml').asn).toBe(1);
    expect(issuesOf('routerId: 1.2.3.4\nasn: 1\n---\nasn: 2\n')).toEqual([
      'bgpd.yaml:4:1: a second document (after "---"): this file holds one',
    ]);
  });

  it('an unknown top-level key does not hide the other problems', () => {
    expect(issuesOf('routerld: 1.2.3.4\nasn: 0\nholdTime: 2\n')).toEqual([
      'bgpd.yaml:1:1: routerld: unknown field; expected one of routerId, asn, listen, controlSocket, holdTime, keepaliveTime, connectRetryTime, ebgpRequiresPolicy, alwaysCompareMed, multipath, clusterId, gracefulRestart, originate, peers, policies, metricsPort, bfd',
      'bgpd.yaml:3:11: holdTime: 2 is not allowed: the hold time is 0 or at least 3 seconds (RFC 4271 4.2)',
      'bgpd.yaml:1:1: routerId: is required',
      'bgpd.yaml:2:6: asn: 0 is not an AS number (1 to 4294967295)',
    ]);
  });

  it('quotes only a short prefix of a huge value or key', () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const issues = issuesOf(
      `routerId: ${huge}\nasn: 1\n? ${huge}\n: 1\npeers:\n  - { address: 10.0.0.1, asn: 2, import: [${huge}] }\n`,
    );
    expect(issues).toHaveLength(3);
    for (const line of issues) expect(line.length).toBeLessThan(400);
    expect(issues[1]).toBe(
      `bgpd.yaml:1:11: routerId: "${'x'.repeat(40)}…" (10485760 characters) is not an IPv4 address`,
    );
  });

  it('any text gives a config or a ConfigError of one-line issues (property)', () => {
    const key = fc.constantFrom(
      'routerId',
      'asn',
      'peers',
      'policies',
      'originate',
      'listen',
      'address',
      'name',
      'rules',
      'x',
    );
    const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small', maxDepth: 5 },
        fc.constantFrom(
          '198.18.0.1',
          '1.2.3.4',
          64512,
          0,
          -1,
          1.5,
          true,
          null,
          '198.18.0.0/15 le 26',
          '64512:1',
          'x'.repeat(100),
        ),
        fc.string({ maxLength: 20 }),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(key, tie('v'), { maxKeys: 4 }),
      ),
    })).v;
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.dictionary(key, value, { maxKeys: 6 }).map((v) => stringify(v)),
      fc
        .tuple(fc.integer({ min: 0, max: GOOD.length }), fc.string({ maxLength: 8 }))
        .map(([i, ins]) => GOOD.slice(0, i) + ins + GOOD.slice(i)),
    );
    fc.assert(
      fc.property(text, (t) => {
        try {
          parseConfig(t, 'bgpd.yaml');
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          for (const line of (err as ConfigError).message.split('\n')) {
            expect(line).toMatch(/^bgpd\.yaml:\d+:\d+: /);
            expect(line.length).toBeLessThan(600);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('gives a peer without families the unicast family of its address, and refuses an empty list', () => {
    const c = parseConfig(
      'routerId: 1.2.3.4\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 1 }\n  - { address: "2001:db8::1", asn: 1 }\n' +
        '  - { address: 10.0.0.2, asn: 1, families: [ipv6-unicast, ipv4-unicast] }\n',
    );
    expect(c.peers.map((p) => p.families)).toEqual([
      ['ipv4-unicast'],
      ['ipv6-unicast'],
      ['ipv6-unicast', 'ipv4-unicast'],
    ]);
    expect(issuesOf('routerId: 1.2.3.4\nasn: 1\npeers:\n  - { address: 10.0.0.1, asn: 1, families: [] }\n')).toEqual([
      'bgpd.yaml:4:44: peers[0].families: must name at least one family (ipv4-unicast, ipv6-unicast)',
    ]);
  });

  it('fills the same defaults for a peer built in code (tabby rr’s datastore peers) as for one read from YAML', () => {
    const c = parseConfig('routerId: 1.2.3.4\nasn: 1\nholdTime: 30\npeers:\n  - { address: 10.0.0.1, asn: 1 }\n');
    expect(completePeer(c, { address: '10.0.0.1', asn: 1 })).toEqual(c.peers[0]);
    expect(
      completePeer(c, { address: '10.0.0.1' }, { port: 1790, passive: true, addPath: { send: true } }),
    ).toMatchObject({
      name: 'Peer_10_0_0_1_port_1790',
      asn: 1,
      port: 1790,
      passive: true,
      keepaliveTime: 10,
      addPath: { send: true },
    });
  });
});
