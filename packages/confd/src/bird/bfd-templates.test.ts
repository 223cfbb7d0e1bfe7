import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '@tabby/bgp';
import { describe, expect, it } from 'vitest';
import { ConfdTemplate } from '../render.js';
import { BGPD_TEMPLATE_PATH, BIRD_TEMPLATE_PATH } from '../shipped.js';

// Tabby's BFD extension in both shipped templates: the same sessions get BFD with the same
// timers (Tabby's defaults where a field is left out), a node's own value wins for its mesh
// sessions, and BIRD gets its protocol bfd only when some session uses it.
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'testdata', 'bfd.json'), 'utf8')) as {
  node: string;
  keys: Record<string, string>;
};

function render(keys: Record<string, string>) {
  const kv = Object.entries(keys).map(([key, value]) => ({ key, value }));
  const tpl = (path: string, name: string) =>
    new ConfdTemplate(readFileSync(path, 'utf8'), name, { NODENAME: fixture.node }).render(kv, '/calico');
  const bird = tpl(BIRD_TEMPLATE_PATH, 'bird.cfg.template');
  const speaker = parseConfig(tpl(BGPD_TEMPLATE_PATH, 'bgpd.yaml.template'), 'bgpd.yaml');
  const birdBfd = new Map<string, string>();
  for (const m of bird.matchAll(/^protocol bgp (\S+) from \S+ \{([\s\S]*?)^\}/gm)) {
    const b = /bfd \{ min rx interval (\d+) ms; min tx interval (\d+) ms; multiplier (\d+);( passive yes;)? \}/.exec(
      m[2]!,
    );
    birdBfd.set(m[1]!, b ? `${b[1]}/${b[2]}/${b[3]}${b[4] ? ' passive' : ''}` : 'off');
  }
  const speakerBfd = new Map(
    speaker.peers.map((p) => [
      p.name,
      p.bfd ? `${p.bfd.minRx}/${p.bfd.minTx}/${p.bfd.multiplier}${p.bfd.passive ? ' passive' : ''}` : 'off',
    ]),
  );
  return { bird, birdBfd, speakerBfd, protocolBfd: /^protocol bfd \{/m.test(bird) };
}

describe('the tabby.dev/bfd extension in the speaker and BIRD templates', () => {
  it('the same sessions with the same timers in both', () => {
    const r = render(fixture.keys);
    const want = new Map([
      ['Mesh_198_19_0_2', '100/100/3'],
      ['Global_198_19_9_1', '200/300/3 passive'],
      ['Node_198_19_8_7', 'off'],
    ]);
    expect(r.birdBfd).toEqual(want);
    expect(r.speakerBfd).toEqual(want);
    expect(r.protocolBfd).toBe(true);
  });

  it("a node's own value wins for its mesh sessions; no session with BFD, no protocol bfd", () => {
    const off = { ...fixture.keys, '/calico/bgp/v1/host/node-a/tabby_bfd': '{"enabled":false}' };
    const r = render(off);
    expect(r.birdBfd.get('Mesh_198_19_0_2')).toBe('off');
    expect(r.speakerBfd.get('Mesh_198_19_0_2')).toBe('off');
    expect(r.birdBfd.get('Global_198_19_9_1')).toBe('200/300/3 passive');
    // No tabby_bfd anywhere: the global key gone, the peer's JSON without it.
    const none = Object.fromEntries(Object.entries(fixture.keys).filter(([k]) => !k.endsWith('/tabby_bfd')));
    const plain = render({
      ...none,
      '/calico/bgp/v1/global/peer_v4/198.19.9.1': '{"ip": "198.19.9.1", "as_num": "65001", "name": "tor"}',
    });
    expect([...plain.birdBfd.values()]).toEqual(['off', 'off', 'off']);
    expect([...plain.speakerBfd.values()]).toEqual(['off', 'off', 'off']);
    expect(plain.protocolBfd).toBe(false);
  });
});
