import { canUseNetns, haveCommands, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from './bird.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('bird', 'birdc');

/** Two hosts on one veth pair: Tabby at .1 / ::1, BIRD at .2 / ::2. */
async function hosts(lab: NetLab): Promise<{ tabby: Netns; bird: Netns }> {
  const tabby = await lab.netns('tabby');
  const bird = await lab.netns('bird');
  await lab.link(tabby, 'eth0', '198.18.0.1/24', bird, 'eth0', '198.18.0.2/24');
  await tabby.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
  await bird.ip(['addr', 'add', '2001:db8::2/64', 'dev', 'eth0', 'nodad']);
  return { tabby, bird };
}

describe.skipIf(!enabled)('interop: Tabby and BIRD 2, eBGP (Tabby active, BIRD passive), IPv4 and IPv6', () => {
  const lab = new NetLab();
  let tabby: TabbyDaemon;
  let bird: BirdDaemon;
  const tabbyConfig = (originate: string) => `routerId: 198.18.0.1
asn: 64512
holdTime: 9
connectRetryTime: 2
originate:
${originate}
policies:
  - { name: all, default: accept }
peers:
  - { name: bird4, address: 198.18.0.2, asn: 65002, import: all, export: all, families: [ipv4-unicast] }
  - { name: bird6, address: "2001:db8::2", asn: 65002, import: all, export: all, families: [ipv6-unicast] }
`;
  const bothRoutes = `  - { prefix: 198.18.64.0/26, communities: ["64512:100"], largeCommunities: ["64512:1:2"] }
  - { prefix: "2001:db8:64::/64" }`;

  beforeAll(async () => {
    const h = await hosts(lab);
    bird = new BirdDaemon(
      h.bird,
      `router id 198.18.0.2;
protocol device {}
protocol static static4 {
  ipv4;
  route 198.19.1.0/24 blackhole;
}
protocol static static6 {
  ipv6;
  route 2001:db8:1::/48 blackhole;
}
protocol bgp tabby4 {
  local 198.18.0.2 as 65002;
  neighbor 198.18.0.1 as 64512;
  passive on;
  hold time 9;
  ipv4 { import all; export filter { bgp_med = 50; bgp_community.add((65002, 10)); accept; }; };
}
protocol bgp tabby6 {
  local 2001:db8::2 as 65002;
  neighbor 2001:db8::1 as 64512;
  passive on;
  ipv6 { import all; export all; };
}
`,
    );
    await bird.start();
    tabby = new TabbyDaemon(h.tabby, tabbyConfig(bothRoutes));
    await tabby.start();
  }, 60_000);
  afterAll(async () => {
    await tabby?.stop();
    await bird?.stop();
    await lab.destroy();
  });

  it('reaches Established on both sessions', async () => {
    await waitFor(
      'tabby sessions',
      async () =>
        (await tabby.peerState('bird4')) === 'Established' && (await tabby.peerState('bird6')) === 'Established',
      20_000,
    );
    await waitFor(
      'bird sessions',
      async () =>
        (await bird.protocolInfo('tabby4')).includes('Established') &&
        (await bird.protocolInfo('tabby6')).includes('Established'),
      20_000,
    );
  });

  it('carries BIRD routes to Tabby with AS path, MED and communities intact', async () => {
    const r = await waitFor('routes from bird', async () => {
      const m = await tabby.routes();
      return m.has('198.19.1.0/24') && m.has('2001:db8:1::/48') ? m : null;
    });
    expect(r.get('198.19.1.0/24')).toMatchObject({
      as_path: '65002',
      med: 50,
      communities: ['65002:10'],
      next_hop: '198.18.0.2',
      from: 'bird4',
    });
    expect(String(r.get('2001:db8:1::/48')?.next_hop)).toMatch(/^2001:db8::2(%fe80:.*)?$/);
  });

  it('carries Tabby routes to BIRD with AS path and communities intact', async () => {
    const r4 = await waitFor('route at bird', async () => {
      const m = await bird.routes('master4');
      return m.get('198.18.64.0/26');
    });
    expect(r4).toMatch(/via 198\.18\.0\.1/);
    expect(r4).toMatch(/BGP\.as_path: 64512\n/);
    expect(r4).toMatch(/BGP\.community: \(64512,100\)/);
    expect(r4).toMatch(/BGP\.large_community: \(64512, 1, 2\)/);
    const r6 = await waitFor('v6 route at bird', async () => (await bird.routes('master6')).get('2001:db8:64::/64'));
    expect(r6).toMatch(/via 2001:db8::1/);
  });

  it('propagates withdrawals both ways', async () => {
    tabby.write(tabbyConfig('  - { prefix: "2001:db8:64::/64" }'));
    await tabby.ctl(['reload']);
    await waitFor('withdrawal at bird', async () => !(await bird.routes('master4')).has('198.18.64.0/26'));
    await bird.birdc('disable static4');
    await waitFor('withdrawal at tabby', async () => !(await tabby.routes()).has('198.19.1.0/24'));
    await bird.birdc('enable static4');
    await waitFor('route back at tabby', async () => (await tabby.routes()).has('198.19.1.0/24'));
  });

  it('recovers after BIRD is killed and restarted', async () => {
    await bird.stop('SIGKILL');
    await waitFor(
      'tabby sees the session drop',
      async () => (await tabby.peerState('bird4')) !== 'Established',
      20_000,
    );
    await bird.start();
    await waitFor('re-established', async () => (await tabby.peerState('bird4')) === 'Established', 30_000);
    await waitFor(
      'routes refreshed',
      async () => {
        const m = await tabby.routes();
        return m.has('198.19.1.0/24') && !(m.get('198.19.1.0/24')?.stale as boolean);
      },
      20_000,
    );
  }, 90_000);
});

describe.skipIf(!enabled)('interop: Tabby and BIRD 2, iBGP (BIRD active, Tabby passive)', () => {
  const lab = new NetLab();
  let tabby: TabbyDaemon;
  let bird: BirdDaemon;

  beforeAll(async () => {
    const h = await hosts(lab);
    tabby = new TabbyDaemon(
      h.tabby,
      `routerId: 198.18.0.1
asn: 64512
originate:
  - { prefix: 198.18.65.0/26, communities: ["64512:200"] }
peers:
  - { name: bird, address: 198.18.0.2, asn: 64512, passive: true, holdTime: 9, families: [ipv4-unicast] }
`,
    );
    await tabby.start();
    bird = new BirdDaemon(
      h.bird,
      `router id 198.18.0.2;
protocol device {}
protocol static {
  ipv4;
  route 198.19.2.0/24 blackhole;
}
protocol bgp tabby {
  local 198.18.0.2 as 64512;
  neighbor 198.18.0.1 as 64512;
  direct;
  hold time 9;
  connect retry time 2;
  ipv4 {
    import all;
    export filter { bgp_local_pref = 300; bgp_med = 20; accept; };
  };
}
`,
    );
    await bird.start();
  }, 60_000);
  afterAll(async () => {
    await bird?.stop();
    await tabby?.stop();
    await lab.destroy();
  });

  it('establishes with Tabby passive and keeps LOCAL_PREF and MED on iBGP', async () => {
    await waitFor('established', async () => (await tabby.peerState('bird')) === 'Established', 20_000);
    const r = await waitFor('route from bird', async () => (await tabby.routes()).get('198.19.2.0/24'));
    expect(r).toMatchObject({ local_pref: 300, med: 20, as_path: '', ibgp: true, next_hop: '198.18.0.2' });
    const b = await waitFor('route at bird', async () => (await bird.routes('master4')).get('198.18.65.0/26'));
    expect(b).toMatch(/BGP\.local_pref: 100/);
    expect(b).toMatch(/BGP\.community: \(64512,200\)/);
    expect(b).toMatch(/BGP\.next_hop: 198\.18\.0\.1/);
  });
});
