import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Speaker } from '../speaker.js';
import { until } from '../test-support.js';
import { MemoryNetwork } from '../transport.js';
import type { NetworkShowResult } from './api.js';
import { ControlHandler } from './handler.js';
import { checkNetworkCommunities, checkNetworkPrefix, RuntimeNetworks } from './networks.js';
import { ControlError } from './protocol.js';

/** The error code a call throws ('' when it does not throw a ControlError). */
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    if (err instanceof ControlError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return '';
}

describe('network add/delete arguments', () => {
  it('a prefix must be canonical, with a length', () => {
    expect(checkNetworkPrefix('198.18.70.0/24')).toBe('198.18.70.0/24');
    expect(checkNetworkPrefix('2001:DB8:70::/48')).toBe('2001:db8:70::/48');
    expect(codeOf(() => checkNetworkPrefix('198.18.70.1/24'))).toBe(
      'BAD_PREFIX: 198.18.70.1/24 has host bits set; did you mean 198.18.70.0/24?',
    );
    expect(codeOf(() => checkNetworkPrefix('198.18.70.1'))).toMatch(/^BAD_PREFIX: "198.18.70.1" is not a prefix/);
    expect(codeOf(() => checkNetworkPrefix('198.18.300.0/24'))).toMatch(/^BAD_PREFIX/);
    expect(codeOf(() => checkNetworkPrefix('x'.repeat(200)))).toMatch(/^BAD_PREFIX: "x{61}\.\.\." is not/);
  });

  it('communities: standard, well-known names and large ones, deduplicated; anything else is one line', () => {
    expect(checkNetworkCommunities(['64512:1', 'no-export', '64512:1', '4200000000:1:2'])).toEqual({
      communities: ['64512:1', 'no-export'],
      large: ['4200000000:1:2'],
    });
    for (const bad of ['65536:1', '1:2:4294967296', 'no_export', '', '1:2:3:4']) {
      const e = codeOf(() => checkNetworkCommunities([bad]));
      expect(e).toMatch(/^BAD_COMMUNITY: ".*" is not a community: aa:nn/);
      expect(e).not.toContain('\n');
    }
    expect(codeOf(() => checkNetworkCommunities(Array.from({ length: 65 }, (_, i) => `1:${i}`)))).toBe(
      'BAD_COMMUNITY: 65 communities; the limit is 64',
    );
  });
});

