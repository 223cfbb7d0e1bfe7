import { Afi, encodeAttributeSet, PrefixList, packUpdates, sessionContext } from '@tabby/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { Speaker } from './speaker.js';
import { type Connection, MemoryNetwork } from './transport.js';

let speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers) await s.stop();
  speakers = [];
});

/** `count` distinct /24s from 10.0.0.0 up, as a PrefixList. */
function prefixes(from: number, count: number): PrefixList {
  const lengths = new Uint8Array(count).fill(24);
  const addrs = new Uint32Array(count);
  for (let i = 0; i < count; i++) addrs[i] = (0x0a000000 + (from + i) * 256) >>> 0;
  return new PrefixList(Afi.ipv4, lengths, addrs);
}

describe('a large feed does not starve timers', () => {
  it('keeps a 3 s hold-time session up while ingesting 200k prefixes, and holds them all', async () => {
    const net = new MemoryNetwork();
    const cfg = (id: string, peer: string, extra = '') =>
      parseConfig(
        `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${extra}peers:\n  - { address: ${peer}, asn: 64512, holdTime: 3 }\n`,
      );
    const rx = new Speaker(cfg('198.18.0.1', '198.18.0.2'), { transport: net.transport('198.18.0.1') });
    const tx = new Speaker(cfg('198.18.0.2', '198.18.0.1'), { transport: net.transport('198.18.0.2') });
    speakers = [rx, tx];
    await Promise.all([rx.start(), tx.start()]);
    const until = async (check: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!check()) {
        if (Date.now() > end) return false;
        await new Promise((r) => setTimeout(r, 10));
      }
      return true;
    };
    // Both ends: each is Established when the other's KEEPALIVE arrives, so one can be a turn
    // ahead of the other (CI once read the sender's session while it was not up yet).
    const up = () =>
      rx.peers.get('Peer_198_18_0_2')?.state === 'Established' &&
      tx.peers.get('Peer_198_18_0_1')?.state === 'Established';
    expect(await until(up, 3000)).toBe(true);
    // Write the whole feed at once into the receiver's connection: packed UPDATEs, one attribute set.
    const txSession = tx.peers.get('Peer_198_18_0_1')!.established!;
    const conn: Connection = txSession.conn;
    const ctx = sessionContext({ fourOctetAs: true, extendedMessage: true });
    const attrs = encodeAttributeSet({ origin: 'igp', asPath: [], nextHop: '198.18.0.2', localPref: 100 }, ctx);
    const total = 200_000;
    for (let i = 0; i < total; i += 20_000) {
      const msgs = packUpdates({ announce: prefixes(i, 20_000), attributes: attrs }, ctx);
      conn.write(Buffer.concat(msgs));
    }
    const rxPeer = rx.peers.get('Peer_198_18_0_2')!;
    // `show status` counts a prefix as soon as it is stored, and says how many wait for the
    // decision process: the feed is done when that backlog has drained too.
    const status = new ControlHandler(rx, { version: 'test' });
    let pendingSeen = 0;
    const done = await until(() => {
      const st = status.status();
      pendingSeen = Math.max(pendingSeen, st.pending_selection);
      return st.loc_rib_prefixes >= total && st.pending_selection === 0 && st.export_backlog === 0;
    }, 120_000);
    expect(done).toBe(true);
    expect(pendingSeen).toBeGreaterThan(0);
    expect(rx.rib.pending).toBe(0);
    expect(rxPeer.state).toBe('Established');
    expect(rxPeer.establishedTransitions).toBe(1);
    expect(tx.peers.get('Peer_198_18_0_1')!.establishedTransitions).toBe(1);
    expect(rx.attrs.size).toBeLessThanOrEqual(3);
  }, 150_000);
});
