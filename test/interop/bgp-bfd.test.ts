// `tabby bgpd` with BFD against BIRD 2 with `bfd on` on its BGP protocol, in network namespaces:
// a link that stops carrying packets (both directions dropped, so TCP alone would wait for the hold
// time) closes the BGP session within about a second with Cease/BFD Down (RFC 9384), withdraws the
// peer's routes, makes no reconnection while BFD is Down, and comes back once the link does; a
// reload changes BFD timers without touching the BGP session.
import { isIP } from 'node:net';
import { canUseNetns, haveCommands, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from './bird.js';
import { TabbyRrDaemon } from './route-reflector-daemon.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('bird', 'birdc', 'tc');

const HOLD_TIME_S = 9;

/** Drops every packet leaving eth0 (netem where the kernel has it, else a pfifo of length 0). */
async function dropAll(ns: Netns): Promise<void> {
  const netem = await ns.exec(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'loss', '100%'], {
    allowFailure: true,
  });
  if (netem.exitCode !== 0) await ns.exec(['tc', 'qdisc', 'replace', 'dev', 'eth0', 'root', 'pfifo', 'limit', '0']);
}

async function mend(ns: Netns): Promise<void> {
  await ns.exec(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFailure: true });
}

const tabbyConfig = (bfd: string) => `routerId: 198.18.0.1
asn: 64512
holdTime: ${HOLD_TIME_S}
connectRetryTime: 2
originate:
  - { prefix: 198.18.64.0/26 }
policies:
  - { name: all, default: accept }
peers:
  - { name: bird4, address: 198.18.0.2, asn: 65002, import: all, export: all${bfd ? `, bfd: ${bfd}` : ''} }
`;

const BIRD = `router id 198.18.0.2;
timeformat protocol iso long ms;
protocol device { scan time 1; }
protocol bfd {
  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
}
protocol static static4 { ipv4; route 198.19.1.0/24 blackhole; }
protocol bgp tabby4 {
  local 198.18.0.2 as 65002;
  neighbor 198.18.0.1 as 64512;
  hold time ${HOLD_TIME_S};
  connect retry time 2;
  error wait time 1, 2;
  bfd on;
  ipv4 { import all; export all; };
}
`;

interface BfdRow {
  peer: string;
  state: string;
  local_discriminator: number;
  remote_discriminator: number;
  tx_interval_ms: number;
  detect_time_ms: number;
  min_tx_ms: number;
  bgp_state: string;
  bgp_held: boolean;
  last_diagnostic: string;
}

interface Neighbor {
  state: string;
  established_transitions: number;
  last_notification_sent: { code: number; subcode: number; text: string } | null;
}

/** BIRD's `show bfd sessions` state for an address. */
async function birdBfd(bird: BirdDaemon, address: string): Promise<string> {
  for (const line of (await bird.birdc('show bfd sessions')).split('\n')) {
    const f = line.trim().split(/\s+/);
    if (isIP(f[0] ?? '') && f[0] === address) return f[2] ?? '';
  }
  return 'missing';
}

