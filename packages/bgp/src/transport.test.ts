import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { loopWatch } from './loop-delay.js';
import { until } from './test-support.js';
import { type Connection, closePacing, MemoryNetwork, readPacing, type Transport, tcpTransport } from './transport.js';

async function exchange(transport: Transport, clientTransport: Transport, host: string) {
  const accepted: Connection[] = [];
  const got: string[] = [];
  const listener = await transport.listen({ host, port: 0 }, (c) => {
    accepted.push(c);
    c.onData((d) => {
      got.push(Buffer.from(d).toString());
      c.write(Buffer.from('pong'));
    });
  });
  const client = await clientTransport.connect({ host: listener.host, port: listener.port });
  const reply = new Promise<string>((r) => client.onData((d) => r(Buffer.from(d).toString())));
  client.write(Buffer.from('ping'));
  expect(await reply).toBe('pong');
  expect(got).toEqual(['ping']);
  expect(client.remotePort).toBe(listener.port);
  const closed = new Promise<void>((r) => accepted[0]?.onClose(() => r()));
  client.end();
  await closed;
  await listener.close();
}

/** Counts turns of the event loop (its check phases) until stopped. */
function turnCounter() {
  let ticking = true;
  const t = {
    now: 0,
    stop: () => {
      ticking = false;
    },
  };
  const tick = () => {
    t.now += 1;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  return t;
}

describe('transports', () => {
  it('tcp: connects, exchanges bytes and closes on loopback', async () => {
    await exchange(tcpTransport, tcpTransport, '127.0.0.1');
  });

  it('tcp: a peer that closes its side is gone at once, even with our bytes queued that it never read', async () => {
    let queued = 0;
    let sawClose!: () => void;
    const closed = new Promise<void>((r) => {
      sawClose = r;
    });
    const listener = await tcpTransport.listen({ host: '127.0.0.1', port: 0 }, (c) => {
      // 16 MB for a peer that reads nothing: most of it stays in our send queue.
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < 16; i++) c.write(big);
      queued = c.pendingBytes;
      c.onClose(() => sawClose());
    });
    const peer = net.connect(listener.port, '127.0.0.1');
    peer.pause();
    try {
      await once(peer, 'connect');
      await new Promise((r) => setTimeout(r, 100));
      peer.end(); // FIN; it still reads nothing
      const seen = await Promise.race([closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]);
      expect(queued).toBeGreaterThan(0);
      expect(seen).toBe(true); // before: no close (Node first ended our side, waiting for the queue to empty)
    } finally {
      peer.destroy();
      await listener.close();
    }
  });

  it('tcp: peers that close together are closed a few per turn of the event loop, every one', async () => {
    const n = 40;
    const turns = turnCounter();
    const closedIn: number[] = [];
    const all = new Promise<void>((resolve) => {
      let open = 0;
      void tcpTransport
        .listen({ host: '127.0.0.1', port: 0 }, (c) => {
          open += 1;
          c.onClose(() => {
            closedIn.push(turns.now);
            if (closedIn.length === n) resolve();
          });
          if (open === n) for (const p of peers) p.end();
        })
        .then((l) => {
          listener = l;
          for (let i = 0; i < n; i++) peers.push(net.connect(l.port, '127.0.0.1'));
        });
    });
    const peers: net.Socket[] = [];
    let listener: { close(): Promise<void> } | undefined;
    const saved = closePacing.ms;
    closePacing.ms = 0; // one close per turn
    try {
      await all;
      // Before: every socket was closed in the turn its FIN arrived in (40 in one or two turns).
      expect(new Set(closedIn).size).toBeGreaterThanOrEqual(n / 2);
    } finally {
      turns.stop();
      closePacing.ms = saved;
      for (const p of peers) p.destroy();
      await listener?.close();
    }
  });

  it("tcp: a peer's FIN after an idle second restarts the loop monitor, so the turn that reads it is measured", async () => {
    loopWatch.maxMs();
    const closed = new Promise<void>((resolve) => {
      void tcpTransport
        .listen({ host: '127.0.0.1', port: 0 }, (c) => c.onClose(() => resolve()))
        .then((l) => {
          listener = l;
          peer = net.connect(l.port, '127.0.0.1');
        });
    });
    let listener: { close(): Promise<void> } | undefined;
    let peer: net.Socket | undefined;
    try {
      await until('the connection', () => peer?.readyState === 'open');
      await until('the monitor to stop', () => !loopWatch.armed, 3000);
      peer!.end();
      await closed;
      expect(loopWatch.armed).toBe(true);
    } finally {
      peer?.destroy();
      await listener?.close();
    }
  });

  it('tcp: after a short read a connection rests, so what a peer writes meanwhile is handled in one turn', async () => {
    const turns = turnCounter();
    const readIn: number[] = [];
    let got = 0;
    let conn!: Connection;
    const accepted = new Promise<void>((resolve) => {
      void tcpTransport
        .listen({ host: '127.0.0.1', port: 0 }, (c) => {
          conn = c;
          c.onData((d) => {
            readIn.push(turns.now);
            got += d.length;
          });
          resolve();
        })
        .then((l) => {
          listener = l;
          peer = net.connect(l.port, '127.0.0.1');
        });
    });
    let listener: { close(): Promise<void> } | undefined;
    let peer: net.Socket | undefined;
    const saved = readPacing.ms;
    readPacing.ms = 40;
    try {
      await accepted;
      // 60 writes of 100 octets, 2 ms apart: read as they come, in about 60 turns.
      for (let i = 0; i < 60; i++) {
        peer!.write(Buffer.alloc(100, i));
        await new Promise((r) => setTimeout(r, 2));
      }
      await until('all read', () => got === 6000);
      expect(new Set(readIn).size).toBeLessThan(20);
      // The session's own pause outlasts a rest: nothing is read until it resumes.
      conn.pause();
      peer!.write(Buffer.alloc(100));
      await new Promise((r) => setTimeout(r, 100));
      expect(got).toBe(6000);
      conn.resume();
      await until('read after resume', () => got === 6100);
    } finally {
      turns.stop();
      readPacing.ms = saved;
      peer?.destroy();
      await listener?.close();
    }
  });

  it('memory: connects, exchanges bytes and closes in-process', async () => {
    const net = new MemoryNetwork();
    await exchange(net.transport('198.18.0.1'), net.transport('198.18.0.2'), '198.18.0.1');
  });

  it('memory: refuses connections nobody listens for', async () => {
    const net = new MemoryNetwork();
    await expect(net.transport('198.18.0.2').connect({ host: '198.18.0.1', port: 179 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('tcp: reports a refused connection with its code', async () => {
    const l = await tcpTransport.listen({ host: '127.0.0.1', port: 0 }, () => {});
    const port = l.port;
    await l.close();
    await expect(tcpTransport.connect({ host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
