import { ConfigError } from '@tabby/bgp';
import { describe, expect, it } from 'vitest';
import { buildSpeakerConfig, nodePeers } from './clients.js';
import { parseRrConfig } from './config.js';

const base = 'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\ndatastore: { url: memory }\n';

describe('tabby rr: BFD for clients', () => {
  it('clientDefaults.bfd applies to listed and discovered clients, field by field; non-clients say their own', () => {
    const c = parseRrConfig(
      `${base}clientDefaults: { bfd: { minRx: 100, minTx: 100, multiplier: 3 } }\n` +
        'clients:\n  - { address: 198.18.0.1, name: a }\n  - { address: 198.18.0.2, name: b, bfd: { multiplier: 5 } }\n' +
        '  - { address: 198.18.0.3, name: c, bfd: false }\n' +
        'nonClients:\n  - { address: 198.18.0.11, name: rr2 }\n  - { address: 198.18.0.12, name: rr3, bfd: true }\n',
      'rr.yaml',
    );
    const node = {
      apiVersion: 'projectcalico.org/v3' as const,
      kind: 'Node' as const,
      metadata: { name: 'n4' },
      spec: { bgp: { ipv4Address: '198.18.0.4/24' } },
    };
    const s = buildSpeakerConfig(c, nodePeers(c, [node]).peers);
    expect(s.peers.map((p) => [p.name, p.bfd ? `${p.bfd.minRx}/${p.bfd.minTx}/${p.bfd.multiplier}` : 'off'])).toEqual([
      ['a', '100/100/3'],
      ['b', '100/100/5'],
      ['c', 'off'],
      ['rr2', 'off'],
      ['rr3', '300/300/3'],
      ['Node_198_18_0_4', '100/100/3'],
    ]);
  });

  it('a bad clientDefaults.bfd is one line naming the field', () => {
    let msg = '';
    try {
      parseRrConfig(`${base}clientDefaults: { bfd: { minRx: 1s0 } }\n`, 'rr.yaml');
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      msg = err.message;
    }
    expect(msg).toMatch(/^rr\.yaml:5:\d+: clientDefaults\.bfd\.minRx: "1s0" is not an interval from 10 to 60000 ms/);
  });
});
