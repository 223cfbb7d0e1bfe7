import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../backends/memory.js';
import type { Datastore } from '../datastore.js';
import { ipamKeys } from '../keys.js';
import { ResourceStore } from '../resources/store.js';
import { checkInvariants } from '../testing/ipam-cross-process.js';
import { Ipam, IpamExhaustedError } from './ipam.js';
import type { BlockRecord } from './records.js';

const pool = (name: string, cidr: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPPool',
  metadata: { name },
  spec: { cidr, ...extra },
});
const reservation = (name: string, reservedCIDRs: string[]) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'IPReservation',
  metadata: { name },
  spec: { reservedCIDRs },
});
const node = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind: 'Node',
  metadata: { name, labels },
  spec: {},
});

async function setup(ds: Datastore, pools: ReturnType<typeof pool>[]) {
  const rs = new ResourceStore(ds);
  for (const p of pools) await rs.apply(p);
  return new Ipam(ds);
}

describe('IPAM (memory)', () => {
  it('claims a block for a node, assigns from it, releases by handle, and reuses', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/24', { blockSize: 28 })]);
    const a = await ipam.assign({ node: 'n1', handle: 'pod-a' });
    const b = await ipam.assign({ node: 'n1', handle: 'pod-b' });
    expect([a, b]).toEqual(['198.18.0.0', '198.18.0.1']);
    expect(await ipam.blocksOf('n1')).toEqual([{ cidr: '198.18.0.0/28', state: 'confirmed' }]);
    expect(JSON.parse((await ds.get(ipamKeys.affinity('n1', 4, '198.18.0.0/28')))!.value)).toEqual({
      state: 'confirmed',
    });
    const c = await ipam.assign({ node: 'n2', handle: 'pod-c' });
    expect(c).toBe('198.18.0.16');
    expect(await ipam.releaseByHandle('pod-a')).toEqual(['198.18.0.0']);
    expect(await ipam.releaseByHandle('pod-a')).toEqual([]);
    expect(await ipam.assign({ node: 'n1', handle: 'pod-d' })).toBe('198.18.0.0');
    expect(await ipam.releaseIps(['198.18.0.1'])).toEqual(['198.18.0.1']);
    expect(await ds.get(ipamKeys.handle('pod-b'))).toBeUndefined();
  });

  it('borrows from another node’s block when no block is free, and fails when all are full', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/27', { blockSize: 28 })]);
    for (let i = 0; i < 16; i++) await ipam.assign({ node: 'n1', handle: `a${i}` });
    await ipam.assign({ node: 'n2', handle: 'b0' }); // n2 claims the second block
    for (let i = 1; i < 16; i++) await ipam.assign({ node: 'n2', handle: `b${i}` });
    await ipam.releaseByHandle('b5');
    // n1's block is full and no block is left: it borrows n2's free address.
    expect(await ipam.assign({ node: 'n1', handle: 'borrower' })).toBe('198.18.0.21');
    const block = JSON.parse((await ds.get(ipamKeys.block(4, '198.18.0.16/28')))!.value) as BlockRecord;
    expect(block.affinity).toBe('host:n2');
    await expect(ipam.assign({ node: 'n1', handle: 'x' })).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('honours pool node selectors, disabled pools and IPv6', async () => {
    const ds = new MemoryDatastore();
    const rs = new ResourceStore(ds);
    await rs.apply(node('edge-1', { zone: 'edge' }));
    await rs.apply(node('core-1', { zone: 'core' }));
    const ipam = await setup(ds, [
      pool('edge', '198.18.1.0/24', { nodeSelector: "zone == 'edge'" }),
      pool('core', '198.18.2.0/24', { nodeSelector: "zone == 'core'" }),
      pool('off', '198.18.3.0/24', { disabled: true }),
      pool('v6', 'fd00:198:18::/120', { blockSize: 124 }),
    ]);
    expect(await ipam.assign({ node: 'edge-1', handle: 'e' })).toBe('198.18.1.0');
    expect(await ipam.assign({ node: 'core-1', handle: 'c' })).toBe('198.18.2.0');
    expect(await ipam.assign({ node: 'core-1', handle: 'c6', family: 6 })).toBe('fd00:198:18::');
    await expect(ipam.assign({ node: 'unlabelled', handle: 'u' })).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('assigns only from the named pools, even when the node has free blocks elsewhere', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [
      pool('main', '198.18.0.0/24', { blockSize: 28 }),
      pool('hosts', '198.18.9.0/24', { blockSize: 32 }),
    ]);
    expect(await ipam.assign({ node: 'n1', handle: 'a', pools: ['main'] })).toBe('198.18.0.0');
    expect(await ipam.assign({ node: 'n1', handle: 'b', pools: ['hosts'] })).toBe('198.18.9.0');
    expect(await ipam.assign({ node: 'n1', handle: 'c', pools: ['hosts'] })).toBe('198.18.9.1');
    expect(await ipam.assign({ node: 'n1', handle: 'd', pools: ['main'] })).toBe('198.18.0.1');
  });

  it('never hands out a reserved address, and never claims a block that is wholly reserved', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/26', { blockSize: 28 })]);
    await new ResourceStore(ds).apply(
      reservation('r', ['198.18.0.0/30', '198.18.0.5', '198.18.0.16/28', '198.18.0.40/29', '198.18.0.32/29']),
    );
    const got: string[] = [];
    for (let i = 0; i < 20; i++) got.push(await ipam.assign({ node: 'n1', handle: `h${i}` }));
    // Block .0/28 keeps .0-.3 and .5; .16/28 is skipped; .32/28 is reserved too (two /29s); .48/28 is used.
    expect(got.slice(0, 11)).toEqual([4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15].map((n) => `198.18.0.${n}`));
    expect(got.slice(11)).toEqual([48, 49, 50, 51, 52, 53, 54, 55, 56].map((n) => `198.18.0.${n}`));
    expect((await ipam.blocksOf('n1')).map((b) => b.cidr)).toEqual(['198.18.0.0/28', '198.18.0.48/28']);
    for (let i = 20; i < 27; i++) await ipam.assign({ node: 'n1', handle: `h${i}` });
    await expect(ipam.assign({ node: 'n1', handle: 'last' })).rejects.toBeInstanceOf(IpamExhaustedError);
    await expect(ipam.assign({ node: 'n2', handle: 'other' })).rejects.toBeInstanceOf(IpamExhaustedError);
    // A reservation releases nothing; deleting it makes the addresses assignable again.
    await new ResourceStore(ds).delete('IPReservation', 'r');
    expect(await ipam.assign({ node: 'n1', handle: 'after' })).toBe('198.18.0.0');
    expect(await ipam.assign({ node: 'n2', handle: 'n2' })).toBe('198.18.0.16');
  });

  it('a borrowed address is never a reserved one', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/28', { blockSize: 28 })]);
    await ipam.assign({ node: 'n1', handle: 'first' });
    await new ResourceStore(ds).apply(reservation('r', ['198.18.0.1/32', '198.18.0.2/31', '198.18.0.4/30']));
    expect(await ipam.assign({ node: 'n2', handle: 'borrow' })).toBe('198.18.0.8');
  });

  it('pools: Workload use only, Manual pools only by name, disabled pools never', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [
      pool('tunnels', '198.18.1.0/24', { allowedUses: ['Tunnel'] }),
      pool('lb', '198.18.2.0/24', { allowedUses: ['LoadBalancer'] }),
      pool('manual', '198.18.3.0/24', { assignmentMode: 'Manual' }),
      pool('off', '198.18.4.0/24', { disabled: true }),
      pool('pods', '198.18.5.0/24', { allowedUses: ['Workload'] }),
    ]);
    expect(await ipam.assign({ node: 'n1', handle: 'a' })).toBe('198.18.5.0');
    expect((await ipam.poolsFor('n1', 4)).map((p) => p.metadata.name)).toEqual(['pods']);
    // By name: a Manual pool is fine, and the pool's nodeSelector does not matter (as in Calico).
    expect(await ipam.assign({ node: 'n1', handle: 'b', pools: ['manual'] })).toBe('198.18.3.0');
    await expect(ipam.assign({ node: 'n1', handle: 'c', pools: ['off'] })).rejects.toThrow('IP pool "off" is disabled');
    await expect(ipam.assign({ node: 'n1', handle: 'd', pools: ['tunnels'] })).rejects.toThrow(
      'IP pool "tunnels" does not allow pod addresses (allowedUses: Tunnel)',
    );
    await expect(ipam.assign({ node: 'n1', handle: 'e', pools: ['lb'] })).rejects.toMatchObject({
      code: 'IPAM_INVALID',
    });
    await expect(ipam.assign({ node: 'n1', handle: 'f', pools: ['nope'] })).rejects.toThrow(
      'there is no IPv4 IP pool named "nope"',
    );
    // The only Automatic Workload pool full: Manual, Tunnel and LoadBalancer pools are not used.
    const full = new MemoryDatastore();
    const small = await setup(full, [
      pool('pods', '198.18.5.0/28', { blockSize: 28 }),
      pool('manual', '198.18.3.0/24', { assignmentMode: 'Manual' }),
      pool('tunnels', '198.18.1.0/24', { allowedUses: ['Tunnel'] }),
    ]);
    for (let i = 0; i < 16; i++) await small.assign({ node: 'n1', handle: `x${i}` });
    await expect(small.assign({ node: 'n1', handle: 'x16' })).rejects.toBeInstanceOf(IpamExhaustedError);
  });

  it('releases an empty block, refuses a used one', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/24', { blockSize: 28 })]);
    const cidr = await ipam.claimBlock('n1');
    await ipam.assign({ node: 'n1', handle: 'h' });
    await expect(ipam.releaseBlock('n1', cidr)).rejects.toMatchObject({ code: 'IPAM_INVALID' });
    await ipam.releaseByHandle('h');
    await ipam.releaseBlock('n1', cidr);
    expect(await ipam.blocksOf('n1')).toEqual([]);
    expect((await ipam.show()).blocks).toEqual([]);
  });

  it('show() reports pools, blocks, owners and utilisation', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/24', { blockSize: 28 })]);
    for (let i = 0; i < 3; i++) await ipam.assign({ node: 'n1', handle: `h${i}` });
    const r = await ipam.show();
    expect(r.pools).toEqual([
      {
        name: 'p',
        cidr: '198.18.0.0/24',
        blockSize: 28,
        size: 256,
        used: 3,
        reserved: 0,
        free: 253,
        blocks: 1,
        disabled: false,
      },
    ]);
    expect(r.blocks).toEqual([
      { cidr: '198.18.0.0/28', pool: 'p', node: 'n1', state: 'confirmed', used: 3, reserved: 0, free: 13, size: 16 },
    ]);
    expect(r.reservations).toEqual([]);
    expect(r.handles).toBe(3);
  });

  it('in-process concurrency: parallel allocators never share a block or an address', async () => {
    const ds = new MemoryDatastore();
    const ipam = await setup(ds, [pool('p', '198.18.0.0/24', { blockSize: 28 })]);
    const ips = await Promise.all(
      Array.from({ length: 8 }, (_, n) =>
        Promise.all(Array.from({ length: 20 }, (_, i) => ipam.assign({ node: `n${n}`, handle: `n${n}-${i}` }))),
      ),
    );
    const flat = ips.flat();
    expect(new Set(flat).size).toBe(160);
    await checkInvariants(ds);
  });
});
