import type { CliIo } from '@tabby/datastore';
import { interrupted } from './signals.js';

/**
 * Daemons that parse their own options (so their --help is theirs), each loaded only when it runs:
 * `tabby bgpd` holds the speaker's modules, not the datastore clients, the lab or the other daemons
 * (nor prom-client, which the package's index brings: `@tabby/bgp/daemon` loads it only for /metrics).
 */
const DAEMONS: Record<string, () => Promise<(argv: string[]) => Promise<number>>> = {
  bgpd: async () => (await import('@tabby/bgp/daemon')).runBgpd,
  node: async () => (await import('@tabby/node')).runNode,
  rr: async () => (await import('@tabby/route-reflector')).runRr,
  confd: async () => {
    const { runConfdCommand } = await import('@tabby/confd');
    return (argv) => {
      const stop = new AbortController();
      void interrupted().then(() => stop.abort());
      return runConfdCommand(argv, {
        stdout: process.stdout,
        stderr: process.stderr,
        env: process.env,
        signal: stop.signal,
      });
    };
  },
};

/** Runs the `tabby` command line and resolves with the process exit code. */
export async function main(argv: string[], io?: CliIo): Promise<number> {
  const daemon = argv[0] ? DAEMONS[argv[0]] : undefined;
  if (daemon) return (await daemon())(argv.slice(1));
  const { runCommands } = await import('./commands.js');
  return runCommands(argv, io);
}
