// Tabby's BFD against BIRD 2's `protocol bfd`, in network namespaces: each side active (the other
// passive), timer negotiation as BIRD shows it, link cuts (netem loss, veth down) taking both sides
// Down within the detection time and back Up, a blocked main thread, IPv6, keyed SHA-1.
import { isIP } from 'node:net';
import { canUseNetns, haveCommands, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BfdProbe } from './bfd-probe.js';
import { BirdDaemon } from './bird.js';

const enabled = canUseNetns() && haveCommands('bird', 'birdc', 'tc');

interface BirdSession {
  address: string;
  iface: string;
  state: string;
  since: number;
  interval: number;
  timeout: number;
}

/** `birdc show bfd sessions`, with `timeformat protocol iso long ms` so Since is a full timestamp (ms). */
async function birdSessions(bird: BirdDaemon): Promise<Map<string, BirdSession>> {
  const out = await bird.birdc('show bfd sessions');
  const m = new Map<string, BirdSession>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7 || !isIP(f[0]!)) continue;
    // Local time: BIRD runs with this process's environment (TZ), so a local-time parse agrees.
    const since = new Date(`${f[3]}T${f[4]}`).getTime();
    m.set(f[0]!, { address: f[0]!, iface: f[1]!, state: f[2]!, since, interval: Number(f[5]), timeout: Number(f[6]) });
  }
  return m;
}

async function birdState(bird: BirdDaemon, address: string): Promise<string> {
  return (await birdSessions(bird)).get(address)?.state ?? 'missing';
}

function birdConfig(opts: { passive?: boolean; neighbors: string[]; extraIface?: string }): string {
  return `router id 198.18.0.2;
timeformat protocol iso long ms;
protocol device { scan time 1; }
protocol bfd bfd1 {
${opts.extraIface ?? ''}  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3;${opts.passive ? ' passive on;' : ''} };
${opts.neighbors.map((n) => `  neighbor ${n};`).join('\n')}
}
`;
}

