import { canUseNetns, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TabbyDaemon } from './tabby-daemon.js';

describe.skipIf(!canUseNetns())('interop: Tabby and Tabby over real TCP in namespaces', () => {
  const lab = new NetLab();
  const daemons: TabbyDaemon[] = [];

  beforeAll(async () => {
    const sw = await lab.bridge();
    for (const i of [1, 2, 3]) {
      const ns = await lab.netns(`t${i}`);
      await sw.plug(ns, 'eth0', `198.18.0.${i}/24`);
      const peers = [1, 2, 3]
        .filter((j) => j !== i)
        .map((j) => `  - { name: t${j}, address: 198.18.0.${j}, asn: 64512, holdTime: 9, connectRetryTime: 2 }`)
        .join('\n');
      daemons.push(
        new TabbyDaemon(
          ns,
          `routerId: 198.18.0.${i}\nasn: 64512\noriginate:\n  - { prefix: 198.18.${64 + i}.0/26, blackhole: true }\npeers:\n${peers}\n`,
        ),
      );
    }
    await Promise.all(daemons.map((d) => d.start()));
  }, 60_000);
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await lab.destroy();
  });

  it('forms a full iBGP mesh and every node learns every block (no reflection across iBGP)', async () => {
    for (const d of daemons) {
      await waitFor(
        'mesh up',
        async () => {
          const s = await d.json<{ peers: { state: string }[] }>('show', 'summary');
          return s.peers.every((p) => p.state === 'Established');
        },
        20_000,
      );
    }
    for (const [i, d] of daemons.entries()) {
      const routes = await waitFor('all blocks', async () => {
        const r = await d.routes();
        return r.size === 3 ? r : null;
      });
      for (const j of [1, 2, 3]) {
        const r = routes.get(`198.18.${64 + j}.0/26`);
        if (j === i + 1) expect(r).toMatchObject({ local: true, next_hop: 'self' });
        else expect(r).toMatchObject({ next_hop: `198.18.0.${j}`, ibgp: true, from: `t${j}` });
      }
      const fib = await d.json<{ prefix: string; blackhole: boolean; next_hops: string[] }[]>('show', 'fib');
      expect(fib.find((f) => f.prefix === `198.18.${65 + i}.0/26`)).toMatchObject({ blackhole: true });
    }
  });

  it('SIGTERM: peers keep the node block as stale (RFC 8538 N bit) until it restarts with -R', async () => {
    const [a, b, c] = daemons as [TabbyDaemon, TabbyDaemon, TabbyDaemon];
    await c.stop('SIGTERM');
    const n = await a.json<{ last_notification_received: { text: string } | null }>('show', 'neighbor', 't3');
    expect(n.last_notification_received?.text).toMatch(/Cease \/ Administrative Shutdown/);
    const stale = await waitFor(
      'block kept as stale',
      async () => (await a.routes()).get('198.18.67.0/26')?.stale === true,
      10_000,
    );
    expect(stale).toBe(true);
    expect((await a.json<{ prefix: string }[]>('show', 'fib')).map((f) => f.prefix)).toContain('198.18.67.0/26');
    await c.start(['-R']);
    await waitFor('refreshed', async () => (await b.routes()).get('198.18.67.0/26')?.stale === false, 20_000);
  }, 60_000);

  it('neighbor down sends Hard Reset: the peer withdraws at once', async () => {
    const [a, , c] = daemons as [TabbyDaemon, TabbyDaemon, TabbyDaemon];
    await waitFor('c established with a', async () => (await c.peerState('t1')) === 'Established', 20_000);
    await c.ctl(['neighbor', 't1', 'down']);
    await waitFor('block withdrawn at a', async () => !(await a.routes()).has('198.18.67.0/26'), 5_000);
    await c.ctl(['neighbor', 't1', 'up']);
    await waitFor('block back', async () => (await a.routes()).has('198.18.67.0/26'), 20_000);
  }, 60_000);
});
