// UdpTransport in this thread on loopback (the service runs the same code in its worker).
import dgram from 'node:dgram';
import type os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from './clock.js';
import { sessionConfig } from './config.js';
import { BfdEngine, type EngineEvent } from './engine.js';
import { DiscardCode } from './errors.js';
import { decodeControl } from './packet.js';
import { type SingleHopSourceCheck, UdpTransport } from './udp-transport.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function socketOn(address: string, port = 0): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(port, address, r));
  cleanup.push(() => s.close());
  return s;
}

async function waitFor<T>(what: string, f: () => T, ms = 5000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function engineOn(
  port: number,
  check: SingleHopSourceCheck,
  interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>,
) {
  const events: EngineEvent[] = [];
  const engine = new BfdEngine({
    clock: systemClock,
    random: Math.random,
    onEvent: (e) => events.push(e),
    transport: (e) =>
      new UdpTransport(e, { clock: systemClock, singleHopPort: port, singleHopSourceCheck: check, interfaces }),
  });
  cleanup.push(() => engine.stop());
  return { engine, events };
}

const lo = (cidr: string): NodeJS.Dict<os.NetworkInterfaceInfo[]> => ({
  lo: [{ address: '127.0.0.1', netmask: '', family: 'IPv4', mac: '', internal: true, cidr }],
});

describe('UdpTransport', () => {
  it('sends to the destination port from a source port in 49152-65535, from the local address', async () => {
    const peer = await socketOn('127.0.0.2');
    const port = peer.address().port;
    const got = new Promise<{ msg: Buffer; rinfo: dgram.RemoteInfo }>((r) =>
      peer.once('message', (msg, rinfo) => r({ msg, rinfo })),
    );
    const { engine } = engineOn(port, 'off');
    engine.add(1, sessionConfig({ peer: '127.0.0.2', local: '127.0.0.1' }));
    const { msg, rinfo } = await got;
    expect(rinfo.address).toBe('127.0.0.1');
    expect(rinfo.port).toBeGreaterThanOrEqual(49152);
    expect(rinfo.port).toBeLessThanOrEqual(65535);
    const r = decodeControl(msg);
    expect(r.ok && r.packet.state).toBe(1);
  });

  it('finds the local address from the route when none is given', async () => {
    const peer = await socketOn('127.0.0.2');
    const { engine } = engineOn(peer.address().port, 'off');
    engine.add(1, sessionConfig({ peer: '127.0.0.2' }));
    await waitFor('local address', () => engine.status(1)[0]!.local);
    expect(engine.status(1)[0]!.local).toMatch(/^127\./);
  });

  it('connected-subnet check: single-hop packets from outside the subnets of the local address are discarded', async () => {
    const tmp = await socketOn('127.0.0.1');
    const port = tmp.address().port;
    tmp.close();
    cleanup.pop();
    // 127.0.0.1/32 as the only interface address: a packet from 127.0.0.2 is off-subnet.
    const { engine } = engineOn(port, 'connected-subnet', () => lo('127.0.0.1/32'));
    engine.add(1, sessionConfig({ peer: '127.0.0.2', local: '127.0.0.1' }));
    const sender = await socketOn('127.0.0.2');
    const pkt = Buffer.from('20400318000000770000000000000000000f4240000f424000000000', 'hex');
    await waitFor('listening', () => engine.status(1)[0]!.packetsSent > 0);
    sender.send(pkt, port, '127.0.0.1');
    await waitFor('discard', () => engine.unmatched[DiscardCode.NotConnected]);

    const ok = engineOn(port, 'connected-subnet', () => lo('127.0.0.1/8'));
    engine.stop();
    ok.engine.add(1, sessionConfig({ peer: '127.0.0.2', local: '127.0.0.1' }));
    await waitFor('listening', () => ok.engine.status(1)[0]!.packetsSent > 0);
    sender.send(pkt, port, '127.0.0.1');
    await waitFor('accepted', () => ok.engine.status(1)[0]!.remoteDiscriminator === 0x77);
  });

  it('a port held by another daemon is reported on the session, retried, and cleared once bound', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((r) => holder.bind(0, '127.0.0.1', r));
    const { engine, events } = engineOn(holder.address().port, 'off');
    engine.add(1, sessionConfig({ peer: '127.0.0.2', local: '127.0.0.1' }));
    const err = await waitFor('error', () => engine.status(1)[0]!.transportError);
    expect(err).toMatch(/^cannot listen on 127\.0\.0\.1 port \d+: another BFD daemon .* holds it; retrying every 1 s$/);
    expect(events.some((e) => e.type === 'log' && e.level === 'warn')).toBe(true);
    holder.close();
    await waitFor('bound on retry, error cleared', () => engine.status(1)[0]!.transportError === null);
  });
});
