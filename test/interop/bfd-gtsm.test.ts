// RFC 5881 §5 (GTSM): single-hop BFD packets must arrive with TTL 255. Node cannot read the
// received TTL, so without help a packet sent with TTL 64 (from further away) is accepted; with
// `gtsm: nftables` the kernel drops it. Needs nft (not part of scripts/install-system-deps.sh yet).
import { canUseNetns, commandExists, NetLab, type Netns, waitFor } from '@tabby/test-helpers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BfdProbe } from './bfd-probe.js';

const enabled = canUseNetns() && commandExists('nft');

/** Sends one BFD Control packet (state Down, My Discriminator 0x77) from inside `ns` with the given TTL. */
async function sendWithTtl(ns: Netns, ttl: number): Promise<void> {
  const script = `const s=require('dgram').createSocket('udp4');s.bind(49200,'198.18.0.2',()=>{s.setTTL(${ttl});s.send(Buffer.from('20400318000000770000000000000000000f4240000f424000000000','hex'),3784,'198.18.0.1',()=>s.close())})`;
  await ns.exec([process.execPath, '-e', script]);
}

async function dropped(ns: Netns): Promise<number> {
  const r = await ns.exec(['nft', 'list', 'table', 'inet', 'tabby_bfd'], { allowFailure: true });
  return [...r.stdout.matchAll(/counter packets (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
}

describe.skipIf(!enabled)('BFD single-hop TTL check (gtsm: nftables)', () => {
  const lab = new NetLab();
  let tabby: Netns;
  let peer: Netns;
  let probe: BfdProbe | null = null;

  beforeAll(async () => {
    tabby = await lab.netns('tabby');
    peer = await lab.netns('peer');
    await lab.link(tabby, 'eth0', '198.18.0.1/24', peer, 'eth0', '198.18.0.2/24');
    return () => lab.destroy();
  });
  afterEach(async () => {
    await probe?.call({ cmd: 'stop' }).catch(() => {});
    await probe?.proc?.wait();
    probe = null;
  });

  async function startProbe(args: string[]): Promise<number> {
    probe = new BfdProbe(tabby);
    await probe.start(args);
    return probe.add({ peer: '198.18.0.2', local: '198.18.0.1', passive: true });
  }

  it('without it, a packet sent with TTL 64 is accepted (the gap Node leaves)', async () => {
    const id = await startProbe([]);
    await sendWithTtl(peer, 64);
    await waitFor('accepted', async () => (await probe!.session(id))?.packetsReceived === 1);
  });

  it('with it, TTL 64 is dropped by the kernel and TTL 255 accepted; the table goes with the process', async () => {
    const id = await startProbe(['--gtsm', 'nftables']);
    await sendWithTtl(peer, 64);
    await waitFor('dropped by nft', async () => (await dropped(tabby)) === 1);
    expect((await probe!.session(id))!.packetsReceived).toBe(0);
    await sendWithTtl(peer, 255);
    await waitFor('accepted', async () => (await probe!.session(id))?.packetsReceived === 1);
    await probe!.call({ cmd: 'stop' });
    await probe!.proc!.wait();
    const r = await tabby.exec(['nft', 'list', 'tables'], { allowFailure: true });
    expect(r.stdout).not.toContain('tabby_bfd');
  });
});
