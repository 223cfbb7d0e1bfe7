import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from './bird.js';
import { TabbyDaemon } from './tabby-daemon.js';

// ADD-PATH (RFC 7911) with BIRD 2, both directions: two clients announce the same prefix; the
// reflector advertises both paths to a third client that negotiated ADD-PATH. With `select: all`,
// a fourth client's path (never best: local-pref 50), announced and withdrawn after the sessions
// are up, must reach the ADD-PATH client too.

const enabled = canUseNetns() && haveCommands('bird', 'birdc');
const PREFIX = '198.19.9.0/24';

/** A BIRD 2 iBGP client of the reflector at `rr`, originating PREFIX (or not), with ADD-PATH `addPaths`. */
function birdClient(id: string, rr: string, originate: boolean, addPaths = ''): string {
  return `router id ${id};
protocol device {}
${originate ? `protocol static { ipv4; route ${PREFIX} blackhole; }` : ''}
protocol bgp reflector {
  local ${id} as 64512;
  direct;
  neighbor ${rr} as 64512;
  hold time 9;
  connect retry time 2;
  ipv4 { import all; export all;${addPaths ? ` add paths ${addPaths};` : ''} };
}
`;
}

interface RibRoute {
  prefix: string;
  path_id: number;
  next_hop: string;
  local_pref: number;
  best: boolean;
  ecmp: boolean;
  flags: string;
}

/** A BIRD 2 client whose path for PREFIX (off until `birdc enable static1`) has local-pref 50. */
function birdWorseClient(id: string, rr: string): string {
  return `router id ${id};
protocol device {}
protocol static static1 { disabled; ipv4; route ${PREFIX} blackhole; }
protocol bgp reflector {
  local ${id} as 64512;
  direct;
  neighbor ${rr} as 64512;
  hold time 9;
  connect retry time 2;
  ipv4 { import all; export filter { bgp_local_pref = 50; accept; }; };
}
`;
}

