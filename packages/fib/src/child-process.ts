import { spawn as nodeSpawn, type SpawnOptions } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/**
 * Helper processes (`ip monitor`, `ip -batch`) must die with the agent that started them, even
 * when the agent is SIGKILLed and cannot clean up. Linux has a per-process "parent death signal"
 * (prctl PR_SET_PDEATHSIG) for exactly that; Node cannot call prctl, but util-linux's `setpriv`
 * (an essential Debian package) can set it and then exec the real command in place, so the
 * helper stays a direct child with the same pid. The signal is kept across that exec.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

/** Whether helpers started through `boundArgv` really die with their parent on this host. */
export const parentDeathSignalSupported = SETPRIV !== undefined;

/** `argv` wrapped so that the process gets SIGKILL when its parent dies (unchanged without setpriv). */
export function boundArgv(argv: readonly string[]): string[] {
  return SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv] : [...argv];
}

/** `child_process.spawn` of a helper that dies with this process (see `boundArgv`). */
export function spawnBound(argv: readonly string[], opts: SpawnOptions): ReturnType<typeof nodeSpawn> {
  const [cmd, ...args] = boundArgv(argv);
  return nodeSpawn(cmd!, args, opts);
}
