import { ConfigError } from './config/reader.js';

/** The options every config-file daemon takes. */
export interface DaemonArgs {
  config?: string | undefined;
  help?: boolean | undefined;
}

/**
 * The start every config-file daemon shares (`tabby bgpd`, `tabby rr`): parse the arguments,
 * print `--help`, require `--config`, load and validate the file. Returns the parsed arguments and
 * config, or the exit code when the daemon should stop here (with the reason already printed).
 */
export function daemonPrologue<A extends DaemonArgs, C>(
  name: string,
  argv: string[],
  parse: (argv: string[]) => A,
  help: string,
  load: (file: string) => C,
): { args: A; file: string; config: C } | { exit: number } {
  let args: A;
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`tabby ${name}: ${(err as Error).message}\nRun 'tabby ${name} --help' for usage.\n`);
    return { exit: 1 };
  }
  if (args.help) {
    process.stdout.write(help);
    return { exit: 0 };
  }
  const file = args.config;
  if (!file) {
    process.stderr.write(`tabby ${name}: --config FILE is required\nRun 'tabby ${name} --help' for usage.\n`);
    return { exit: 1 };
  }
  try {
    return { args, file, config: load(file) };
  } catch (err) {
    if (err instanceof ConfigError) {
      const n = err.issues.length;
      process.stderr.write(`${err.message}\n${file}: ${n} problem${n === 1 ? '' : 's'}\n`);
      return { exit: 1 };
    }
    throw err;
  }
}