describe('network add, delete, flush and show on a running speaker', () => {
  const net = new MemoryNetwork();
  const configA = (extra: string) => `routerId: 198.18.0.1
asn: 64512
listen: { address: 198.18.0.1, port: 179 }
originate:
  - { prefix: 198.18.64.0/26, communities: ["64512:100"] }
${extra}peers:
  - { name: b, address: 198.18.0.2, asn: 64512 }
`;
  let nextConfig = configA('');
  const a = new Speaker(parseConfig(configA(''), 'a.yaml'), { transport: net.transport('198.18.0.1') });
  const b = new Speaker(
    parseConfig(`routerId: 198.18.0.2
asn: 64512
listen: { address: 198.18.0.2, port: 179 }
peers:
  - { name: a, address: 198.18.0.1, asn: 64512 }
`),
    { transport: net.transport('198.18.0.2') },
  );
  const handler = new ControlHandler(a, { version: 'test', reload: () => parseConfig(nextConfig, 'a.yaml') });
  const ask = (command: string, args: Record<string, unknown> = {}) => handler.handle(command, args);
  const bHandler = new ControlHandler(b, { version: 'test' });
  const atB = (prefix: string) => bHandler.rib({ prefix }).routes.find((r) => r.best);
  const show = () => ask('network show') as NetworkShowResult;

  beforeAll(async () => {
    await Promise.all([a.start(), b.start()]);
    await until('the config network at b', () => atB('198.18.64.0/26') !== undefined);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  it('add announces the prefix with its communities; the peer sees it', async () => {
    expect(
      ask('network add', { prefix: '198.18.70.0/24', communities: ['64512:7', '64512:1:2', 'no-export'] }),
    ).toEqual({ prefix: '198.18.70.0/24', action: 'added', runtime: 1 });
    await until('runtime network at b', () => atB('198.18.70.0/24') !== undefined);
    expect(atB('198.18.70.0/24')).toMatchObject({
      communities: ['64512:7', 'NO_EXPORT'],
      large_communities: ['64512:1:2'],
    });
    expect(show()).toEqual({
      networks: [
        {
          prefix: '198.18.64.0/26',
          origin: 'config',
          communities: ['64512:100'],
          large_communities: [],
          blackhole: false,
        },
        {
          prefix: '198.18.70.0/24',
          origin: 'runtime',
          communities: ['64512:7', 'no-export'],
          large_communities: ['64512:1:2'],
          blackhole: false,
        },
      ],
      runtime: 1,
      runtime_limit: 10_000,
    });
  });

  it('add again changes the communities; delete withdraws it from the peer', async () => {
    expect(ask('network add', { prefix: '198.18.70.0/24', communities: ['64512:8'] })).toMatchObject({
      action: 'changed',
      runtime: 1,
    });
    await until('changed communities at b', () => atB('198.18.70.0/24')?.communities[0] === '64512:8');
    expect(ask('network delete', { prefix: '198.18.70.0/24' })).toEqual({
      prefix: '198.18.70.0/24',
      action: 'deleted',
      runtime: 0,
    });
    await until('withdrawn at b', () => atB('198.18.70.0/24') === undefined);
  });

  it('refuses bad arguments and the config file networks with one line and a stable code', () => {
    const err = (command: string, args: Record<string, unknown>) => codeOf(() => ask(command, args));
    expect(err('network add', { prefix: '198.18.70.0/33' })).toMatch(/^BAD_PREFIX: /);
    expect(err('network add', { prefix: '198.18.70.0/24', communities: ['64512:99999'] })).toMatch(/^BAD_COMMUNITY: /);
    expect(err('network add', { prefix: '198.18.70.0/24', communities: '64512:1' })).toMatch(
      /^BAD_REQUEST: network add: "communities" must be a list/,
    );
    expect(err('network add', {})).toBe('BAD_REQUEST: network add: "prefix" is required');
    expect(err('network delete', { prefix: '198.18.64.0/26' })).toBe(
      'NETWORK_CONFIGURED: 198.18.64.0/26 comes from the config file (a.yaml): remove it there and reload',
    );
    expect(err('network add', { prefix: '198.18.64.0/26' })).toMatch(
      /^NETWORK_CONFIGURED: 198.18.64.0\/26 is announced/,
    );
    expect(err('network delete', { prefix: '198.18.71.0/24' })).toBe(
      'UNKNOWN_NETWORK: 198.18.71.0/24 was not added with network add (see network show)',
    );
    expect(atB('198.18.64.0/26')).toBeDefined();
  });

  it('a reload keeps runtime networks; a config that takes one over makes it a config network', async () => {
    ask('network add', { prefix: '198.18.72.0/24' });
    ask('network add', { prefix: '2001:db8:72::/48' });
    ask('reload');
    expect(show().networks.map((n) => `${n.prefix} ${n.origin}`)).toEqual([
      '198.18.64.0/26 config',
      '198.18.72.0/24 runtime',
      '2001:db8:72::/48 runtime',
    ]);
    nextConfig = configA('  - { prefix: 198.18.72.0/24, communities: ["64512:72"] }\n');
    ask('reload');
    expect(show()).toMatchObject({ runtime: 1 });
    expect(codeOf(() => ask('network delete', { prefix: '198.18.72.0/24' }))).toMatch(/^NETWORK_CONFIGURED/);
    await until('config communities at b', () => atB('198.18.72.0/24')?.communities[0] === '64512:72');
    expect(ask('network flush')).toEqual({ withdrawn: ['2001:db8:72::/48'] });
    expect(show().networks.map((n) => n.origin)).toEqual(['config', 'config']);
  });

  it('holds at most its limit of runtime networks', () => {
    const few = new RuntimeNetworks(a, 2);
    few.add('198.18.80.0/24', []);
    few.add('198.18.81.0/24', []);
    expect(codeOf(() => few.add('198.18.82.0/24', []))).toMatch(/^TOO_MANY_NETWORKS: 2 runtime networks already/);
    expect(few.add('198.18.81.0/24', ['1:1']).action).toBe('changed');
    expect(few.flush()).toEqual(['198.18.80.0/24', '198.18.81.0/24']);
  });
});
