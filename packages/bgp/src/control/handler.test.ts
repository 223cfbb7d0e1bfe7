import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { Speaker } from '../speaker.js';
import { until } from '../test-support.js';
import { MemoryNetwork } from '../transport.js';
import type { RibResult } from './api.js';
import { ControlHandler } from './handler.js';
import { ControlStream } from './protocol.js';

describe('show rib: Loc-RIB and Adj-RIB-In listings, sorted, limited', () => {
  const net = new MemoryNetwork();
  // a announces five prefixes (out of order); b rejects the one tagged 64512:9 on import and sets
  // LOCAL_PREF on the one tagged 64512:7 (a can send it again: b keeps only the result).
  const a = new Speaker(
    parseConfig(`routerId: 198.18.0.1
asn: 64512
listen: { address: 198.18.0.1, port: 179 }
originate:
  - { prefix: 198.19.4.0/24, communities: ["64512:7"] }
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
      - { match: { community: ["64512:7"] }, set: { localPref: 300 }, action: accept }
    default: accept
peers:
  - { name: a, address: 198.18.0.1, asn: 64512, import: [no-9] }
`),
    { transport: net.transport('198.18.0.2') },
  );
  const handler = new ControlHandler(b, { version: 'test' });
  const rib = async (args: Record<string, unknown>): Promise<RibResult> => handler.rib(args);

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
    expect(adjIn.routes.map((r) => [r.prefix, r.reason, r.local_pref, r.after_import_policy])).toEqual([
      ['198.19.0.0/24', '', 100, false],
      ['198.19.1.0/24', '', 100, false],
      ['198.19.2.0/24', '', 100, false],
      ['198.19.3.0/24', 'rejected by import policy', 100, false],
      ['198.19.4.0/24', '', 300, true],
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

/** The text a stream answer would carry, parsed. */
function streamed(v: unknown): unknown {
  expect(v).toBeInstanceOf(ControlStream);
  let text = '';
  const it = (v as ControlStream).pieces;
  for (let r = it.next(); !r.done; r = it.next()) if (r.value) text += r.value;
  return JSON.parse(text);
}

describe('control commands: arguments are checked, answers are what the CLI needs', () => {
  const net = new MemoryNetwork();
  const s = new Speaker(
    parseConfig(`routerId: 198.18.0.1
asn: 64512
listen: { address: 198.18.0.1, port: 179 }
originate:
  - { prefix: 198.19.0.0/16 }
  - { prefix: 198.19.2.0/24 }
  - { prefix: 198.19.2.128/25 }
  - { prefix: "2001:db8::/32" }
  - { prefix: "2001:db8:1::/48" }
peers:
  - { name: a, address: 198.18.0.2, asn: 64512 }
`),
    { transport: net.transport('198.18.0.1') },
  );
  const handler = new ControlHandler(s, { version: 'test' });
  const code = (command: string, args: Record<string, unknown>) => {
    try {
      handler.handle(command, args);
      return 'ok';
    } catch (err) {
      return (err as { code?: string }).code;
    }
  };

  beforeAll(async () => {
    await s.start();
    await until('originated', () => s.rib.size === 5 && s.rib.pending === 0);
  });
  afterAll(() => s.stop());

  it('refuses arguments of the wrong type, unknown ones and missing ones with BAD_REQUEST', () => {
    // A peer name in an array used to be read as the name: the peer went down.
    expect(code('neighbor down', { peer: ['a'] })).toBe('BAD_REQUEST');
    expect(s.findPeer('a')!.adminDown).toBe(false);
    expect(code('neighbor down', {})).toBe('BAD_REQUEST');
    expect(code('neighbor down', { peer: 'a', message: 'x'.repeat(256) })).toBe('BAD_REQUEST');
    expect(s.findPeer('a')!.adminDown).toBe(false);
    expect(code('show rib', { limit: 'abc' })).toBe('BAD_REQUEST');
    expect(code('show rib', { limit: 0 })).toBe('BAD_REQUEST');
    expect(code('show rib', { limit: 1.5 })).toBe('BAD_REQUEST');
    expect(code('show rib', { table: 'sideways' })).toBe('BAD_REQUEST');
    expect(code('show rib', { table: 'in' })).toBe('BAD_REQUEST');
    expect(code('show rib', { prefix: 5 })).toBe('BAD_REQUEST');
    expect(code('show rib', { prefix: '198.19.0.0/33' })).toBe('BAD_PREFIX');
    expect(code('show rib', { bogus: 1 })).toBe('BAD_REQUEST');
    expect(code('show summary', { peer: 'a' })).toBe('BAD_REQUEST');
    expect(code('show neighbor', { peer: null })).toBe('BAD_REQUEST');
    expect(code('show neighbor', { peer: 'nobody' })).toBe('UNKNOWN_PEER');
    expect(code('reboot', {})).toBe('UNKNOWN_COMMAND');
    expect(code('show rib', { prefix: '198.19.2.0/24', limit: 5, detail: true })).toBe('ok');
  });

  it('an address finds the longest prefix containing it', () => {
    const at = (prefix: string) => handler.rib({ prefix }).routes.map((r) => r.prefix);
    expect(at('198.19.2.200')).toEqual(['198.19.2.128/25']);
    expect(at('198.19.2.7')).toEqual(['198.19.2.0/24']);
    expect(at('198.19.9.9')).toEqual(['198.19.0.0/16']);
    expect(at('198.20.0.1')).toEqual([]);
    expect(at('2001:db8:1::5')).toEqual(['2001:db8:1::/48']);
    expect(at('2001:db8:2::5')).toEqual(['2001:db8::/32']);
    // A prefix is matched exactly.
    expect(at('198.19.2.0/24')).toEqual(['198.19.2.0/24']);
    expect(at('198.19.3.0/24')).toEqual([]);
  });

  it('streams the same listings it returns in one piece; one neighbor is an object', () => {
    expect(streamed(handler.handle('show rib', {}))).toEqual(handler.rib({}));
    expect(streamed(handler.handle('show rib', { limit: 2 }))).toEqual({
      ...handler.rib({ limit: 2 }),
      truncated: true,
    });
    expect(handler.rib({}).routes.map((r) => r.prefix)).toEqual([
      '198.19.0.0/16',
      '198.19.2.0/24',
      '198.19.2.128/25',
      '2001:db8::/32',
      '2001:db8:1::/48',
    ]);
    expect(streamed(handler.handle('show fib', {}))).toEqual(handler.fibRoutes());
    const all = streamed(handler.handle('show neighbor', {})) as { name: string }[];
    expect(all.map((n) => n.name)).toEqual(['a']);
    expect(handler.handle('show neighbor', { peer: 'a' })).toMatchObject({ name: 'a', address: '198.18.0.2' });
  });
});
