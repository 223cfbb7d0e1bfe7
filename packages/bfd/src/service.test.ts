// The service runs sessions in a worker thread (built dist/worker.js: run `npx tsc --build` first).
// Two services on loopback stand for two hosts: 127.0.0.1 and 127.0.0.2 on a free port.
import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { BfdConfigError, BfdServiceError } from './errors.js';
import { type BfdDownEvent, BfdService, type BfdSessionHandle } from './service.js';

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  s.close();
  return port;
}

async function waitFor<T>(what: string, f: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const services: BfdService[] = [];
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop()));
});

async function twoHosts(timers = { minTxMs: 100, minRxMs: 100, multiplier: 3 }) {
  const port = await freeUdpPort();
  const opts = { singleHopPort: port, singleHopSourceCheck: 'off' as const };
  const a = await BfdService.start(opts);
  const b = await BfdService.start(opts);
  services.push(a, b);
  const ha = a.request({ peer: '127.0.0.2', local: '127.0.0.1', name: 'b', ...timers });
  const hb = b.request({ peer: '127.0.0.1', local: '127.0.0.2', name: 'a', ...timers });
  return { a, b, ha, hb };
}

function record(h: BfdSessionHandle) {
  const downs: BfdDownEvent[] = [];
  let ups = 0;
  h.on('down', (e) => downs.push(e));
  h.on('up', () => ups++);
  return { downs, ups: () => ups };
}

describe('BfdService (worker thread, UDP on loopback)', () => {
  it('two services come Up and report negotiated timers', async () => {
    const { a, ha, hb } = await twoHosts();
    const ra = record(ha);
    await waitFor('both Up', () => ha.state === 'Up' && hb.state === 'Up');
    expect(ra.ups()).toBe(1);
    const s = await waitFor('poll done', async () => {
      const [x] = await a.sessions();
      return x && !x.pollActive && x.detectTimeMs === 300 ? x : null;
    });
    expect(s).toMatchObject({ name: 'b', peer: '127.0.0.2', local: '127.0.0.1', state: 'Up', txIntervalMs: 100 });
    expect(s.remoteDiscriminator).toBe((await hb.status())!.localDiscriminator);
  });

  it('stays Up at 100 ms x 3 while the main thread is blocked for 2 s', async () => {
    const { a, b, ha, hb } = await twoHosts();
    await waitFor('both Up', async () => {
      const all = [...(await a.sessions()), ...(await b.sessions())];
      return all.length === 2 && all.every((s) => s.state === 'Up' && s.detectTimeMs === 300);
    });
    const ra = record(ha);
    const rb = record(hb);
    const t0 = Date.now();
    let junk = 0;
    while (Date.now() - t0 < 2000) junk += JSON.stringify({ n: junk }).length; // a stalled main thread
    await new Promise((r) => setTimeout(r, 50)); // let queued worker messages in
    expect(ra.downs).toEqual([]);
    expect(rb.downs).toEqual([]);
    const all = [...(await a.sessions()), ...(await b.sessions())];
    for (const s of all) {
      expect(s.state).toBe('Up');
      expect(s.flaps).toBe(0);
      expect(s.maxRxGapMs).toBeLessThan(s.detectTimeMs);
    }
  });

  it('a peer that closes the session, stops, or sets AdminDown: down with reason peer-admin-down (diag 3)', async () => {
    const { b, ha, hb } = await twoHosts();
    await waitFor('both Up', () => ha.state === 'Up' && hb.state === 'Up');
    const ra = record(ha);
    hb.setAdminDown(true);
    await waitFor('down at a', () => ra.downs[0]);
    expect(ra.downs[0]).toMatchObject({ reason: 'peer-admin-down', diag: 3 });
    hb.setAdminDown(false);
    await waitFor('Up again', () => ha.state === 'Up' && hb.state === 'Up');
    hb.close();
    await waitFor('down at a', () => ra.downs[1]);
    expect(ra.downs[1]).toMatchObject({ reason: 'peer-admin-down', diag: 3 });

    const hb2 = b.request({ peer: '127.0.0.1', local: '127.0.0.2', minTxMs: 100, minRxMs: 100 });
    await waitFor('Up again', () => ha.state === 'Up' && hb2.state === 'Up');
    await b.stop();
    await waitFor('down again', () => ra.downs[2]);
    expect(ra.downs[2]).toMatchObject({ reason: 'peer-admin-down' });
  });

  it('a peer that falls silent (its worker killed) is a failure (diag 1); the killed worker restarts and the session comes back', async () => {
    const { b, ha, hb } = await twoHosts();
    await waitFor('fast timers', async () => ha.state === 'Up' && (await ha.status())?.detectTimeMs === 300);
    const ra = record(ha);
    const rb = record(hb);
    await (b as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const e = await waitFor('down at a', () => ra.downs[0]);
    expect(e).toMatchObject({ reason: 'failure', diag: 1 });
    expect(rb.downs[0]).toMatchObject({ reason: 'worker-restart' });
    await waitFor('Up again', () => ha.state === 'Up' && hb.state === 'Up');
  });

  it('refuses bad and duplicate requests with typed errors', async () => {
    const port = await freeUdpPort();
    const s = await BfdService.start({ singleHopPort: port });
    services.push(s);
    expect(() => s.request({ peer: 'nope' })).toThrow(BfdConfigError);
    expect(() => s.request({ peer: '127.0.0.9', minTxMs: 5 })).toThrow(/minTxMs/);
    s.request({ peer: '127.0.0.9', local: '127.0.0.1' });
    try {
      s.request({ peer: '127.0.0.9', local: '127.0.0.1' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(BfdServiceError);
      expect((err as BfdServiceError).code).toBe('BFD_DUPLICATE_SESSION');
    }
  });
});
