import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from './bird.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('bird', 'birdc');

/**
 * Tabby at 198.18.0.1 restarts (SIGKILL: no NOTIFICATION) while BIRD (198.18.0.2) and another
 * Tabby (198.18.0.3) hold its route. Both must keep it until Tabby is back, then refresh it; when
 * Tabby does not come back, the stale route must go after its restart time (5 s here).
 */
describe.skipIf(!enabled)('graceful restart in namespaces: Tabby restarts, BIRD and Tabby help', () => {
  const lab = new NetLab();
  let restarting: TabbyDaemon;
  let helper: TabbyDaemon;
  let bird: BirdDaemon;

  beforeAll(async () => {
    const sw = await lab.bridge();
    const [t1, b2, t3] = [await lab.netns('t1'), await lab.netns('b2'), await lab.netns('t3')];
    await sw.plug(t1, 'eth0', '198.18.0.1/24');
    await sw.plug(b2, 'eth0', '198.18.0.2/24');
    await sw.plug(t3, 'eth0', '198.18.0.3/24');
    restarting = new TabbyDaemon(
      t1,
      `routerId: 198.18.0.1
asn: 64512
connectRetryTime: 1
gracefulRestart: { restartTime: 5, selectionDeferral: 10 }
originate:
  - { prefix: 198.18.64.0/26 }
peers:
  - { name: bird, address: 198.18.0.2, asn: 64512, holdTime: 9 }
  - { name: t3, address: 198.18.0.3, asn: 64512, holdTime: 9 }
`,
    );
    helper = new TabbyDaemon(
      t3,
      `routerId: 198.18.0.3\nasn: 64512\nconnectRetryTime: 1\npeers:\n  - { name: t1, address: 198.18.0.1, asn: 64512, holdTime: 9 }\n`,
    );
    bird = new BirdDaemon(
      b2,
      `router id 198.18.0.2;
protocol device {}
protocol bgp t1 {
  local 198.18.0.2 as 64512;
  neighbor 198.18.0.1 as 64512;
  direct;
  hold time 9;
  connect retry time 1;
  graceful restart on;
  ipv4 { import all; export none; };
}
`,
    );
    await Promise.all([restarting.start(), helper.start(), bird.start()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([restarting?.stop(), helper?.stop(), bird?.stop()]);
    await lab.destroy();
  });

  const birdHas = async () => (await bird.routes('master4')).get('198.18.64.0/26');

  it('both helpers learn the route', async () => {
    await waitFor('bird', birdHas, 20_000);
    await waitFor('tabby helper', async () => (await helper.routes()).has('198.18.64.0/26'), 20_000);
  });

  it('keeps the route through a SIGKILL and a restart within the restart time, then refreshes it', async () => {
    await restarting.stop('SIGKILL');
    const stale = await waitFor(
      'stale at the Tabby helper',
      async () => (await helper.routes()).get('198.18.64.0/26')?.stale === true,
      10_000,
    );
    expect(stale).toBe(true);
    expect((await helper.json<{ prefix: string }[]>('show', 'fib')).map((f) => f.prefix)).toContain('198.18.64.0/26');
    expect(await birdHas()).toMatch(/198\.18\.64\.0\/26/);
    await restarting.start(['-R']);
    await waitFor(
      'refreshed at the Tabby helper',
      async () => (await helper.routes()).get('198.18.64.0/26')?.stale === false,
      20_000,
    );
    expect(await birdHas()).toBeDefined();
    const status = await restarting.json<{ graceful_restart: { restarting: boolean } }>('show', 'status');
    await waitFor(
      'deferral over',
      async () => !(await restarting.json<typeof status>('show', 'status')).graceful_restart.restarting,
      15_000,
    );
  }, 60_000);

  it('removes the stale route when the speaker does not come back within its restart time', async () => {
    await waitFor(
      'bgp up again',
      async () =>
        (await restarting.peerState('bird')) === 'Established' && (await restarting.peerState('t3')) === 'Established',
      20_000,
    );
    await restarting.stop('SIGKILL');
    await waitFor('stale', async () => (await helper.routes()).get('198.18.64.0/26')?.stale === true, 10_000);
    await waitFor('gone from the Tabby helper', async () => !(await helper.routes()).has('198.18.64.0/26'), 15_000);
    await waitFor('gone from BIRD', async () => (await birdHas()) === undefined, 15_000);
  }, 60_000);
});
