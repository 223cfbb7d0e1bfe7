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
      /Mesh_198_19_0_1 from bgp_template_v4 \{\n {2}neighbor 198\.19\.0\.1 as 64512;\n {2}passive on;/,
    );
    expect(cfg).toMatch(
      /Mesh_198_19_0_10 from bgp_template_v4 \{\n {2}neighbor 198\.19\.0\.10 as 64512;\n {2}graceful restart off;[^\n]*\n\}/,
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
    const filter = cfg.slice(cfg.indexOf('filter tabby_export_to_bgp_v4'));
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
    expect(cfg).toContain('local 198.19.0.1 as 64513;');
    const own = cfg.slice(cfg.indexOf('protocol bgp Node_198_19_8_8 '));
    expect(own.slice(0, own.indexOf('\n}'))).toBe(
      [
        'protocol bgp Node_198_19_8_8 from bgp_template_v4 {',
        '  local 198.19.0.1 as 65100;',
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
    expect(cfg).toContain('local 198.19.0.1 port 1179 as 64512;');
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
  it('IPv6 peers are named with underscores for colons', () => {
    expect(protocols(renderFixture('ipv6'))).toEqual([
      'Mesh_198_19_0_2',
      'Mesh_2001_db8__2',
      'Mesh_2001_db8__a',
      'Global_2001_db8_ff__1',
    ]);
  });
});