async function hosts(lab: NetLab): Promise<{ tabby: Netns; bird: Netns }> {
  const tabby = await lab.netns('tabby');
  const bird = await lab.netns('bird');
  await lab.link(tabby, 'eth0', '198.18.0.1/24', bird, 'eth0', '198.18.0.2/24');
  await tabby.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
  await bird.ip(['addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
  return { tabby, bird };
}

/** Adds both sides' view of the sessions and their logs to a failed wait. */
function explain(probe: BfdProbe, bird: BirdDaemon) {
  return async (err: Error): Promise<never> => {
    const ours = JSON.stringify(await probe.sessions().catch(() => 'no answer'), null, 1);
    throw new Error(
      `${err.message}\nTabby: ${ours}\nBIRD: ${await bird.birdc('show bfd sessions')}\n${probe.log}\n${bird.log}`,
    );
  };
}

/**
 * Drops every packet leaving eth0: `tc netem loss 100%` where the kernel has sch_netem, else a
 * `pfifo` queue of length 0 (built in everywhere; this CI kernel has no netem).
 */
async function dropAll(ns: Netns): Promise<void> {
  const netem = await ns.exec(['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'loss', '100%'], {
    allowFailure: true,
  });
  if (netem.exitCode !== 0) await ns.exec(['tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'pfifo', 'limit', '0']);
}

async function startBird(ns: Netns, config: string): Promise<BirdDaemon> {
  const bird = new BirdDaemon(ns, config);
  await bird.start();
  return bird;
}

describe.skipIf(!enabled)('interop: Tabby BFD and BIRD 2 (BIRD active, Tabby passive)', () => {
  const lab = new NetLab();
  let bird: BirdDaemon;
  let probe: BfdProbe;
  let id: number;

  beforeAll(async () => {
    const h = await hosts(lab);
    bird = await startBird(h.bird, birdConfig({ neighbors: ['198.18.0.1'] }));
    probe = new BfdProbe(h.tabby);
    await probe.start();
    // Deliberately different timers, so the negotiation shows on both sides.
    id = await probe.add({
      peer: '198.18.0.2',
      local: '198.18.0.1',
      minTxMs: 200,
      minRxMs: 150,
      multiplier: 4,
      passive: true,
      name: 'bird',
    });
  }, 60_000);
  afterAll(async () => {
    await probe?.call({ cmd: 'stop' }).catch(() => {});
    await bird?.stop();
    await lab.destroy();
  });

  it('comes Up, with the negotiated timers on both sides (birdc show bfd sessions)', async () => {
    await waitFor('Up at Tabby', async () => (await probe.session(id))?.state === 'Up', 20_000);
    // BIRD: Interval = max(its min tx 100, our min rx 150); Timeout = our mult 4 x max(its min rx 100, our min tx 200).
    const b = await waitFor(
      'BIRD Up with final timers',
      async () => {
        const s = (await birdSessions(bird)).get('198.18.0.1');
        return s?.state === 'Up' && s.timeout === 0.8 ? s : null;
      },
      20_000,
    );
    expect(b).toMatchObject({ iface: 'eth0', interval: 0.15, timeout: 0.8 });
    // Tabby: tx = max(200, BIRD's min rx 100); detection = BIRD's mult 3 x max(150, BIRD's min tx 100).
    const t = await waitFor('Tabby final timers', async () => {
      const s = await probe.session(id);
      return s && !s.pollActive && s.detectTimeMs === 450 ? s : null;
    });
    expect(t).toMatchObject({ txIntervalMs: 200, rxIntervalMs: 150, detectTimeMs: 450, remoteMultiplier: 3, flaps: 0 });
  });

  it('stays Up while Tabby main thread is blocked for 2 s (the sessions run in a worker)', async () => {
    const before = (await birdSessions(bird)).get('198.18.0.1')!;
    await probe.busy(2000);
    const after = (await birdSessions(bird)).get('198.18.0.1')!;
    expect(after.state).toBe('Up');
    expect(after.since).toBe(before.since);
    const s = (await probe.session(id))!;
    expect(s).toMatchObject({ state: 'Up', flaps: 0 });
    expect(s.maxRxGapMs).toBeLessThan(s.detectTimeMs);
    expect(s.maxTxGapMs).toBeLessThan(after.timeout * 1000); // BIRD's detection time
  });

  it('a link that drops everything both ways: both Down within their detection times; mended: both Up again', async () => {
    const t = (await probe.session(id))!;
    const b = (await birdSessions(bird)).get('198.18.0.1')!;
    const cutStart = Date.now();
    await Promise.all([dropAll(probe.ns), dropAll(bird.ns)]);
    const cutDone = Date.now();
    const down = await waitFor(
      'Tabby down',
      async () => (await probe.events()).find((e) => e.event === 'down' && e.id === id),
      5000,
    );
    const bDown = await waitFor('BIRD Down', async () => {
      const s = (await birdSessions(bird)).get('198.18.0.1');
      return s && s.state !== 'Up' ? s : null;
    });
    // Each side: Down no later than its detection time after the cut (plus timer latency), and not before the cut.
    expect(down).toMatchObject({ reason: 'failure', diag: 1 });
    expect(down.at).toBeGreaterThan(cutStart);
    expect(down.at - cutDone).toBeLessThanOrEqual(t.detectTimeMs + 150);
    expect(bDown.since).toBeGreaterThan(cutStart - 5);
    expect(bDown.since - cutDone).toBeLessThanOrEqual(b.timeout * 1000 + 150);

    await Promise.all([
      probe.ns.exec(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']),
      bird.ns.exec(['tc', 'qdisc', 'del', 'dev', 'eth0', 'root']),
    ]);
    await waitFor(
      'both Up again',
      async () => (await probe.session(id))?.state === 'Up' && (await birdState(bird, '198.18.0.1')) === 'Up',
      20_000,
    );
  });
});

describe.skipIf(!enabled)(
  'interop: Tabby BFD and BIRD 2 (Tabby active, BIRD passive), IPv4 and IPv6, keyed SHA-1',
  () => {
    const lab = new NetLab();
    let bird: BirdDaemon;
    let probe: BfdProbe;
    let v4: number;
    let v6: number;
    let auth: number;

    beforeAll(async () => {
      const h = await hosts(lab);
      // A second link for an authenticated session: BIRD takes the first interface pattern that matches.
      await lab.link(h.tabby, 'eth1', '198.18.1.1/24', h.bird, 'eth1', '198.18.1.2/24');
      bird = await startBird(
        h.bird,
        birdConfig({
          passive: true,
          neighbors: ['198.18.0.1', '2001:db8::1', '198.18.1.1'],
          extraIface: `  interface "eth1" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; passive on; authentication keyed sha1; password "tabby-bfd" { id 7; }; };\n`,
        }),
      );
      probe = new BfdProbe(h.tabby);
      await probe.start();
      v4 = await probe.add({ peer: '198.18.0.2', local: '198.18.0.1', minTxMs: 100, minRxMs: 100, multiplier: 3 });
      v6 = await probe.add({ peer: '2001:db8::2', minTxMs: 100, minRxMs: 100, multiplier: 3 });
      auth = await probe.add({
        peer: '198.18.1.2',
        local: '198.18.1.1',
        minTxMs: 100,
        minRxMs: 100,
        auth: { type: 'keyed-sha1', keyId: 7, secret: 'tabby-bfd' },
      });
    }, 60_000);
    afterAll(async () => {
      await probe?.call({ cmd: 'stop' }).catch(() => {});
      await bird?.stop();
      await lab.destroy();
    });

    it('all three come Up at 100 ms x 3 on both sides; the IPv6 local address is found from the route', async () => {
      await waitFor(
        'Tabby Up',
        async () => {
          const s = await probe.sessions();
          return s.length === 3 && s.every((x) => x.state === 'Up' && x.detectTimeMs === 300 && !x.pollActive);
        },
        20_000,
      ).catch(explain(probe, bird));
      const b = await waitFor(
        'BIRD Up',
        async () => {
          const m = await birdSessions(bird);
          const all = ['198.18.0.1', '2001:db8::1', '198.18.1.1'].map((a) => m.get(a));
          return all.every((s) => s?.state === 'Up' && s.timeout === 0.3) ? all : null;
        },
        20_000,
      );
      expect(b.map((s) => [s!.interval, s!.timeout])).toEqual([
        [0.1, 0.3],
        [0.1, 0.3],
        [0.1, 0.3],
      ]);
      expect((await probe.session(v6))!.local).toBe('2001:db8::1');
    });

    it('a wrong SHA-1 key never comes Up (passive BIRD discards our packets and never answers)', async () => {
      await probe.remove(auth);
      await waitFor('BIRD sees the AdminDown', async () => (await birdState(bird, '198.18.1.1')) !== 'Up');
      const bad = await probe.add({
        peer: '198.18.1.2',
        local: '198.18.1.1',
        auth: { type: 'keyed-sha1', keyId: 7, secret: 'wrong' },
      });
      // Three packets at the slow-start rate (about 3 s): a BIRD that accepted them would be Up by now.
      await waitFor('3 packets sent', async () => ((await probe.session(bad))?.packetsSent ?? 0) >= 3, 20_000);
      expect((await probe.session(bad))!.state).toBe('Down');
      expect(await birdState(bird, '198.18.1.1')).not.toBe('Up');
      await probe.remove(bad);
      auth = await probe.add({
        peer: '198.18.1.2',
        local: '198.18.1.1',
        minTxMs: 100,
        minRxMs: 100,
        auth: { type: 'keyed-sha1', keyId: 7, secret: 'tabby-bfd' },
      });
      await waitFor(
        'Up again',
        async () => (await probe.session(auth))?.state === 'Up' && (await birdState(bird, '198.18.1.1')) === 'Up',
        20_000,
      );
    });

    it('veth down: every session Down on both sides within the detection time; up again: all Up', async () => {
      await waitFor(
        'fast timers',
        async () => (await probe.sessions()).every((s) => s.state === 'Up' && s.detectTimeMs === 300),
        20_000,
      );
      // Linux drops IPv6 addresses on link down unless told to keep them (as a real host would keep a static one).
      await probe.ns.exec(['sysctl', '-q', '-w', 'net.ipv6.conf.eth0.keep_addr_on_down=1']);
      const cutStart = Date.now();
      await probe.ns.ip(['link', 'set', 'eth0', 'down']);
      const cutDone = Date.now();
      const downs = await waitFor(
        'Tabby down',
        async () => {
          const ev = (await probe.events()).filter((e) => e.event === 'down' && e.at >= cutStart);
          return ev.length >= 2 ? ev : null;
        },
        5000,
      );
      expect(downs.map((e) => e.id).sort()).toEqual([v4, v6].sort());
      for (const d of downs) {
        expect(d.reason).toBe('failure');
        expect(d.at - cutDone).toBeLessThanOrEqual(300 + 150);
      }
      const m = await waitFor('BIRD Down', async () => {
        const x = await birdSessions(bird);
        return x.get('198.18.0.1')?.state !== 'Up' && x.get('2001:db8::1')?.state !== 'Up' ? x : null;
      });
      for (const a of ['198.18.0.1', '2001:db8::1']) expect(m.get(a)!.since - cutDone).toBeLessThanOrEqual(300 + 150);
      expect(m.get('198.18.1.1')!.state).toBe('Up'); // the other link is untouched
      await probe.ns.ip(['link', 'set', 'eth0', 'up']);
      await waitFor(
        'all Up again',
        async () => {
          const s = await probe.sessions();
          const x = await birdSessions(bird);
          // ... and the send errors of the cut (ENETUNREACH) cleared once packets leave again.
          return (
            s.every((y) => y.state === 'Up' && y.transportError === null) &&
            [...x.values()].every((y) => y.state === 'Up')
          );
        },
        20_000,
      ).catch(explain(probe, bird));
    });
  },
);

describe.skipIf(!enabled)('interop: Tabby BFD and BIRD 2, RFC 5883 multihop through a router', () => {
  const lab = new NetLab();
  let bird: BirdDaemon;
  let probe: BfdProbe;
  let id: number;

  beforeAll(async () => {
    const tabby = await lab.netns('tabby');
    const router = await lab.netns('router');
    const birdNs = await lab.netns('bird');
    await lab.link(tabby, 'eth0', '198.18.2.1/24', router, 'eth0', '198.18.2.254/24');
    await lab.link(router, 'eth1', '198.18.3.254/24', birdNs, 'eth0', '198.18.3.2/24');
    await router.exec(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await tabby.ip(['route', 'add', '198.18.3.0/24', 'via', '198.18.2.254']);
    await birdNs.ip(['route', 'add', '198.18.2.0/24', 'via', '198.18.3.254']);
    bird = await startBird(
      birdNs,
      `router id 198.18.3.2;
timeformat protocol iso long ms;
protocol device { scan time 1; }
protocol bfd bfd1 {
  multihop { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };
  neighbor 198.18.2.1 local 198.18.3.2 multihop on;
}
`,
    );
    probe = new BfdProbe(tabby);
    await probe.start();
    id = await probe.add({ peer: '198.18.3.2', multihop: true, minTxMs: 100, minRxMs: 100 });
  }, 60_000);
  afterAll(async () => {
    await probe?.call({ cmd: 'stop' }).catch(() => {});
    await bird?.stop();
    await lab.destroy();
  });

  it('comes Up over UDP 4784 two hops away (TTL 254 on arrival), the local address found from the route', async () => {
    await waitFor('Tabby Up', async () => (await probe.session(id))?.state === 'Up', 20_000).catch(
      explain(probe, bird),
    );
    await waitFor('BIRD Up', async () => (await birdState(bird, '198.18.2.1')) === 'Up', 20_000).catch(
      explain(probe, bird),
    );
    expect(await probe.session(id)).toMatchObject({ multihop: true, local: '198.18.2.1', flaps: 0 });
  });
});
