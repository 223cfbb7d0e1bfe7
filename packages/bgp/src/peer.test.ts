import { CeaseSubcode } from '@tabby/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

describe('peer', () => {
  it("bfdDown(): the BFD hook ends the session with Cease/BFD Down (subcode 10); held, it still takes the peer's connection", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const mk = (id: string, peer: string) => {
      const s = new Speaker(
        parseConfig(
          `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\ngracefulRestart: { enabled: false }\npeers:\n  - { name: other, address: ${peer}, asn: 64512 }\n`,
        ),
        { transport: net.transport(id), clock },
      );
      speakers.push(s);
      return s;
    };
    const a = mk('198.18.0.1', '198.18.0.2');
    const b = mk('198.18.0.2', '198.18.0.1');
    await Promise.all([a.start(), b.start()]);
    const pa = a.findPeer('other')!;
    const pb = b.findPeer('other')!;
    await until('established', () => pa.state === 'Established' && pb.state === 'Established');
    pa.bfdDown();
    expect(pa.established).toBeNull();
    expect(pa.lastNotificationSent?.n).toMatchObject({ code: 6, subcode: CeaseSubcode.BfdDown });
    expect(pa.lastError).toBe('Sent: Cease / BFD Down');
    await until('b heard it', () => pb.lastNotificationReceived?.n.subcode === CeaseSubcode.BfdDown);
    expect(pa.heldByBfd).toBe(true);
    // b's reconnect back-off after a failure runs on the manual clock; a makes no connection but
    // accepts b's. Time moves on while waiting: under load b may arm its timer after any one step.
    const up = () => pa.state === 'Established' && pb.state === 'Established';
    await until('back up', () => {
      if (up()) return true;
      clock.advance(250);
      return false;
    });
    expect(pa.establishedTransitions).toBe(2);
    pa.shutdown();
    pa.bfdDown(); // nothing established: nothing to do
    expect(pa.state).toBe('Idle');
  });
});
