import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GobgpDaemon, gobgpToml } from './gobgp.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('gobgpd', 'gobgp');

// One IPv4 session carrying IPv4 and IPv6 unicast, as FRR and GoBGP neighbours are usually set up.

const tabbyConfig = (asn: number) => `routerId: 198.18.0.1
asn: 64512
holdTime: 9
connectRetryTime: 1
originate:
  - { prefix: 198.18.66.0/26 }
  - { prefix: "2001:db8:66::/64", communities: ["64512:6"] }
policies:
  - { name: all, default: accept }
peers:
  - name: gobgp
    address: 198.18.0.3
    asn: ${asn}
    import: all
    export: all
    families: [ipv4-unicast, ipv6-unicast]
    nextHopV6: "2001:db8::1"
`;

for (const mode of [
  { name: 'iBGP', asn: 64512 },
  { name: 'eBGP', asn: 65003 },
])
  describe.skipIf(!enabled)(`interop: IPv6 unicast over an IPv4 session with GoBGP (nextHopV6), ${mode.name}`, () => {
    const lab = new NetLab();
    let tabby: TabbyDaemon;
    let gobgp: GobgpDaemon;

    beforeAll(async () => {
      const t = await lab.netns('tabby');
      const g = await lab.netns('gobgp');
      await lab.link(t, 'eth0', '198.18.0.1/24', g, 'eth0', '198.18.0.3/24');
      await t.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
      await g.ip(['addr', 'add', '2001:db8::3/64', 'dev', 'eth0', 'nodad']);
      gobgp = new GobgpDaemon(g, gobgpToml(mode.asn, ['ipv4-unicast', 'ipv6-unicast']));
      await gobgp.start();
      tabby = new TabbyDaemon(t, tabbyConfig(mode.asn));
      await tabby.start();
      await waitFor('session', async () => (await tabby.peerState('gobgp')) === 'Established', 30_000);
    }, 60_000);
    afterAll(async () => {
      await tabby?.stop();
      await gobgp?.stop();
      await lab.destroy();
    });

    it('one session, both families negotiated', async () => {
      const n = await tabby.json<{ families: string[]; capabilities_received: string[] }>('show', 'neighbor', 'gobgp');
      expect(n.families).toEqual(['ipv4-unicast', 'ipv6-unicast']);
    });

    it('GoBGP receives our IPv6 route with the configured next hop, and our IPv4 route with the session address', async () => {
      const g6 = await waitFor(
        'v6 route at gobgp',
        async () => (await gobgp.rib('ipv6')).get('2001:db8:66::/64'),
        20_000,
      );
      expect(g6).toContain('2001:db8::1');
      expect(g6).toContain('64512:6');
      const g4 = await waitFor('v4 route at gobgp', async () => (await gobgp.rib('ipv4')).get('198.18.66.0/26'));
      expect(g4).toContain('198.18.0.1');
    });

    it("we receive GoBGP's IPv6 route over the IPv4 session and hand it to the FIB, and its withdrawal", async () => {
      await gobgp.gobgp(['global', 'rib', 'add', '-a', 'ipv6', '2001:db8:3::/48', 'nexthop', '2001:db8::3']);
      const r = await waitFor('v6 route at tabby', async () => (await tabby.routes()).get('2001:db8:3::/48'), 20_000);
      expect(r).toMatchObject({ next_hop: '2001:db8::3', from: 'gobgp' });
      const fib = await tabby.json<{ prefix: string; next_hops: string[] }[]>('show', 'fib');
      expect(fib.find((f) => f.prefix === '2001:db8:3::/48')).toMatchObject({ next_hops: ['2001:db8::3'] });
      await gobgp.gobgp(['global', 'rib', 'del', '-a', 'ipv6', '2001:db8:3::/48']);
      await waitFor('withdrawn at tabby', async () => !(await tabby.routes()).has('2001:db8:3::/48'), 20_000);
    });
  });
