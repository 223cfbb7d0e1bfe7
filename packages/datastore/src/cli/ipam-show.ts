import type { Datastore } from '../datastore.js';
import { Ipam } from '../ipam/ipam.js';
import { type CliIo, type DatastoreArgs, table, withDatastore } from './common.js';

export interface IpamShowArgs extends DatastoreArgs {
  output?: 'table' | 'json';
}

const pct = (used: number, size: number) => (size ? `${((100 * used) / size).toFixed(1)}%` : '-');

/** `tabby ipam show`: pools with utilisation, every block with its owner, then the IPReservations. */
export async function runIpamShow(args: IpamShowArgs, io: CliIo, ds?: Datastore): Promise<number> {
  return withDatastore(
    args,
    io,
    async (store) => {
      const r = await new Ipam(store).show();
      if (args.output === 'json') {
        io.stdout(`${JSON.stringify(r, null, 2)}\n`);
        return 0;
      }
      if (!r.pools.length) io.stdout('No IP pools.\n');
      else {
        io.stdout(
          table([
            [
              'POOL',
              'CIDR',
              'BLOCK SIZE',
              'BLOCKS',
              'IPS TOTAL',
              'IPS IN USE',
              'IPS RESERVED',
              'IPS FREE',
              'UTILISATION',
            ],
            ...r.pools.map((p) => [
              p.name + (p.disabled ? ' (disabled)' : ''),
              p.cidr,
              `/${p.blockSize}`,
              String(p.blocks),
              String(p.size),
              String(p.used),
              String(p.reserved),
              String(p.free),
              pct(p.used, p.size),
            ]),
          ]),
        );
      }
      io.stdout('\n');
      if (!r.blocks.length) io.stdout('No blocks allocated.\n');
      else {
        io.stdout(
          table([
            ['BLOCK', 'POOL', 'NODE', 'AFFINITY', 'IPS IN USE', 'IPS RESERVED', 'IPS FREE', 'UTILISATION'],
            ...r.blocks.map((b) => [
              b.cidr,
              b.pool ?? '(none)',
              b.node ?? '(none)',
              b.state,
              String(b.used),
              String(b.reserved),
              String(b.free),
              pct(b.used, b.size),
            ]),
          ]),
        );
      }
      if (r.reservations.length) {
        io.stdout('\n');
        io.stdout(table([['RESERVATION', 'CIDRS'], ...r.reservations.map((x) => [x.name, x.cidrs.join(',')])]));
      }
      io.stdout(`\n${r.handles} handle(s).\n`);
      return 0;
    },
    ds,
  );
}
