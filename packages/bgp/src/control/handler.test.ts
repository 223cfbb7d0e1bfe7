import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Speaker } from '../speaker.js';
import { until } from '../test-support.js';
import { MemoryNetwork } from '../transport.js';
import type { RibResult } from './api.js';
import { ControlHandler } from './handler.js';

describe('show rib: Loc-RIB and Adj-RIB-In listings, sorted, limited', () => {
  const net = new MemoryNetwork();
  // a announces five prefixes (out of order); b rejects the one tagged 64512:9 on import.
  const a = new Speaker(
    parseConfig(`routerId: 198.18.0.1
asn: 64512
listen: { address: 198.18.0.1, port: 179 }
originate:
  - { prefix: 198.19.4.0/24 }
  - { prefix: 198.19.1.0/24 }
  - { prefix: 198.19.3.0/24, communities: ["64512:9"] }
  - { prefix: 198.19.0.0/24 }
  - { prefix: 198.19.2.0/24 }
peers:
  - { name: b, address: 198.18.0.2, asn: 64512 }
`),
    { transport: net.transport('198.18.0.1') },
  );
  const b = new Speaker(
    parseConfig(`routerId: 198.18.0.2
asn: 64512
listen: { address: 198.18.0.2, port: 179 }
originate:
  - { prefix: 198.19.9.0/24 }
  - { prefix: 198.19.8.0/24 }
policies:
  - name: no-9
    rules:
      - { match: { community: ["64512:9"] }, action: reject }
    default: accept
peers:
  - { name: a, address: 198.18.0.1, asn: 64512, import: [no-9] }
`),
    { transport: net.transport('198.18.0.2') },
  );
  const handler = new ControlHandler(b, { version: 'test' });
  const rib = async (args: Record<string, unknown>) => (await handler.handle('show rib', args)) as RibResult;

  beforeAll(async () => {
    await Promise.all([a.start(), b.start()]);
    await until('routes at b', () => b.rib.routeCount(b.findPeer('a')!.source) === 5 && b.rib.pending === 0);
  });
  afterAll(async () => {
    await a.stop();
    await b.stop();
  });

  it('the Adj-RIB-In has every route, the rejected one with its reason; the Loc-RIB only the accepted', async () => {
    const adjIn = await rib({ table: 'in', peer: 'a' });
    expect(adjIn.routes.map((r) => [r.prefix, r.reason])).toEqual([
      ['198.19.0.0/24', ''],
      ['198.19.1.0/24', ''],
      ['198.19.2.0/24', ''],
      ['198.19.3.0/24', 'rejected by import policy'],
      ['198.19.4.0/24', ''],
    ]);
    expect(adjIn.truncated).toBe(false);
    const loc = await rib({});
    expect(loc.routes.map((r) => [r.prefix, r.flags])).toEqual([
      ['198.19.0.0/24', '*>I'],
      ['198.19.1.0/24', '*>I'],
      ['198.19.2.0/24', '*>I'],
      ['198.19.4.0/24', '*>I'],
      ['198.19.8.0/24', '*>  L'],
      ['198.19.9.0/24', '*>  L'],
    ]);
    expect(b.rib.size).toBe(6);
  });

  it('a limit cuts the sorted listing and says so', async () => {
    const adjIn = await rib({ table: 'in', peer: 'a', limit: 2 });
    expect([adjIn.routes.map((r) => r.prefix), adjIn.truncated]).toEqual([['198.19.0.0/24', '198.19.1.0/24'], true]);
    const loc = await rib({ limit: 3 });
    expect([loc.routes.map((r) => r.prefix), loc.truncated]).toEqual([
      ['198.19.0.0/24', '198.19.1.0/24', '198.19.2.0/24'],
      true,
    ]);
    expect((await rib({ limit: 6 })).truncated).toBe(false);
    expect((await rib({ prefix: '198.19.2.7' })).routes.map((r) => r.prefix)).toEqual(['198.19.2.0/24']);
  });

  it('the Adj-RIB-Out lists what b sends a (its own prefixes, none of those from a), sorted and limited', async () => {
    await until('sent', () => b.findPeer('a')!.advertisedCount === 2);
    const out = await rib({ table: 'out', peer: 'a' });
    expect(out.routes.map((r) => [r.prefix, r.from, r.local_pref])).toEqual([
      ['198.19.8.0/24', 'local', 100],
      ['198.19.9.0/24', 'local', 100],
    ]);
    const one = await rib({ table: 'out', peer: 'a', limit: 1 });
    expect([one.routes.map((r) => r.prefix), one.truncated]).toEqual([['198.19.8.0/24'], true]);
  });
});
