import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Datastore } from '../datastore.js';
import { Ipam, IpamExhaustedError } from '../ipam/ipam.js';
import type { BlockRecord } from '../ipam/records.js';
import { ipamKeys } from '../keys.js';
import { openDatastore } from '../open.js';
import { ResourceStore } from '../resources/store.js';

/** No two nodes hold a confirmed affinity to one block; block owners match affinities; no address twice. */
export async function checkInvariants(ds: Datastore) {
  const owners = new Map<string, string[]>();
  for (const kv of (await ds.list(ipamKeys.allAffinities())).items) {
    const m = /\/host\/([^/]+)\/ipv4\/block\/(.+)$/.exec(kv.key)!;
    if (JSON.parse(kv.value).state !== 'confirmed') continue;
    const list = owners.get(m[2]!) ?? [];
    list.push(m[1]!);
    owners.set(m[2]!, list);
  }
  for (const [block, nodes] of owners) expect(nodes, `block ${block}`).toHaveLength(1);
  const handles = new Map<string, string>();
  for (const kv of (await ds.list(ipamKeys.blocks(4))).items) {
    const b = JSON.parse(kv.value) as BlockRecord;
    expect(owners.get(b.cidr.replace('/', '-'))).toEqual([b.affinity!.slice(5)]);
    for (const [ord, h] of Object.entries(b.allocations)) {
      expect(handles.has(h), `handle ${h} holds two addresses`).toBe(false);
      handles.set(h, `${b.cidr}#${ord}`);
    }
  }
  return handles;
}

const worker = fileURLToPath(new URL('../../dist/testing/ipam-worker.js', import.meta.url));
const run = promisify(execFile);

/** Starts a server and gives its URL; `destroy` tears it down. */
export type ServerStarter = () => Promise<{ url: string; destroy: () => Promise<void> }>;

/**
 * IPAM across processes against a real server: allocator processes (dist/testing/ipam-worker.js)
 * race for blocks and addresses; no block gets two owners, no address two handles, and every
 * released address can be assigned again.
 */
export function ipamCrossProcessSuite(name: string, start: ServerStarter): void {
  describe(`IPAM across processes (${name})`, () => {
    const setup = async (ds: Datastore) => {
      await new ResourceStore(ds).apply({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '198.18.0.0/25', blockSize: 28 },
      });
      return new Ipam(ds);
    };
    it('many allocator processes: no duplicate block owners, no duplicate IPs, every released IP reusable', async () => {
      if (!existsSync(worker))
        throw new Error(`${worker} is missing: build first (npx tsc --build packages/datastore)`);
      const srv = await start();
      const ds = openDatastore(srv.url);
      try {
        const ipam = await setup(ds);
        // The worker is built code: `npx tsc --build packages/datastore` first (npm test does).
        // 8 blocks of 16 for 5 nodes wanting 25 each: every block gets claimed, and nodes borrow.
        const PROCS = 5;
        const PER = 25;
        const outs = await Promise.all(
          Array.from({ length: PROCS }, (_, n) =>
            run(process.execPath, [worker, srv.url, `node-${n}`, String(PER), '5'], { timeout: 90_000 }),
          ),
        );
        const results = outs.map(
          (o) => JSON.parse(o.stdout) as { node: string; held: [string, string][]; released: string[] },
        );
        const held = results.flatMap((r) => r.held);
        expect(held.length).toBe(PROCS * (PER - PER / 5));
        expect(new Set(held.map(([, ip]) => ip)).size).toBe(held.length);
        const stored = await checkInvariants(ds);
        expect(stored.size).toBe(held.length);
        // Every address is reusable: release everything, then two nodes get all 128 between them, and no more.
        for (const [h] of held) await ipam.releaseByHandle(h);
        const again = new Set<string>();
        await Promise.all(
          Array.from({ length: 8 }, async (_, a) => {
            for (let i = 0; i < 16; i++)
              again.add(await ipam.assign({ node: `last-${a % 2}`, handle: `again-${a}-${i}` }));
          }),
        );
        expect(again.size).toBe(128);
        for (const r of results) for (const ip of r.released) expect(again.has(ip)).toBe(true);
        await expect(ipam.assign({ node: 'last-0', handle: 'one-too-many' })).rejects.toBeInstanceOf(
          IpamExhaustedError,
        );
      } finally {
        await ds.close();
        await srv.destroy();
      }
    }, 120_000);

    it('IPReservations hold under racing allocator processes: no reserved address handed out, no wholly reserved block claimed', async () => {
      if (!existsSync(worker))
        throw new Error(`${worker} is missing: build first (npx tsc --build packages/datastore)`);
      const srv = await start();
      const ds = openDatastore(srv.url);
      try {
        const ipam = await setup(ds);
        await new ResourceStore(ds).apply({
          apiVersion: 'projectcalico.org/v3',
          kind: 'IPReservation',
          metadata: { name: 'reserved' },
          spec: { reservedCIDRs: ['198.18.0.0/30', '198.18.0.77', '198.18.0.32/29', '198.18.0.40/29'] },
        });
        const reserved = (ip: string) => {
          const last = Number(ip.split('.')[3]);
          return last < 4 || last === 77 || (last >= 32 && last < 48);
        };
        // 128 addresses, 21 reserved (one whole block of 16): 5 nodes take 20 each, 7 remain.
        const outs = await Promise.all(
          Array.from({ length: 5 }, (_, n) =>
            run(process.execPath, [worker, srv.url, `res-${n}`, '20', '0'], { timeout: 90_000 }),
          ),
        );
        const held = outs.flatMap((o) => (JSON.parse(o.stdout) as { held: [string, string][] }).held);
        expect(held).toHaveLength(100);
        expect(held.filter(([, ip]) => reserved(ip))).toEqual([]);
        expect(new Set(held.map(([, ip]) => ip)).size).toBe(100);
        await checkInvariants(ds);
        expect(await ds.get(ipamKeys.block(4, '198.18.0.32/28'))).toBeUndefined();
        const rest: string[] = [];
        for (let i = 0; i < 7; i++) rest.push(await ipam.assign({ node: 'res-0', handle: `rest-${i}` }));
        expect(rest.filter(reserved)).toEqual([]);
        await expect(ipam.assign({ node: 'res-1', handle: 'one-too-many' })).rejects.toBeInstanceOf(IpamExhaustedError);
      } finally {
        await ds.close();
        await srv.destroy();
      }
    }, 120_000);
  });
}
