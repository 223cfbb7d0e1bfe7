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

  it('a node that is stopped with SIGTERM sends Cease; the others withdraw its block', async () => {
    const [a, b, c] = daemons as [TabbyDaemon, TabbyDaemon, TabbyDaemon];
    await c.stop('SIGTERM');
    await waitFor('block withdrawn', async () => !(await a.routes()).has('198.18.67.0/26'), 10_000);
    const n = await a.json<{ last_notification_received: { text: string } | null }[]>('show', 'neighbor', 't3');
    expect(n[0]?.last_notification_received?.text).toMatch(/Cease \/ Administrative Shutdown/);
    expect((await b.routes()).has('198.18.67.0/26')).toBe(false);
    await c.start();
    await waitFor('block back', async () => (await a.routes()).has('198.18.67.0/26'), 20_000);
  }, 60_000);
});
