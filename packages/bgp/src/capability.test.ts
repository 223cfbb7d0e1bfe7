import { KEEPALIVE } from '@tabby/wire';
import { afterEach, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { Speaker } from './speaker.js';
import { openFrom, rawEnd } from './test-support.js';
import { MemoryNetwork } from './transport.js';

let speaker: Speaker | null = null;
afterEach(async () => {
  await speaker?.stop();
});

it('refuses a peer that shares none of its families with OPEN error 2/7 (Unsupported Capability)', async () => {
  const net = new MemoryNetwork();
  speaker = new Speaker(
    parseConfig(
      'routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\npeers:\n  - { address: 198.18.0.2, asn: 64512, passive: true, families: [ipv6-unicast] }\n',
    ),
    { transport: net.transport('198.18.0.1') },
  );
  await speaker.start();
  const conn = await net.transport('198.18.0.2').connect({ host: '198.18.0.1', port: 179 });
  const { got, send } = rawEnd(conn);
  send(
    openFrom('198.18.0.2', [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'four-octet-as', asn: 64512 },
    ]),
  );
  send(KEEPALIVE);
  await new Promise((r) => setTimeout(r, 20));
  const n = got.find((m) => m.type === 'notification');
  expect(n).toMatchObject({ code: 2, subcode: 7 });
  // The data names what we needed: the IPv6 unicast multiprotocol capability (code 1, AFI 2, SAFI 1).
  expect([...(n as { data: Uint8Array }).data]).toEqual([1, 4, 0, 2, 0, 1]);
  expect(speaker.peers.get('Peer_198_18_0_2')!.lastError).toMatch(/none of our families/);
});