describe.skipIf(!enabled)('interop: tabby bgpd with BFD against BIRD 2 (bfd on)', () => {
  const lab = new NetLab();
  let tabby: TabbyDaemon;
  let bird: BirdDaemon;
  let tabbyNs: Netns;
  let birdNs: Netns;

  const bfdRows = () => tabby.json<BfdRow[]>('show', 'bfd');
  const neighbor = () => tabby.json<Neighbor>('show', 'neighbor', 'bird4');
  const explain = async (err: Error): Promise<never> => {
    throw new Error(
      `${err.message}\nTabby: ${JSON.stringify(await bfdRows().catch(() => 'no answer'))}\nBIRD: ${await bird.birdc('show bfd sessions')}\n${await bird.birdc('show protocols tabby4')}\n${tabby.log.slice(-6000)}`,
    );
  };

  beforeAll(async () => {
    tabbyNs = await lab.netns('tabby');
    birdNs = await lab.netns('bird');
    await lab.link(tabbyNs, 'eth0', '198.18.0.1/24', birdNs, 'eth0', '198.18.0.2/24');
    bird = new BirdDaemon(birdNs, BIRD);
    await bird.start();
    tabby = new TabbyDaemon(tabbyNs, tabbyConfig('{ enabled: true, minRx: 100, minTx: 100, multiplier: 3 }'));
    await tabby.start();
  }, 60_000);
  afterAll(async () => {
    await tabby?.stop();
    await bird?.stop();
    await lab.destroy();
  });

  it('BGP and BFD come up; bgpctl show bfd shows the session with both discriminators and the negotiated timers', async () => {
    await waitFor(
      'Established and BFD Up on both sides',
      async () =>
        (await tabby.peerState('bird4')) === 'Established' &&
        (await bfdRows())[0]?.state === 'Up' &&
        (await birdBfd(bird, '198.18.0.1')) === 'Up',
      30_000,
    ).catch(explain);
    // The detection time follows the peer's fast TX once its first fast packets arrive.
    await waitFor('fast timers', async () => (await bfdRows())[0]?.detect_time_ms === 300, 10_000).catch(explain);
    const [row] = await bfdRows();
    expect(row).toMatchObject({ peer: 'bird4', state: 'Up', tx_interval_ms: 100, bgp_state: 'Established' });
    expect(row!.local_discriminator).toBeGreaterThan(0);
    expect(row!.remote_discriminator).toBeGreaterThan(0);
    await waitFor('BIRD route', async () => (await tabby.routes()).has('198.19.1.0/24'), 10_000);
  }, 50_000);

  it('a dead link closes the session with Cease/BFD Down well before the hold time, holds it, and it comes back', async () => {
    const before = (await neighbor()).established_transitions;
    const cutAt = Date.now();
    await Promise.all([dropAll(tabbyNs), dropAll(birdNs)]);
    await waitFor('the session closed', async () => (await tabby.peerState('bird4')) !== 'Established', 8_000).catch(
      explain,
    );
    const closedAfterMs = Date.now() - cutAt;
    // Generous bound: the hold time (9 s) is what it would take without BFD; the benchmark measures.
    expect(closedAfterMs).toBeLessThan(HOLD_TIME_S * 1000);
    const n = await neighbor();
    expect(n.last_notification_sent).toMatchObject({ code: 6, subcode: 10 });
    expect((await tabby.routes()).has('198.19.1.0/24')).toBe(false);
    const [row] = await bfdRows();
    expect(row).toMatchObject({ state: 'Down', bgp_held: true, last_diagnostic: 'Control Detection Time Expired' });
    // Held: no connection attempt while BFD is Down.
    await new Promise((r) => setTimeout(r, 2500));
    expect((await neighbor()).state).not.toBe('Established');
    await Promise.all([mend(tabbyNs), mend(birdNs)]);
    await waitFor('back up', async () => (await tabby.peerState('bird4')) === 'Established', 30_000).catch(explain);
    expect((await neighbor()).established_transitions).toBe(before + 1);
    expect((await bfdRows())[0]).toMatchObject({ state: 'Up', bgp_held: false });
    await waitFor('BIRD route again', async () => (await tabby.routes()).has('198.19.1.0/24'), 15_000);
  }, 60_000);

  it('reload: new BFD timers take effect without resetting BGP; BFD off removes the session', async () => {
    const before = (await neighbor()).established_transitions;
    tabby.write(tabbyConfig('{ minRx: 100, minTx: 200, multiplier: 3 }'));
    await tabby.ctl(['reload']);
    await waitFor('min TX 200', async () => (await bfdRows())[0]?.tx_interval_ms === 200, 10_000).catch(explain);
    const n = await neighbor();
    expect([n.state, n.established_transitions]).toEqual(['Established', before]);
    tabby.write(tabbyConfig(''));
    await tabby.ctl(['reload']);
    expect(await bfdRows()).toEqual([]);
    // Tabby keeps its side; BIRD 2.0 ends its BGP session when the peer's BFD goes AdminDown
    // (RFC 5882 3.2 says it should not), so the session may come back once.
    await waitFor('Established without BFD', async () => (await tabby.peerState('bird4')) === 'Established', 15_000);
  }, 40_000);

  it('SIGTERM with BFD running still ends bgpd within its grace time, exit 0', async () => {
    tabby.write(tabbyConfig('true'));
    await tabby.ctl(['reload']);
    await waitFor('BFD Up again', async () => (await bfdRows())[0]?.state === 'Up', 15_000).catch(explain);
    await tabby.stop('SIGTERM');
    expect(await tabby.proc!.wait()).toBe(0);
    expect(tabby.log).not.toContain('did not stop in time');
  }, 30_000);
});

