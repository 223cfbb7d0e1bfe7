import { spawn } from 'node:child_process';

/** Outcome of one shell command. */
export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

/** Runs `check_cmd` and `reload_cmd`. Injected so the loop can be tested without a shell. */
export interface CommandRunner {
  run(command: string): Promise<CommandResult>;
}

/** Runs commands with `sh -c`, collecting stdout and stderr together. */
export class ShellCommandRunner implements CommandRunner {
  constructor(private readonly options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}) {}

  run(command: string): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = spawn('sh', ['-c', command], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: this.options.env ?? process.env,
        timeout: this.options.timeoutMs ?? 60_000,
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.stderr.on('data', (d: Buffer) => {
        output += d.toString();
      });
      child.on('error', (e) => resolve({ code: 127, output: `${output}${e.message}` }));
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), output }));
    });
  }
}
