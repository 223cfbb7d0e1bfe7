import type { Datastore } from '../datastore.js';
import { DatastoreError } from '../errors.js';
import { openDatastore, resolveDatastoreUrl } from '../open.js';
import { KINDS, type Kind } from '../resources/types.js';

/** Where a command writes. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Reads all of standard input (for `-f -`). */
  readStdin?(): Promise<string>;
  env?: NodeJS.ProcessEnv;
}

/** Options every command takes. */
export interface DatastoreArgs {
  /** Datastore URL; default `$TABBY_DATASTORE`, else `memory`. */
  datastore?: string;
}

export const MEMORY_NOTE =
  'note: the memory datastore lives only as long as this command; use --datastore file:///path.json, redis://host:port/db or etcd://host:port (or TABBY_DATASTORE) to keep resources\n';

/** Opens the datastore named by the args/env, runs `f`, closes it; maps errors to exit codes. */
export async function withDatastore(
  args: DatastoreArgs,
  io: CliIo,
  f: (ds: Datastore) => Promise<number>,
  injected?: Datastore,
): Promise<number> {
  let ds: Datastore;
  try {
    ds = injected ?? openDatastore(resolveDatastoreUrl(args.datastore, io.env ?? process.env));
  } catch (err) {
    io.stderr(`tabby: ${(err as Error).message}\n`);
    return 1;
  }
  if (!injected && ds.description === 'memory') io.stderr(MEMORY_NOTE);
  let code: number;
  try {
    code = await f(ds);
  } catch (err) {
    if (!(err instanceof DatastoreError)) {
      if (!injected) await ds.close().catch(() => {});
      throw err;
    }
    io.stderr(`tabby: ${err.message}\n`);
    code = 1;
  }
  if (injected) return code;
  try {
    // A file:// store saves here what the command wrote.
    await ds.close();
  } catch (err) {
    if (!(err instanceof DatastoreError)) throw err;
    io.stderr(`tabby: ${err.message}\n`);
    return 1;
  }
  return code;
}

/**
 * The names `tabby get` and `tabby delete` accept besides the kind itself (any case) and its
 * plural: calicoctl's singular, plural and short forms.
 */
const SHORT_NAMES: Record<Kind, readonly string[]> = {
  Node: ['no', 'nos'],
  BGPConfiguration: ['bgpconfig', 'bgpconfigs'],
  BGPPeer: ['bgpp', 'bgpps', 'bp', 'bps'],
  BGPFilter: ['bgpf', 'bgpfs', 'bf', 'bfs'],
  IPPool: ['ipp', 'ipps', 'pool', 'pools'],
  IPReservation: ['reservation', 'reservations'],
  CalicoNodeStatus: ['nodestatus', 'nodestatuses'],
  WorkloadEndpoint: ['wep', 'weps'],
};

const ALIASES = new Map<string, Kind>();
for (const [kind, plural] of Object.entries(KINDS) as [Kind, string][]) {
  ALIASES.set(kind.toLowerCase(), kind);
  ALIASES.set(plural, kind);
  for (const short of SHORT_NAMES[kind]) ALIASES.set(short, kind);
}

/** `ippools`, `IPPool`, `ippool`, `ipp`, `pool` → `IPPool` (calicoctl's names). */
export function parseKind(s: string | undefined): Kind | undefined {
  return s ? ALIASES.get(s.toLowerCase()) : undefined;
}

export function kindList(): string {
  return Object.entries(KINDS)
    .map(([k, p]) => `${k} (${p})`)
    .join(', ');
}

/** Formats rows as aligned columns (header first). */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd((widths[i] ?? 0) + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
