import { readFileSync } from 'node:fs';
import { type CliIo, DATASTORE_ENV, runApply, runDelete, runGet, runIpamShow } from '@tabby/datastore';
import yargs from 'yargs';

const DEMO_PLAN = `The demo (npm start) will bring up a small Tabby cluster in this process:
  - three node agents on loopback addresses, each with its own BGP speaker on a distinct port,
    peering in a node-to-node full mesh;
  - the embedded in-memory datastore holding the Nodes, an IPPool in 198.18.0.0/15 and pods;
  - a memory FIB on each node showing the routes it would program;
then print each node's \`bgpctl show summary\` and routes, and keep running until Ctrl-C.`;

const DATASTORE_HELP = `Datastore URL: memory (default; lives only as long as the command, so it does not persist between invocations), file:///path.json (local, persisted), redis://[:password@]host:port/db, rediss://... (TLS), etcd://host:port[,host:port], etcds://...?ca=FILE&cert=FILE&key=FILE. Default: $${DATASTORE_ENV}, else memory.`;

const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: async () => readFileSync(0, 'utf8'),
};

/** Runs the `tabby` command line and resolves with the process exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  let failed = false;
  // yargs calls a non-throwing fail() and may still run the handler; a failed parse runs nothing.
  const run = (f: () => Promise<number>) => async () => {
    if (!failed) code = await f();
  };
  await yargs(argv)
    .scriptName('tabby')
    .usage('$0 <command> [options]\n\nTabby: a Calico-like BGP routing stack for pod networks.')
    .option('datastore', { type: 'string', describe: DATASTORE_HELP, global: true })
    .command(
      'demo',
      'Bring up the in-process demo cluster (what `npm start` runs)',
      () => {},
      () => {
        io.stderr(`${DEMO_PLAN}\n\ntabby demo: not built yet. The node agent and lab are still to come.\n`);
        code = 2;
      },
    )
    .command(
      'apply',
      'Create or update resources from multi-document YAML (Calico v3 manifests apply unchanged)',
      (y) =>
        y.option('f', { alias: 'filename', type: 'string', demandOption: true, describe: 'YAML file, or - for stdin' }),
      (a) => run(() => runApply({ file: a.f, datastore: a.datastore }, io))(),
    )
    .command(
      'get <kind> [name]',
      'List resources of a kind (nodes, bgpconfigurations, bgppeers, ippools, workloadendpoints), or show one',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string' })
          .option('o', {
            alias: 'output',
            choices: ['table', 'wide', 'yaml', 'json'] as const,
            default: 'table' as const,
          })
          .option('n', { alias: 'namespace', type: 'string', describe: 'Namespace (WorkloadEndpoints)' }),
      (a) =>
        run(() => runGet({ kind: a.kind, name: a.name, namespace: a.n, output: a.o, datastore: a.datastore }, io))(),
    )
    .command(
      'delete <kind> <name>',
      'Delete one resource',
      (y) =>
        y
          .positional('kind', { type: 'string', demandOption: true })
          .positional('name', { type: 'string', demandOption: true })
          .option('n', { alias: 'namespace', type: 'string', describe: 'Namespace (WorkloadEndpoints)' }),
      (a) => run(() => runDelete({ kind: a.kind, name: a.name, namespace: a.n, datastore: a.datastore }, io))(),
    )
    .command('ipam', 'IP address management', (y) =>
      y
        .command(
          'show',
          'Pools, blocks, owners and utilisation',
          (yy) => yy.option('o', { alias: 'output', choices: ['table', 'json'] as const, default: 'table' as const }),
          (a) => run(() => runIpamShow({ output: a.o, datastore: a.datastore }, io))(),
        )
        .demandCommand(1, 'Name an ipam command: show.'),
    )
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      io.stderr(`tabby: ${err?.message ?? msg}\nRun 'tabby --help' for usage.\n`);
      failed = true;
      code = 1;
    })
    .parseAsync();
  return code;
}
