// The `tabby` commands other than the daemons: loaded only when one of them runs, so that a
// daemon (`tabby bgpd`) does not load the datastore clients, the lab and yargs.
import { readFileSync } from 'node:fs';
import { type CliIo, DATASTORE_ENV, runApply, runDelete, runGet, runIpamShow } from '@tabby/datastore';
import { labDown, labStatus, runLab, runNetnsLab, uiPort, V6_POOL, V6_UNDERLAY } from '@tabby/lab';
import yargs from 'yargs';
import { interrupted } from './signals.js';

const DATASTORE_HELP = `Datastore URL: memory (default; lives only as long as the command, so it does not persist between invocations), file:///path.json (local, persisted), redis://[:password@]host:port/db, rediss://... (TLS), etcd://host:port[,host:port], etcds://...?ca=FILE&cert=FILE&key=FILE. Default: $${DATASTORE_ENV}, else memory.`;

const UI_HELP =
  'serve the live cluster map on 127.0.0.1:PORT (default 8080; 0 picks a free port): nodes, reflectors, sessions by state, blocks, routes, and a path tracer between pods';

const processIo: CliIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: async () => readFileSync(0, 'utf8'),
};

/** The `tabby` commands other than the daemons (yargs parses them); resolves with the exit code. */
export async function runCommands(argv: string[], io: CliIo = processIo): Promise<number> {
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
      'Bring up the in-process demo cluster (what `npm start` runs): 3 nodes in a mesh, 2 pods each',
      (y) =>
        y
          .option('ui', { type: 'string', describe: UI_HELP, coerce: uiPort })
          .example('$0 demo --ui', 'and open http://127.0.0.1:8080/ (npm start -- --ui)'),
      (a) => run(() => runLab({}, io, interrupted(), a.ui))(),
    )
    .command('lab', 'A whole cluster on one machine', (y) =>
      y
        .command(
          'up',
          'Bring up a lab in this process (in the foreground; Ctrl-C stops it)',
          (yy) =>
            yy
              .option('nodes', { type: 'number', default: 3, describe: 'node agents (1 to 200)' })
              .option('topology', { choices: ['mesh', 'rr'] as const, default: 'mesh' as const })
              .option('reflectors', { type: 'number', default: 2, describe: 'route reflectors (topology rr)' })
              .option('pods', { type: 'number', default: 2, describe: 'simulated pods per node' })
              .option('transport', {
                choices: ['tcp', 'memory'] as const,
                default: 'tcp' as const,
                describe: 'BGP over TCP on loopback, or over in-memory pipes',
              })
              .option('port', { type: 'number', default: 17179, describe: 'BGP port (each node on its own 127.0.0.x)' })
              .option('netns', {
                type: 'boolean',
                default: false,
                describe: 'network namespaces on a bridge, real kernel routes, CNI-plugged pods, a real Redis (root)',
              })
              .option('ipv6', {
                type: 'boolean',
                default: false,
                describe: `with --netns: dual stack (IPv6 node addresses from ${V6_UNDERLAY}/64, sessions, an IPv6 pool ${V6_POOL}, pods with both families)`,
              })
              .option('ui', { type: 'string', describe: UI_HELP, coerce: uiPort })
              .example('$0 lab up --nodes 6 --topology rr --reflectors 2', 'reflectors with the mesh off')
              .example(
                '$0 lab up --netns --ui 8080',
                'kernel routes in namespaces, and the map at http://127.0.0.1:8080/',
              ),
          (a) =>
            run(async () => {
              if (a.ipv6 && !a.netns) {
                io.stderr('tabby lab up: --ipv6 needs --netns (the in-process lab runs on IPv4 loopback)\n');
                return 1;
              }
              if (a.netns) {
                return runNetnsLab(
                  {
                    nodes: a.nodes,
                    topology: a.topology,
                    reflectors: a.reflectors,
                    pods: a.pods,
                    ipv6: a.ipv6,
                    ui: a.ui,
                  },
                  io,
                  interrupted(),
                );
              }
              return runLab(
                {
                  nodes: a.nodes,
                  topology: a.topology,
                  reflectors: a.reflectors,
                  pods: a.pods,
                  transport: a.transport,
                  port: a.port,
                },
                io,
                interrupted(),
                a.ui,
              );
            })(),
        )
        .command(
          'status',
          'Show the running netns lab: nodes, pods, and every node status',
          (yy) => yy.option('json', { type: 'boolean', default: false }),
          (a) => run(() => labStatus(io, a.json))(),
        )
        .command(
          'down',
          'Stop the running netns lab and remove everything it made',
          () => {},
          () => run(() => labDown(io))(),
        )
        .demandCommand(1, 'Name a lab command: up, status or down.'),
    )
    .command('node', 'Run the per-node agent: peerings, speaker, kernel routes (tabby node --help)')
    .command('bgpd', 'Run the BGP speaker from a YAML config (tabby bgpd --help)')
    .command('rr', 'Run a route reflector; clients listed or from the datastore (tabby rr --help)')
    .command('confd', 'Render templates from the datastore (tabby confd --help)')
    .command(
      'apply',
      'Create or update resources from multi-document YAML (Calico v3 manifests apply unchanged)',
      (y) =>
        y
          .option('f', { alias: 'filename', type: 'string', demandOption: true, describe: 'YAML file, or - for stdin' })
          .option('dry-run', {
            type: 'boolean',
            default: false,
            describe: 'Validate and show what would be created or configured (and which fields); write nothing',
          }),
      (a) => run(() => runApply({ file: a.f, datastore: a.datastore, dryRun: a['dry-run'] }, io))(),
    )
    .command(
      'get <kind> [name]',
      'List resources of a kind (nodes, bgpconfigurations, bgppeers, bgpfilters, ippools, ipreservations, caliconodestatuses, workloadendpoints; calicoctl names such as bgpp, ipp, no too), or show one',
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
