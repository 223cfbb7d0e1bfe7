import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@tabby/bgp';
import { describe, expect, it } from 'vitest';
import { ConfdTemplate } from '../render.js';
import { BGPD_TEMPLATE_PATH } from '../shipped.js';

// The speaker template and the BIRD template implement the same peering rules: for every BIRD
// golden fixture, the Tabby config must validate and name exactly the BIRD config's BGP peers,
// with the same passive sides, route-reflector clients, graceful restart on or off and restart times.
const TESTDATA = join(import.meta.dirname, 'testdata');
const fixtures = readdirSync(TESTDATA)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

function render(name: string): { yaml: string; bird: string } {
  const fx = JSON.parse(readFileSync(join(TESTDATA, `${name}.json`), 'utf8')) as {
    node: string;
    keys: Record<string, string>;
  };
  const tpl = new ConfdTemplate(readFileSync(BGPD_TEMPLATE_PATH, 'utf8'), 'bgpd.yaml.template', { NODENAME: fx.node });
  const yaml = tpl.render(
    Object.entries(fx.keys).map(([key, value]) => ({ key, value })),
    '/calico',
  );
  return { yaml, bird: readFileSync(join(TESTDATA, `${name}.bird.cfg`), 'utf8') };
}

interface BirdPeer {
  passive: boolean;
  rrClient: boolean;
  gr: boolean;
  restartTime?: number;
}

/** `protocol bgp NAME from ... { ... }` blocks of the golden BIRD config: name, passive, rr client, GR. */
function birdPeers(bird: string): Map<string, BirdPeer> {
  const out = new Map<string, BirdPeer>();
  for (const m of bird.matchAll(/^protocol bgp (\S+) from \S+ \{([\s\S]*?)^\}/gm)) {
    const time = /graceful restart time (\d+);/.exec(m[2]!)?.[1];
    out.set(m[1]!, {
      passive: /passive on;/.test(m[2]!),
      rrClient: /rr client;/.test(m[2]!),
      gr: !/graceful restart off;/.test(m[2]!),
      ...(time ? { restartTime: Number(time) } : {}),
    });
  }
  return out;
}

describe('the Tabby speaker template (bgpd.yaml.template)', () => {
  it.each(fixtures)('%s: validates as a bgpd config and peers exactly as the BIRD template does', (name) => {
    const { yaml, bird } = render(name);
    const cfg = parseConfig(yaml, `${name}.yaml`);
    const want = birdPeers(bird);
    expect(
      new Map(
        cfg.peers.map((p) => [
          p.name,
          {
            passive: p.passive,
            rrClient: p.routeReflectorClient,
            gr: p.gracefulRestart,
            ...(p.restartTime ? { restartTime: p.restartTime } : {}),
          },
        ]),
      ),
    ).toEqual(want);
    expect(render(name).yaml).toBe(yaml);
  });

  it('announces the node blocks with blackholes and exports pool routes only', () => {
    const { yaml } = render('mesh');
    const cfg = parseConfig(yaml, 'mesh.yaml');
    expect(cfg.originate.length).toBeGreaterThan(0);
    expect(cfg.originate.every((o) => o.blackhole)).toBe(true);
    const exp = cfg.policies.get('tabby-export')!;
    expect(exp.default).toBe('reject');
    expect(exp.rules.some((r) => r.action === 'accept')).toBe(true);
  });
});

describe('Tabby speaker template golden files', () => {
  it.each(fixtures)('%s renders byte-for-byte as testdata/%s.bgpd.yaml', (name) => {
    const { yaml } = render(name);
    const golden = join(TESTDATA, `${name}.bgpd.yaml`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, yaml);
    expect(yaml).toBe(readFileSync(golden, 'utf8'));
  });
});
