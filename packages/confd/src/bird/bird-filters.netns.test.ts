import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, policyPasses } from '@tabby/bgp';
import { canUseNetns, createRunTempDir, haveCommands, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfdTemplate } from '../render.js';
import { BGPD_TEMPLATE_PATH, BIRD_TEMPLATE_PATH } from '../shipped.js';

// The golden files prove what the BIRD template writes and `bird -p` that BIRD parses it; this
// proves what it does: real BIRD (in a namespace of its own, no peer reachable) runs the rendered
// config plus probe routes, and `birdc show route filter` says which routes each peer's rendered
// import and export filter lets through. BGPFilters come before Tabby's export rules, the first
// matching rule decides, no match goes on, prefix lengths bound as Calico bounds them.

const TESTDATA = join(import.meta.dirname, 'testdata');

function render(fixture: string, template = BIRD_TEMPLATE_PATH): string {
  const fx = JSON.parse(readFileSync(join(TESTDATA, `${fixture}.json`), 'utf8')) as {
    node: string;
    keys: Record<string, string>;
  };
  return new ConfdTemplate(readFileSync(template, 'utf8'), template, {
    NODENAME: fx.node,
  }).render(
    Object.entries(fx.keys).map(([key, value]) => ({ key, value })),
    '/calico',
  );
}

/** The body of `<which> filter { ... };` in the channel of `protocol bgp NAME`. */
function peerFilter(cfg: string, protocol: string, which: 'import' | 'export'): string {
  const start = cfg.indexOf(`protocol bgp ${protocol} `);
  const block = cfg.slice(start, cfg.indexOf('\n}', start));
  const m = new RegExp(`${which} filter \\{\\n([\\s\\S]*?)\\n {4}\\};`).exec(block);
  if (!m) throw new Error(`no ${which} filter in ${protocol}`);
  return m[1] as string;
}

const PROBES = [
  '0.0.0.0/0',
  '198.18.0.0/26',
  '198.18.0.8/29',
  '198.18.1.0/24',
  '198.18.1.128/25',
  '198.18.2.0/24',
  '198.18.5.0/24',
  '198.20.0.0/16',
  '198.20.1.0/24',
  '198.21.0.0/24',
  '203.0.113.0/24',
];

describe.skipIf(!canUseNetns() || !haveCommands('bird', 'birdc'))('the BIRD template’s filters in real BIRD', () => {
  const lab = new NetLab();
  const dir = createRunTempDir();
  let ns: Netns;
  const socket = join(dir, 'bird.ctl');

  beforeAll(async () => {
    ns = await lab.netns('birdflt');
    const cfg = render('filters');
    const probe = [
      '',
      '# ---- test probes ----',
      `protocol static probe_v4 {\n  ipv4;\n${PROBES.map((p) => `  route ${p} blackhole;`).join('\n')}\n}`,
      `filter tor_import { ${peerFilter(cfg, 'Global_198_19_9_1', 'import')} }`,
      `filter tor_export { ${peerFilter(cfg, 'Global_198_19_9_1', 'export')} }`,
      '',
    ].join('\n');
    const file = join(dir, 'bird.cfg');
    writeFileSync(file, cfg + probe);
    ns.spawn(['bird', '-f', '-c', file, '-s', socket, '-P', join(dir, 'bird.pid')]);
    await waitFor('BIRD’s control socket', async () => (await show('all')).length > 0, 15_000);
  });
  afterAll(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The probe prefixes that `filter` lets through. */
  async function show(filter: string): Promise<string[]> {
    const args = filter === 'all' ? [] : ['filter', filter];
    const r = await ns.exec(['birdc', '-s', socket, 'show', 'route', 'protocol', 'probe_v4', ...args]);
    return [...r.stdout.matchAll(/^(\d+\.\d+\.\d+\.\d+\/\d+)\s/gm)].map((m) => m[1] as string).sort();
  }

  it('export: the peer’s BGPFilters in order, then Tabby’s rules (blocks whole, pools, nothing else)', async () => {
    // tor-out rejects within 198.18.1.0/24; its RemotePeers rule never matches a static route;
    // the long-named filter rejects 198.18.2.0/24; then blocks (only the whole /26) and the pool.
    expect(await show('tor_export')).toEqual(['198.18.0.0/26', '198.18.5.0/24']);
    // A peer without filters: the same Tabby rules alone.
    expect(await show('tabby_export_to_bgp_v4')).toEqual([
      '198.18.0.0/26',
      '198.18.1.0/24',
      '198.18.1.128/25',
      '198.18.2.0/24',
      '198.18.5.0/24',
    ]);
  });

  it('import: first match decides, NotIn with prefix lengths, the default accepts', async () => {
    // tor-in: accept exactly 0.0.0.0/0; reject what is not within 198.20.0.0/16 at /24 to /32
    // (198.20.0.0/16 itself is /16, so it is rejected too); accept the rest.
    expect(await show('tor_import')).toEqual(['0.0.0.0/0', '198.20.1.0/24']);
  });

  // Tabby's speaker, from the speaker template on the same keys, decides every probe as BIRD does:
  // imported routes come from a peer (source RemotePeers), exported probes are originated here.
  // 198.18.0.8/29 lies inside the node's own block: BIRD's Tabby rules export only the whole block,
  // the speaker's export the pool (it never originates such a route); that is not a filter's doing.
  it('Tabby’s speaker passes the same probes through the same peer’s filters', async () => {
    const cfg = parseConfig(render('filters', BGPD_TEMPLATE_PATH), 'filters.bgpd.yaml');
    const tor = cfg.peers.find((p) => p.name === 'Global_198_19_9_1')!;
    const through = (names: string[], local: boolean) =>
      PROBES.filter((p) => policyPasses(cfg, names, p, { local })).sort();
    expect(through(tor.import, false)).toEqual(await show('tor_import'));
    const own = '198.18.0.8/29';
    expect(through(tor.export, true).filter((p) => p !== own)).toEqual(await show('tor_export'));
  });
});
