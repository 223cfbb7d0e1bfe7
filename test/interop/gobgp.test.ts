import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GobgpDaemon } from './gobgp.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('gobgpd', 'gobgp');

function gobgpConfig(opts: { asn: number; tabbyPassive: boolean }): string {
  const neighbor = (addr: string, fam: string) => `
[[neighbors]]
  [neighbors.config]
    neighbor-address = "${addr}"
    peer-as = 64512
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 2
  [neighbors.transport.config]
    passive-mode = ${!opts.tabbyPassive}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "${fam}"
`;
  return `[global.config]
  as = ${opts.asn}
  router-id = "198.18.0.3"
${neighbor('198.18.0.1', 'ipv4-unicast')}${neighbor('2001:db8::1', 'ipv6-unicast')}`;
}

function tabbyConfig(opts: { asn: number; passive: boolean }): string {
  const ebgp = opts.asn !== 64512;
  const pol = ebgp ? ', import: all, export: all' : '';
  return `routerId: 198.18.0.1
asn: 64512
holdTime: 9
connectRetryTime: 2
originate:
  - { prefix: 198.18.66.0/26, communities: ["64512:300"] }
  - { prefix: "2001:db8:66::/64" }
policies:
  - { name: all, default: accept }
peers:
  - { name: gobgp4, address: 198.18.0.3, asn: ${opts.asn}, passive: ${opts.passive}, families: [ipv4-unicast]${pol} }
  - { name: gobgp6, address: "2001:db8::3", asn: ${opts.asn}, passive: ${opts.passive}, families: [ipv6-unicast]${pol} }
`;
}

for (const mode of [
  { name: 'eBGP, Tabby passive', asn: 65003, tabbyPassive: true },
  { name: 'iBGP, Tabby active', asn: 64512, tabbyPassive: false },
]) {
  describe.skipIf(!enabled)(`interop: Tabby and GoBGP, ${mode.name}`, () => {
    const lab = new NetLab();
    let tabby: TabbyDaemon;
    let gobgp: GobgpDaemon;

    beforeAll(async () => {
      const t = await lab.netns('tabby');
      const g = await lab.netns('gobgp');
      await lab.link(t, 'eth0', '198.18.0.1/24', g, 'eth0', '198.18.0.3/24');
      await t.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
      await g.ip(['addr', 'add', '2001:db8::3/64', 'dev', 'eth0', 'nodad']);
      gobgp = new GobgpDaemon(g, gobgpConfig({ asn: mode.asn, tabbyPassive: mode.tabbyPassive }));
      await gobgp.start();
      tabby = new TabbyDaemon(t, tabbyConfig({ asn: mode.asn, passive: mode.tabbyPassive }));
      await tabby.start();
    }, 60_000);
    afterAll(async () => {
      await tabby?.stop();
      await gobgp?.stop();
      await lab.destroy();
    });

    it('reaches Established on IPv4 and IPv6 sessions', async () => {
      await waitFor(
        'tabby sessions',
        async () =>
          (await tabby.peerState('gobgp4')) === 'Established' && (await tabby.peerState('gobgp6')) === 'Established',
        30_000,
      );
      await waitFor('gobgp sessions', async () => (await gobgp.neighborState('198.18.0.1')) === 'ESTABLISHED', 10_000);
    });

    it('carries routes both ways with attributes intact, and withdrawals', async () => {
      await gobgp.gobgp([
        'global',
        'rib',
        'add',
        '-a',
        'ipv4',
        '198.19.3.0/24',
        'nexthop',
        '198.18.0.3',
        'community',
        '65003:30',
        'med',
        '30',
      ]);
      await gobgp.gobgp(['global', 'rib', 'add', '-a', 'ipv6', '2001:db8:3::/48', 'nexthop', '2001:db8::3']);
      const r = await waitFor('routes at tabby', async () => {
        const m = await tabby.routes();
        return m.has('198.19.3.0/24') && m.has('2001:db8:3::/48') ? m : null;
      });
      expect(r.get('198.19.3.0/24')).toMatchObject({
        next_hop: '198.18.0.3',
        communities: ['65003:30'],
        med: 30,
        as_path: mode.asn === 64512 ? '' : '65003',
      });
      const g4 = await waitFor('route at gobgp', async () => (await gobgp.rib('ipv4')).get('198.18.66.0/26'));
      expect(g4).toContain('198.18.0.1');
      expect(g4).toContain(mode.asn === 64512 ? '' : '64512');
      expect(g4).toMatch(/Community: \[64512:300\]|64512:300/);
      const g6 = await waitFor('v6 route at gobgp', async () => (await gobgp.rib('ipv6')).get('2001:db8:66::/64'));
      expect(g6).toContain('2001:db8::1');
      await gobgp.gobgp(['global', 'rib', 'del', '-a', 'ipv4', '198.19.3.0/24']);
      await waitFor('withdrawal at tabby', async () => !(await tabby.routes()).has('198.19.3.0/24'));
    });

    it('recovers after GoBGP is killed and restarted', async () => {
      await gobgp.stop('SIGKILL');
      await waitFor('session drop seen', async () => (await tabby.peerState('gobgp4')) !== 'Established', 20_000);
      await gobgp.start();
      await waitFor('re-established', async () => (await tabby.peerState('gobgp4')) === 'Established', 30_000);
      await waitFor('route re-sent to gobgp', async () => (await gobgp.rib('ipv4')).has('198.18.66.0/26'), 20_000);
    }, 90_000);
  });
}
