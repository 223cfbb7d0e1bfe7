import { KEEPALIVE, sessionContext } from '@tabby/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { Speaker } from './speaker.js';
import { openFrom, rawEnd, until } from './test-support.js';
import { type Connection, MemoryNetwork, type Transport } from './transport.js';

// The speaker has the higher BGP identifier, so by RFC 4271 6.8 its own connection would win a
// collision. Its peer (a raw endpoint here) has graceful restart, as BIRD and Tabby do: a second
// connection arriving while it is Established is taken as a restart (RFC 4724 4.2) and the
// established session is closed. So once the peer's connection carries our KEEPALIVE (we are in
// OpenConfirm on it, the peer may be Established), the speaker must not open one of its own:
// neither from its retry timer nor from a connect that was already under way.

const ME = '198.18.0.2';
const PEER = '198.18.0.1';
const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

const tick = () => new Promise((r) => setTimeout(r, 20));

function speaker(transport: Transport, clock: ManualClock): Speaker {
  const s = new Speaker(
    parseConfig(
      `routerId: ${ME}\nasn: 64512\nconnectRetryTime: 1\nlisten: { address: ${ME}, port: 179 }\npeers:\n  - { name: p, address: ${PEER}, asn: 64512 }\n`,
    ),
    { transport, clock },
  );
  speakers.push(s);
  return s;
}

const CTX = sessionContext({ fourOctetAs: true, extendedMessage: true });
const OPEN = openFrom(PEER, [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'four-octet-as', asn: 64512 },
  { kind: 'graceful-restart', restarting: false, notification: false, restartTime: 120, families: [] },
]);

describe('connection collision, the speaker with the higher identifier', () => {
  it("makes no connection of its own on retry once the peer's is in OpenConfirm, and retries once it is gone", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const mine = net.transport(ME);
    let connects = 0;
    const connect: Transport['connect'] = (o) => {
      connects++;
      return mine.connect(o);
    };
    const s = speaker({ listen: mine.listen, connect }, clock);
    await s.start();
    const p = s.findPeer('p')!;
    await until('first attempt refused', () => connects === 1 && p.state === 'Active');
    const accepted: Connection[] = [];
    const theirs = net.transport(PEER);
    await theirs.listen({ host: PEER, port: 179 }, (c) => accepted.push(c));

    const peer = rawEnd(await theirs.connect({ host: ME, port: 179 }), CTX);
    await until('our OPEN on their connection', () => peer.got.some((m) => m.type === 'open'));
    peer.send(OPEN);
    await until('our KEEPALIVE: OpenConfirm', () => peer.got.some((m) => m.type === 'keepalive'));
    expect(p.state).toBe('OpenConfirm');
    clock.advance(2000);
    await tick();
    expect(accepted).toHaveLength(0);
    peer.send(KEEPALIVE);
    await until('Established', () => p.state === 'Established');
    expect(p.establishedTransitions).toBe(1);

    // Their connection gone, the retry timer connects again.
    peer.got.length = 0;
    await until('session down', () => {
      if (p.state !== 'Established') return true;
      clock.advance(100_000); // hold timer: the raw end sends no keepalives
      return false;
    });
    await until('our own connection', () => {
      if (accepted.length) return true;
      clock.advance(1000);
      return false;
    });
  });

  it("drops its connect that completes once the peer's connection is in OpenConfirm", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const mine = net.transport(ME);
    let complete: (() => void) | undefined;
    const connect: Transport['connect'] = (o) =>
      new Promise((resolve, reject) => {
        complete = () => mine.connect(o).then(resolve, reject);
      });
    const s = speaker({ listen: mine.listen, connect }, clock);
    await s.start();
    const p = s.findPeer('p')!;
    await until('our connect under way', () => complete !== undefined);
    const accepted: ReturnType<typeof rawEnd>[] = [];
    const theirs = net.transport(PEER);
    await theirs.listen({ host: PEER, port: 179 }, (c) => accepted.push(rawEnd(c, CTX)));

    const peer = rawEnd(await theirs.connect({ host: ME, port: 179 }), CTX);
    peer.send(OPEN);
    await until('our KEEPALIVE: OpenConfirm', () => peer.got.some((m) => m.type === 'keepalive'));
    complete!();
    await until('our connection reached the peer', () => accepted.length === 1);
    await until('and was closed', () => accepted[0]!.closed);
    expect(accepted[0]!.got).toHaveLength(0); // no OPEN on it
    peer.send(KEEPALIVE);
    await until('Established on their connection', () => p.state === 'Established');
    expect(p.establishedTransitions).toBe(1);
  });
});
