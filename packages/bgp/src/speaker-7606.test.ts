import { encode, KEEPALIVE, PrefixList, sessionContext } from '@tabby/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { Speaker } from './speaker.js';
import { openFrom, rawEnd } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const ctx = sessionContext({ fourOctetAs: true });
let speaker: Speaker | null = null;
afterEach(async () => {
  await speaker?.stop();
});

/** A speaker, and the test acting as its peer with hand-built bytes. */
async function rawPeer(deps: { nextHopReachable?: (nh: string) => boolean } = {}) {
  const net = new MemoryNetwork();
  speaker = new Speaker(
    parseConfig(
      'routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\npeers:\n  - { address: 198.18.0.2, asn: 64512, passive: true }\n',
    ),
    { transport: net.transport('198.18.0.1'), ...deps },
  );
  await speaker.start();
  const conn = await net.transport('198.18.0.2').connect({ host: '198.18.0.1', port: 179 });
  const { got, send: sendMessage } = rawEnd(conn, ctx);
  const tick = () => new Promise((r) => setTimeout(r, 10));
  sendMessage(openFrom('198.18.0.2', [{ kind: 'four-octet-as', asn: 64512 }]));
  sendMessage(KEEPALIVE);
  await tick();
  const s = speaker;
  return {
    speaker: s,
    got,
    send: async (b: Uint8Array) => {
      conn.write(b);
      await tick();
    },
    prefixes: () => [...s.rib.values()].filter((d) => d.best).map((d) => prefixKeyText(d.key)),
    peer: () => s.peers.get('Peer_198_18_0_2')!,
  };
}

function update(prefix: string, nextHop = '198.18.0.2'): Uint8Array {
  return encode(
    {
      type: 'update',
      withdrawn: PrefixList.empty(1),
      attributes: { origin: 'igp', asPath: [], nextHop, localPref: 100 },
      nlri: PrefixList.from(1, [prefix]),
    },
    ctx,
  );
}

/** Index of the first occurrence of `pat` in `b`. */
function find(b: Uint8Array, pat: number[]): number {
  for (let i = 0; i + pat.length <= b.length; i++) if (pat.every((x, j) => b[i + j] === x)) return i;
  return -1;
}

describe('RFC 7606 handling of malformed UPDATEs from a peer (hand-built bytes)', () => {
  it('treats a bad ORIGIN value as withdraw and keeps the session', async () => {
    const t = await rawPeer();
    expect(t.peer().state).toBe('Established');
    await t.send(update('198.19.9.0/24'));
    expect(t.prefixes()).toEqual(['198.19.9.0/24']);
    const bad = update('198.19.9.0/24');
    const at = find(bad, [0x40, 0x01, 0x01]); // ORIGIN: flags, type, length
    bad[at + 3] = 5; // RFC 7606 7.1: undefined ORIGIN value
    await t.send(bad);
    expect(t.prefixes()).toEqual([]);
    expect(t.peer().state).toBe('Established');
    expect(t.got.some((m) => m.type === 'notification')).toBe(false);
  });

  it('resets the session for an attribute list that overruns the message (3/1)', async () => {
    const t = await rawPeer();
    const bad = update('198.19.9.0/24');
    // Total Path Attribute Length (after the 2-octet withdrawn length, which is 0) made too large.
    bad[21] = 0xff;
    bad[22] = 0xff;
    await t.send(bad);
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', code: 3, subcode: 1 });
    expect(t.peer().state).not.toBe('Established');
  });

  it('treats an NLRI prefix length over 32 as a session reset (3/10)', async () => {
    const t = await rawPeer();
    const bad = update('198.19.9.0/24');
    bad[bad.length - 4] = 33; // the NLRI's length octet: /24 followed by 3 address octets
    await t.send(bad);
    expect(t.got.at(-1)).toMatchObject({ type: 'notification', code: 3, subcode: 10 });
  });
});

describe('next-hop reachability (RFC 4271 9.1.2)', () => {
  it('keeps a route whose next hop is unreachable out of best-path selection', async () => {
    const t = await rawPeer({ nextHopReachable: (nh) => nh.startsWith('198.18.0.') });
    await t.send(update('198.19.9.0/24', '10.9.9.9'));
    await t.send(update('198.19.8.0/24'));
    expect(t.prefixes()).toEqual(['198.19.8.0/24']);
    const d = t.speaker.rib.get([...t.speaker.rib.values()].find((x) => x.paths.length && !x.best)!.key)!;
    expect(d.paths[0]!.attrs.nextHop).toBe('10.9.9.9');
    expect(t.speaker.fib.size).toBe(1);
    // show rib in says why the route is not used, as the Loc-RIB listing does.
    const name = t.peer().config.name;
    const held = new ControlHandler(t.speaker, { version: 'test' })
      .rib({ table: 'in', peer: name })
      .routes.find((r) => r.prefix === '198.19.9.0/24');
    expect(held).toMatchObject({ valid: false, best: false, reason: 'next hop unreachable' });
  });
});