describe.skipIf(!enabled)('interop: multihop BGP with multihop BFD (RFC 5883) against BIRD 2, through a router', () => {
  const lab = new NetLab();
  let tabby: TabbyDaemon;
  let bird: BirdDaemon;
  let router: Netns;

  beforeAll(async () => {
    const tabbyNs = await lab.netns('tabby');
    router = await lab.netns('router');
    const birdNs = await lab.netns('bird');
    await lab.link(tabbyNs, 'eth0', '198.18.2.1/24', router, 'eth0', '198.18.2.254/24');
    await lab.link(router, 'eth1', '198.18.3.254/24', birdNs, 'eth0', '198.18.3.2/24');
    await router.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await tabbyNs.ip(['route', 'add', '198.18.3.0/24', 'via', '198.18.2.254']);
    await birdNs.ip(['route', 'add', '198.18.2.0/24', 'via', '198.18.3.254']);
    bird = new BirdDaemon(
      birdNs,
      `router id 198.18.3.2;
protocol device { scan time 1; }
protocol bfd { multihop { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol static static4 { ipv4; route 198.19.1.0/24 blackhole; }
protocol bgp tabby4 {
  local 198.18.3.2 as 65002;
  neighbor 198.18.2.1 as 64512;
  multihop 2;
  hold time ${HOLD_TIME_S};
  connect retry time 2;
  error wait time 1, 2;
  bfd on;
  ipv4 { import all; export all; };
}
`,
    );
    await bird.start();
    tabby = new TabbyDaemon(
      tabbyNs,
      `routerId: 198.18.2.1
asn: 64512
holdTime: ${HOLD_TIME_S}
connectRetryTime: 2
policies:
  - { name: all, default: accept }
peers:
  - { name: bird4, address: 198.18.3.2, asn: 65002, multihop: 2, import: all, export: all, bfd: { minRx: 100, minTx: 100 } }
`,
    );
    await tabby.start();
  }, 60_000);
  afterAll(async () => {
    await tabby?.stop();
    await bird?.stop();
    await lab.destroy();
  });

  it('a multihop peer gets a multihop BFD session, and a dead path closes BGP with Cease/BFD Down', async () => {
    const rows = () => tabby.json<(BfdRow & { multihop: boolean })[]>('show', 'bfd');
    await waitFor(
      'Established with multihop BFD Up',
      async () => (await tabby.peerState('bird4')) === 'Established' && (await rows())[0]?.state === 'Up',
      30_000,
    );
    expect((await rows())[0]).toMatchObject({ multihop: true, bgp_state: 'Established' });
    // The router stops forwarding both ways.
    for (const dev of ['eth0', 'eth1'])
      await router.exec(['tc', 'qdisc', 'replace', 'dev', dev, 'root', 'pfifo', 'limit', '0']);
    const t0 = Date.now();
    await waitFor('closed', async () => (await tabby.peerState('bird4')) !== 'Established', 8_000);
    expect(Date.now() - t0).toBeLessThan(HOLD_TIME_S * 1000);
    const n = await tabby.json<Neighbor>('show', 'neighbor', 'bird4');
    expect(n.last_notification_sent).toMatchObject({ code: 6, subcode: 10 });
  }, 50_000);
});

describe.skipIf(!enabled)('interop: tabby rr with clientDefaults.bfd and a BIRD client with bfd on', () => {
  const lab = new NetLab();
  let rr: TabbyRrDaemon;
  let bird: BirdDaemon;

  beforeAll(async () => {
    const rrNs = await lab.netns('rr');
    const client = await lab.netns('client');
    await lab.link(rrNs, 'eth0', '198.18.0.10/24', client, 'eth0', '198.18.0.1/24');
    bird = new BirdDaemon(
      client,
      `router id 198.18.0.1;
protocol device { scan time 1; }
protocol bfd { interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }; }
protocol static { ipv4; route 198.19.1.0/24 blackhole; }
protocol bgp reflector {
  local 198.18.0.1 as 64512;
  direct; # BIRD's iBGP is multihop (and so is its BFD) unless direct
  neighbor 198.18.0.10 as 64512;
  hold time ${HOLD_TIME_S};
  connect retry time 2;
  bfd on;
  ipv4 { import all; export all; };
}
`,
    );
    await bird.start();
    rr = new TabbyRrDaemon(
      rrNs,
      `routerId: 198.18.0.10
asn: 64512
clusterId: 198.18.0.100
holdTime: ${HOLD_TIME_S}
clientDefaults: { bfd: { minRx: 100, minTx: 100, multiplier: 3 } }
clients:
  - { name: bird, address: 198.18.0.1 }
`,
    );
    await rr.start();
  }, 60_000);
  afterAll(async () => {
    await rr?.stop();
    await bird?.stop();
    await lab.destroy();
  });

  it("the client's BFD session comes Up on the reflector (show bfd), and a dead link closes it with Cease/BFD Down", async () => {
    const rows = () => rr.json<BfdRow[]>('show', 'bfd');
    await waitFor(
      'Established with BFD Up',
      async () => (await rr.peerState('bird')) === 'Established' && (await rows())[0]?.state === 'Up',
      30_000,
    ).catch(async (err: Error) => {
      throw new Error(
        `${err.message}\n${JSON.stringify(await rows())}\n${await rr.ctl(['show', 'summary'], true).then((r) => r.stdout)}\n${await bird.birdc('show bfd sessions')}\n${await bird.birdc('show protocols all reflector')}\n${rr.log.slice(-3000)}`,
      );
    });
    expect((await rows())[0]).toMatchObject({ peer: 'bird', detect_time_ms: 300, bgp_state: 'Established' });
    await Promise.all([dropAll(rr.ns), dropAll(bird.ns)]);
    await waitFor('closed', async () => (await rr.peerState('bird')) !== 'Established', 8_000);
    const n = await rr.json<Neighbor>('show', 'neighbor', 'bird');
    expect(n.last_notification_sent).toMatchObject({ code: 6, subcode: 10 });
  }, 50_000);
});
