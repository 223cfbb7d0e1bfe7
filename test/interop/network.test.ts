import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GobgpDaemon, gobgpToml } from './gobgp.js';
import { TabbyDaemon } from './tabby-daemon.js';

const enabled = canUseNetns() && haveCommands('gobgpd', 'gobgp');

// GoBGP (AS 65003) peers with tabby bgpd (AS 64512); bgpctl network add/delete on the Tabby side.

const TABBY = `routerId: 198.18.0.1
asn: 64512
holdTime: 9
connectRetryTime: 1
originate:
  - { prefix: 198.18.66.0/26 }
policies:
  - { name: all, default: accept }
peers:
  - { name: gobgp, address: 198.18.0.3, asn: 65003, import: all, export: all }
`;

describe.skipIf(!enabled)('interop: bgpctl network add/delete seen by GoBGP', () => {
  const lab = new NetLab();
  let tabby: TabbyDaemon;
  let gobgp: GobgpDaemon;

  beforeAll(async () => {
    const t = await lab.netns('tabby');
    const g = await lab.netns('gobgp');
    await lab.link(t, 'eth0', '198.18.0.1/24', g, 'eth0', '198.18.0.3/24');
    gobgp = new GobgpDaemon(g, gobgpToml(65003));
    await gobgp.start();
    tabby = new TabbyDaemon(t, TABBY);
    await tabby.start();
    await waitFor('session', async () => (await tabby.peerState('gobgp')) === 'Established', 30_000);
    await waitFor('config route at gobgp', async () => (await gobgp.rib('ipv4')).has('198.18.66.0/26'), 20_000);
  }, 60_000);
  afterAll(async () => {
    await tabby?.stop();
    await gobgp?.stop();
    await lab.destroy();
  });

  it('a runtime network reaches GoBGP with its communities, and its delete withdraws it', async () => {
    // Added first, and never sent: NO_EXPORT keeps a route inside the AS (RFC 1997).
    await tabby.ctl(['network', 'add', '198.18.71.0/24', 'no-export']);
    const add = await tabby.ctl(['network', 'add', '198.18.70.0/24', '64512:70', 'graceful-shutdown', '64512:1:2']);
    expect(add.stdout).toBe('198.18.70.0/24 added (2 runtime networks)\n');
    const line = await waitFor('runtime route at gobgp', async () => (await gobgp.rib('ipv4')).get('198.18.70.0/24'));
    expect((await gobgp.rib('ipv4')).has('198.18.71.0/24')).toBe(false);
    expect(line).toContain('198.18.0.1');
    expect(line).toContain('64512');
    const detail = JSON.parse(await gobgp.gobgp(['global', 'rib', '-a', 'ipv4', '198.18.70.0/24', '-j'])) as Record<
      string,
      { attrs: { type: number; communities?: number[]; value?: unknown }[] }[]
    >;
    const attrs = detail['198.18.70.0/24']![0]!.attrs;
    // 64512:70 and graceful-shutdown (0xFFFF0000) as numbers; the large community as GoBGP's object.
    expect(attrs.find((a) => a.type === 8)?.communities).toEqual([64512 * 65536 + 70, 0xffff0000]);
    expect(attrs.find((a) => a.type === 32)?.value).toEqual([{ ASN: 64512, LocalData1: 1, LocalData2: 2 }]);

    await tabby.ctl(['network', 'delete', '198.18.70.0/24']);
    await waitFor('withdrawn at gobgp', async () => !(await gobgp.rib('ipv4')).has('198.18.70.0/24'), 20_000);
    expect((await gobgp.rib('ipv4')).has('198.18.66.0/26')).toBe(true);
  });

  it('the config network cannot be deleted: one line, exit 1, and GoBGP keeps it', async () => {
    const r = await tabby.ctl(['network', 'delete', '198.18.66.0/26'], true);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(
      /^bgpctl: 198\.18\.66\.0\/26 comes from the config file \(.*bgpd\.yaml\): remove it there and reload\n$/,
    );
    expect((await gobgp.rib('ipv4')).has('198.18.66.0/26')).toBe(true);
  });
});
