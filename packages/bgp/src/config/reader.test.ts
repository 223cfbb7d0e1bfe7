import { parseYamlFile } from '@tabby/yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from './load.js';

// The yaml library's document (`YamlDocument.doc`, composed on first use) costs ten times the fast
// read: a 10,000-peer config took 2.3-3.4 s when every mapping and list was checked against it.
// A valid config must be read without it; only a problem to locate asks for it.
describe('config reader', () => {
  const proto = Object.getPrototypeOf(parseYamlFile('a: 1\n').document);
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const peers = (n: number, extra = '') =>
    Array.from(
      { length: n },
      (_, i) =>
        `  - { name: c${i}, address: 198.19.0.${i + 1}, asn: 64512, passive: true, families: [ipv4-unicast], import: [all]${extra} }`,
    ).join('\n');
  const config = (body: string) =>
    `routerId: 198.18.0.1\nasn: 64512\ngracefulRestart: { enabled: true, restartTime: 120 }\npolicies:\n  - { name: all, default: accept }\npeers:\n${body}\n`;

  it("reads a valid config without composing the yaml library's document", () => {
    const composed = vi.spyOn(proto, 'doc', 'get');
    expect(parseConfig(config(peers(50))).peers).toHaveLength(50);
    expect(composed).not.toHaveBeenCalled();
  });

  it('composes it to locate a problem, and names the line and column', () => {
    const composed = vi.spyOn(proto, 'doc', 'get');
    expect(() => parseConfig(config(peers(3, ', bogus: 1')), 'rr.yaml')).toThrow(
      /^rr\.yaml:7:\d+: peers\[0\]\.bogus: unknown field/,
    );
    expect(composed).toHaveBeenCalled();
  });
});