describe.skipIf(!enabled)('interop: ADD-PATH, a Tabby reflector sending to a BIRD 2 client', () => {
  const lab = new NetLab();
  const RR = '198.18.0.20';
  let rr: TabbyDaemon;
  const birds: BirdDaemon[] = [];

  beforeAll(async () => {
    const sw = await lab.bridge();
    const nsRr = await lab.netns('tabrr');
    await sw.plug(nsRr, 'eth0', `${RR}/24`);
    for (const i of [1, 2, 3, 4]) {
      const ns = await lab.netns(`bird${i}`);
      await sw.plug(ns, 'eth0', `198.18.0.${i}/24`);
      const id = `198.18.0.${i}`;
      birds.push(
        new BirdDaemon(ns, i === 4 ? birdWorseClient(id, RR) : birdClient(id, RR, i < 3, i === 3 ? 'rx' : '')),
      );
    }
    rr = new TabbyDaemon(
      nsRr,
      `routerId: ${RR}
asn: 64512
holdTime: 9
connectRetryTime: 2
clusterId: 198.18.0.200
peers:
  - { name: b1, address: 198.18.0.1, asn: 64512, routeReflectorClient: true }
  - { name: b2, address: 198.18.0.2, asn: 64512, routeReflectorClient: true }
  - { name: b3, address: 198.18.0.3, asn: 64512, routeReflectorClient: true, addPath: { send: true, select: all } }
  - { name: b4, address: 198.18.0.4, asn: 64512, routeReflectorClient: true }
`,
    );
    await Promise.all([rr.start(), ...birds.map((b) => b.start())]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([rr?.stop(), ...birds.map((b) => b.stop())]);
    await lab.destroy();
  });

  it('negotiates ADD-PATH with the receiving client only', async () => {
    for (const p of ['b1', 'b2', 'b3', 'b4'])
      await waitFor(`${p} Established`, async () => (await rr.peerState(p)) === 'Established', 30_000);
    const b3 = await rr.json<{ capabilities_received: string[]; capabilities_sent: string[] }>(
      'show',
      'neighbor',
      'b3',
    );
    expect(b3?.capabilities_sent.some((c) => c.startsWith('add-path'))).toBe(true);
    expect(b3?.capabilities_received.some((c) => c.startsWith('add-path'))).toBe(true);
    const b1 = await rr.json<{ capabilities_received: string[] }>('show', 'neighbor', 'b1');
    expect(b1?.capabilities_received.some((c) => c.startsWith('add-path'))).toBe(false);
  }, 40_000);

  it("the ADD-PATH client holds both paths; a plain client only the reflector's best", async () => {
    const paths = (text: string | undefined) => [...(text ?? '').matchAll(/via (198\.18\.0\.\d+)/g)].map((m) => m[1]);
    const atB3 = await waitFor('two paths at b3', async () => {
      const hops = paths((await birds[2]!.routes()).get(PREFIX));
      return hops.length === 2 ? hops : null;
    });
    expect(atB3.sort()).toEqual(['198.18.0.1', '198.18.0.2']);
    // A plain client gets the reflector's best only: b1's path (lower router ID) goes to b2, and
    // nothing goes back to b1, whose own path it is.
    await waitFor('the best path at b2', async () => paths((await birds[1]!.routes()).get(PREFIX)).length > 0);
    expect(paths((await birds[1]!.routes()).get(PREFIX))).toEqual(['198.18.0.1']);
    expect(paths((await birds[0]!.routes()).get(PREFIX))).toEqual([]);
  });

  it('a withdrawal of one path leaves the ADD-PATH client with the other', async () => {
    await birds[1]!.birdc('disable static1');
    await waitFor('one path at b3', async () => {
      const text = (await birds[2]!.routes()).get(PREFIX) ?? '';
      return /via 198\.18\.0\.1/.test(text) && !/via 198\.18\.0\.2/.test(text);
    });
  });

  it('select all: a path that is never best, announced and withdrawn after the sessions are up, reaches the ADD-PATH client', async () => {
    const hops = async () =>
      [...((await birds[2]!.routes()).get(PREFIX) ?? '').matchAll(/via (198\.18\.0\.\d+)/g)].map((m) => m[1]).sort();
    await birds[3]!.birdc('enable static1');
    await waitFor("b4's path at the reflector", async () => {
      const r = await rr.json<{ routes: RibRoute[] }>('show', 'rib', PREFIX);
      return r.routes.some((x) => x.next_hop === '198.18.0.4' && x.local_pref === 50 && !x.best);
    });
    await waitFor("b4's path at b3", async () => (await hops()).includes('198.18.0.4'));
    expect(await hops()).toEqual(['198.18.0.1', '198.18.0.4']);
    // What the reflector sent b3, path by path, with the path identifiers it used.
    const out = await rr.json<{ routes: RibRoute[] }>('show', 'rib', 'out', 'b3');
    expect(out.routes.map((r) => [r.prefix, r.next_hop, r.local_pref, r.best]).sort()).toEqual([
      [PREFIX, '198.18.0.1', 100, true],
      [PREFIX, '198.18.0.4', 50, false],
    ]);
    expect(new Set(out.routes.map((r) => r.path_id)).size).toBe(2);
    expect(out.routes.every((r) => r.path_id > 0)).toBe(true);
    // Its withdrawal reaches b3 too; the best path stays.
    await birds[3]!.birdc('disable static1');
    await waitFor("b4's path gone from b3", async () => !(await hops()).includes('198.18.0.4'));
    expect(await hops()).toEqual(['198.18.0.1']);
  });
});

describe.skipIf(!enabled)('interop: ADD-PATH, a BIRD 2 reflector sending to a Tabby client', () => {
  const lab = new NetLab();
  const RR = '198.18.0.20';
  let rr: BirdDaemon;
  let tabby: TabbyDaemon;
  const origins: BirdDaemon[] = [];

  beforeAll(async () => {
    const sw = await lab.bridge();
    const nsRr = await lab.netns('birdrr');
    const nsTabby = await lab.netns('tabby');
    await sw.plug(nsRr, 'eth0', `${RR}/24`);
    await sw.plug(nsTabby, 'eth0', '198.18.0.3/24');
    for (const i of [1, 2]) {
      const ns = await lab.netns(`bird${i}`);
      await sw.plug(ns, 'eth0', `198.18.0.${i}/24`);
      origins.push(new BirdDaemon(ns, birdClient(`198.18.0.${i}`, RR, true)));
    }
    rr = new BirdDaemon(
      nsRr,
      `router id ${RR};
protocol device {}
template bgp clients {
  local ${RR} as 64512;
  rr client;
  rr cluster id 198.18.0.200;
  direct;
  hold time 9;
  connect retry time 2;
  ipv4 { import all; export all; };
}
protocol bgp bird1 from clients { neighbor 198.18.0.1 as 64512; }
protocol bgp bird2 from clients { neighbor 198.18.0.2 as 64512; }
protocol bgp tabby3 from clients { neighbor 198.18.0.3 as 64512; ipv4 { import all; export all; add paths tx; }; }
`,
    );
    tabby = new TabbyDaemon(
      nsTabby,
      `routerId: 198.18.0.3
asn: 64512
holdTime: 9
connectRetryTime: 2
peers:
  - { name: rr, address: ${RR}, asn: 64512, addPath: { receive: true } }
`,
    );
    await Promise.all([rr.start(), tabby.start(), ...origins.map((b) => b.start())]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([rr?.stop(), tabby?.stop(), ...origins.map((b) => b.stop())]);
    await lab.destroy();
  });

  it('the Tabby client receives both paths under their own path IDs and makes them an ECMP set', async () => {
    await waitFor('tabby Established', async () => (await tabby.peerState('rr')) === 'Established', 30_000);
    const routes = await waitFor('two paths at Tabby', async () => {
      const r = await tabby.json<{ routes: RibRoute[] }>('show', 'rib', PREFIX);
      return r.routes.length === 2 ? r.routes : null;
    });
    expect(routes.map((r) => r.next_hop).sort()).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(new Set(routes.map((r) => r.path_id)).size).toBe(2);
    // Equal up to the MED step: one best, the other its ECMP partner (`=` in bgpctl show rib).
    expect(routes.filter((r) => r.best)).toHaveLength(1);
    expect(routes.filter((r) => !r.best && r.ecmp)).toHaveLength(1);
  });

  it('a withdrawal of one path reaches the Tabby client; the other stays', async () => {
    await origins[0]!.birdc('disable static1');
    const routes = await waitFor('one path at Tabby', async () => {
      const r = await tabby.json<{ routes: RibRoute[] }>('show', 'rib', PREFIX);
      return r.routes.length === 1 ? r.routes : null;
    });
    expect(routes[0]).toMatchObject({ next_hop: '198.18.0.2', best: true });
  });
});
