import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfdTemplate } from '../render.js';
import { BIRD_TEMPLATE_PATH } from '../shipped.js';

// Golden files: testdata/<fixture>.json holds the node name and the flat keys; the expected
// output is testdata/<fixture>.bird.cfg. Run with UPDATE_GOLDEN=1 to rewrite them after a
// deliberate template change, then review the diff.
const TESTDATA = join(import.meta.dirname, 'testdata');
const BIRD = '/usr/sbin/bird';
const fixtures = readdirSync(TESTDATA)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

interface Fixture {
  node: string;
  keys: Record<string, string>;
}

function renderFixture(name: string): string {
  const fx = JSON.parse(readFileSync(join(TESTDATA, `${name}.json`), 'utf8')) as Fixture;
  const tpl = new ConfdTemplate(readFileSync(BIRD_TEMPLATE_PATH, 'utf8'), 'bird.cfg.template', { NODENAME: fx.node });
  return tpl.render(
    Object.entries(fx.keys).map(([key, value]) => ({ key, value })),
    '/calico',
  );
}

const work = mkdtempSync(join(tmpdir(), 'tabby-bird-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('BIRD template golden files', () => {
  it('has fixtures', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(8);
  });
  it.each(fixtures)('%s renders byte-for-byte as the golden file', (name) => {
    const out = renderFixture(name);
    const golden = join(TESTDATA, `${name}.bird.cfg`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, out);
    expect(out).toBe(readFileSync(golden, 'utf8'));
  });
  it.each(fixtures)('%s renders identically twice (no reload without a change)', (name) => {
    expect(renderFixture(name)).toBe(renderFixture(name));
  });
});

const haveBird = existsSync(BIRD);
if (!haveBird && process.env.CI === 'true') throw new Error(`${BIRD} is required in CI for the BIRD parser tests`);

describe.skipIf(!haveBird)('BIRD accepts the rendered config (bird -p -c)', () => {
  it.each(fixtures)('%s', (name) => {
    const file = join(work, `${name}.cfg`);
    writeFileSync(file, renderFixture(name));
    let output = '';
    try {
      execFileSync(BIRD, ['-p', '-c', file], { stdio: 'pipe' });
    } catch (e) {
      output = String((e as { stderr?: Buffer }).stderr ?? e);
    }
    expect(output).toBe('');
  });
  it('the parser check is able to fail', () => {
    const file = join(work, 'broken.cfg');
    writeFileSync(file, renderFixture('mesh').replace('router id', 'router idd'));
    expect(() => execFileSync(BIRD, ['-p', '-c', file], { stdio: 'pipe' })).toThrow();
  });
});

