import yargs from 'yargs';

const DEMO_PLAN = `The demo (npm start) will bring up a small Tabby cluster in this process:
  - three node agents on loopback addresses, each with its own BGP speaker on a distinct port,
    peering in a node-to-node full mesh;
  - the embedded in-memory datastore holding the Nodes, an IPPool in 198.18.0.0/15 and pods;
  - a memory FIB on each node showing the routes it would program;
then print each node's \`bgpctl show summary\` and routes, and keep running until Ctrl-C.`;

/** Runs the `tabby` command line and resolves with the process exit code. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  await yargs(argv)
    .scriptName('tabby')
    .usage('$0 <command> [options]\n\nTabby: a Calico-like BGP routing stack for pod networks.')
    .command(
      'demo',
      'Bring up the in-process demo cluster (what `npm start` runs)',
      () => {},
      () => {
        process.stderr.write(`${DEMO_PLAN}\n\ntabby demo: not built yet. The node agent and lab are still to come.\n`);
        code = 2;
      },
    )
    .demandCommand(1, 'Name a command; see --help.')
    .strict()
    .help()
    .version()
    .fail((msg, err) => {
      process.stderr.write(`tabby: ${err?.message ?? msg}\nRun 'tabby --help' for usage.\n`);
      code = 1;
    })
    .parseAsync();
  return code;
}