describe('BIRD template semantics', () => {
  const protocols = (cfg: string) => [...cfg.matchAll(/^protocol bgp (\S+)/gm)].map((m) => m[1]);
  it('mesh: peers every other node with IPv4, passive only towards lower addresses; restart time 0 turns GR off', () => {
    const cfg = renderFixture('mesh');
    expect(protocols(cfg)).toEqual(['Mesh_198_19_0_1', 'Mesh_198_19_0_10']);
    expect(cfg).toMatch(
      /Mesh_198_19_0_1 from bgp_template_v4 \{\n {2}source address 198\.19\.0\.9;\n {2}neighbor 198\.19\.0\.1 as 64512;\n {2}passive on;/,
    );
    expect(cfg).toMatch(
      /Mesh_198_19_0_10 from bgp_template_v4 \{\n {2}source address 198\.19\.0\.9;\n {2}neighbor 198\.19\.0\.10 as 64512;\n {2}graceful restart off;[^\n]*\n\}/,
    );
    expect(cfg).toContain('route 198.18.0.64/26 blackhole;');
    expect(cfg).toContain('route 198.18.1.0/26 blackhole;');
    expect(cfg).not.toContain('198.18.2.0/26');
    const fn = (name: string) =>
      cfg.slice(cfg.indexOf(`function ${name}()`), cfg.indexOf('\n}', cfg.indexOf(`function ${name}()`)));
    expect(fn('tabby_no_export_v4')).toContain('if ( net ~ [ 198.21.0.0/16+ ] ) then reject;');
    expect(fn('tabby_pools_v4')).toContain('if ( net ~ [ 198.18.0.0/16+ ] ) then accept;');
    expect(fn('tabby_pools_v4')).toContain('if ( net ~ [ 198.20.0.0/16+ ] ) then accept;');
    expect(fn('tabby_pools_v4')).not.toContain('198.21.0.0/16');
    const filter = cfg.slice(cfg.indexOf('function tabby_export_v4()'));
    expect(filter.indexOf('tabby_no_export_v4()')).toBeLessThan(filter.indexOf('tabby_own_blocks_v4()'));
  });
  it('route reflector: no mesh, clients by cluster ID', () => {
    const cfg = renderFixture('route-reflector');
    expect(protocols(cfg)).toEqual(['Global_198_19_9_1', 'Node_198_19_0_1', 'Node_198_19_0_2', 'Node_198_19_1_2']);
    const block = (n: string) =>
      cfg.slice(cfg.indexOf(`protocol bgp ${n} `), cfg.indexOf('\n}', cfg.indexOf(`protocol bgp ${n} `)));
    expect(block('Node_198_19_0_1')).toContain('rr client;');
    // Peer values without rr_cluster_id: the cluster comes from the peer's host keys.
    expect(block('Node_198_19_0_2')).toContain('rr client;');
    expect(block('Node_198_19_1_2')).not.toContain('rr client');
    expect(block('Global_198_19_9_1')).not.toContain('rr client');
  });
  it('route reflector client: meshes only with non-reflectors', () => {
    expect(protocols(renderFixture('route-reflector-client'))).toEqual([
      'Mesh_198_19_0_2',
      'Node_198_19_1_1',
      'Node_198_19_1_2',
    ]);
  });
  it('peers: a node peering that duplicates a global one is skipped', () => {
    const cfg = renderFixture('peers');
    expect(protocols(cfg)).toEqual(['Global_198_19_9_1', 'Global_198_19_9_2', 'Node_198_19_8_7', 'Node_198_19_8_8']);
    expect(cfg).toContain('local as 64513;');
    const own = cfg.slice(cfg.indexOf('protocol bgp Node_198_19_8_8 '));
    expect(own.slice(0, own.indexOf('\n}'))).toBe(
      [
        'protocol bgp Node_198_19_8_8 from bgp_template_v4 {',
        '  local as 65100;',
        '  source address 198.19.0.1;',
        '  neighbor 198.19.8.8 as 65020;',
        '  allow local as 2;',
        '  ipv4 {',
        '    next hop self;',
        '  };',
      ].join('\n'),
    );
    expect(cfg).toContain('# Node-to-node mesh disabled.');
  });
  it('custom ports name the session and set neighbor and local ports', () => {
    const cfg = renderFixture('custom-port');
    expect(protocols(cfg)).toEqual([
      'Mesh_198_19_0_2_port_1179',
      'Mesh_198_19_0_3_port_1180',
      'Global_198_19_9_1',
      'Global_198_19_9_1_port_1790',
    ]);
    expect(cfg).toContain('local port 1179 as 64512;');
    expect(cfg).toContain('source address 198.19.0.1;');
    expect(cfg).toContain('neighbor 198.19.0.3 port 1180 as 64512;');
  });
  it('an IPv6-only node has no IPv4 section and uses its router ID', () => {
    const cfg = renderFixture('ipv6-only');
    expect(cfg).toContain('router id 198.19.255.3;');
    expect(cfg).not.toContain('_v4');
    expect(protocols(cfg)).toEqual(['Mesh_2001_db8__1', 'Mesh_2001_db8__2', 'Global_2001_db8_ff__1']);
    expect(cfg.match(/passive on;/g)).toHaveLength(2);
    expect(cfg).toContain('route 2001:db8:1::40/122 blackhole;');
  });
  it('communities given by name are resolved; an unknown name fails the render', () => {
    const cfg = renderFixture('communities');
    expect(cfg).toContain('bgp_community.add((64512, 300));');
    expect(cfg).toContain('bgp_large_community.add((64512, 4, 5));');
    const fx = JSON.parse(readFileSync(join(TESTDATA, 'communities.json'), 'utf8')) as Fixture;
    fx.keys['/calico/bgp/v1/global/prefix_advertisements'] = JSON.stringify([
      { cidr: '198.18.0.0/16', communities: ['nope'] },
    ]);
    const tpl = new ConfdTemplate(readFileSync(BIRD_TEMPLATE_PATH, 'utf8'), 'bird.cfg.template', { NODENAME: fx.node });
    expect(() =>
      tpl.render(
        Object.entries(fx.keys).map(([key, value]) => ({ key, value })),
        '/calico',
      ),
    ).toThrow('no community named "nope"');
  });
  const protocolBlock = (cfg: string, n: string) =>
    cfg.slice(cfg.indexOf(`protocol bgp ${n} `), cfg.indexOf('\n}', cfg.indexOf(`protocol bgp ${n} `)));
  it('BGPFilters: functions as Calico names them, called in the peer’s order before Tabby’s export rules', () => {
    const cfg = renderFixture('filters');
    expect(cfg).toContain("function 'bgp_tor-out_exportFilterV4'()");
    expect(cfg).toContain("function 'bgp_v6-only_importFilterV6'()");
    expect(cfg).not.toContain("'bgp_v6-only_importFilterV4'");
    const tor = protocolBlock(cfg, 'Global_198_19_9_1');
    expect(tor).toContain(
      [
        '    export filter {',
        "      'bgp_tor-out_exportFilterV4'();",
        "      'bgp_a-very-long-bgp-filter-name-_665327A11CB7BF0A_exportFilterV4'();",
        '      tabby_export_v4();',
        '    };',
      ].join('\n'),
    );
    // "missing" names no BGPFilter: left out, as Calico does.
    expect(tor).not.toContain('missing');
    // tor-out has no IPv6 rules: only v6-only applies on the IPv6 peer.
    const tor6 = protocolBlock(cfg, 'Global_2001_db8_ff__1');
    expect(tor6).toContain("import filter {\n      'bgp_v6-only_importFilterV6'();\n      accept;");
    expect(tor6).not.toContain('tor-out');
    // v6-only has no IPv4 rules: the IPv4 iBGP peer keeps the template's filters.
    expect(protocolBlock(cfg, 'Node_198_19_8_8')).not.toContain('filter');
  });
  it('next hop, source address, restart and keepalive times per peer', () => {
    const cfg = renderFixture('filters');
    // keepOriginalNextHop keeps the next hop towards eBGP peers only; nextHopMode wins over it.
    expect(protocolBlock(cfg, 'Node_198_19_8_10')).toContain('next hop keep;');
    expect(protocolBlock(cfg, 'Node_198_19_8_8')).not.toContain('next hop');
    const ebgp = protocolBlock(cfg, 'Node_198_19_8_9');
    expect(ebgp).not.toContain('next hop');
    // sourceAddress None: no source address; maxRestartTime 5m; keepaliveTime 10s.
    expect(ebgp).not.toContain('source address');
    expect(ebgp).toContain('graceful restart time 300;');
    expect(ebgp).toContain('keepalive time 10;');
    expect(protocolBlock(cfg, 'Node_198_19_8_10')).toContain('source address 198.19.0.1;');
  });
  it('services: every node announces the ranges (not single addresses) and programs none of them', () => {
    const cfg = renderFixture('services');
    const fn = cfg.slice(
      cfg.indexOf('function tabby_services_v4()'),
      cfg.indexOf('\n}', cfg.indexOf('function tabby_services_v4()')),
    );
    expect(fn.split('\n').slice(2)).toEqual([
      '  if ( net ~ [ 198.18.128.0/20+ ] ) then accept;',
      '  if ( net ~ [ 198.19.200.0/24+ ] ) then accept;',
      '  if ( net ~ [ 198.19.202.0/26+ ] ) then accept;',
    ]);
    expect(cfg).not.toContain('198.19.201.7');
    expect(cfg).toContain('protocol static static_services_v4 {\n  ipv4;\n  route 198.18.128.0/20 blackhole;');
    expect(cfg).toContain('protocol static static_services_v6 {\n  ipv6;\n  route fd00:96::/112 blackhole;');
    expect(cfg).toContain(
      '  if ( net ~ [ 198.18.128.0/20+ ] ) then reject;\n  if ( net ~ [ 198.19.200.0/24+ ] ) then reject;',
    );
    const exp = cfg.slice(cfg.indexOf('function tabby_export_v4()'));
    expect(exp.indexOf('tabby_own_blocks_v4()')).toBeLessThan(exp.indexOf('tabby_services_v4()'));
    expect(exp.indexOf('tabby_services_v4()')).toBeLessThan(exp.indexOf('tabby_pools_v4()'));
  });
  it('services: an excluded node announces none; a reflector passes on load balancer and external ranges', () => {
    const cfg = renderFixture('services-reflector');
    expect(cfg).not.toContain('static_services_v4');
    expect(cfg).not.toContain('198.18.128.0/20+ ] ) then accept');
    expect(cfg).toContain('if ( net ~ [ 198.19.202.0/26+ ] ) then accept; # a reflector');
    expect(cfg).toContain('if ( net ~ [ 198.18.128.0/20+ ] ) then reject;');
  });
  it('IPv6 peers are named with underscores for colons', () => {
    expect(protocols(renderFixture('ipv6'))).toEqual([
      'Mesh_198_19_0_2',
      'Mesh_2001_db8__2',
      'Mesh_2001_db8__a',
      'Global_2001_db8_ff__1',
    ]);
  });
});
