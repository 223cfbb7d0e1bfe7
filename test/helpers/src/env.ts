import { spawnSync } from 'node:child_process';

/** True when this process runs as root (needed for network namespaces and kernel routes). */
export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** True when `cmd` is found on PATH. */
export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Decides whether a suite that needs `what` can run. Outside CI a missing requirement skips the
 * suite with a warning; under `CI=true` it throws, so CI can never pass by skipping.
 * Use as `describe.skipIf(!available('bird2', commandExists('bird')))(...)`.
 */
export function available(what: string, ok: boolean): boolean {
  if (ok) return true;
  if (process.env.CI === 'true') throw new Error(`${what} is required under CI=true but is not available`);
  console.warn(`skipping: ${what} is not available on this machine`);
  return false;
}

/** Root plus iproute2: what every network-namespace suite needs. */
export function canUseNetns(): boolean {
  return available('root and iproute2 (network namespaces)', isRoot() && commandExists('ip'));
}

/** Every command in `cmds` is on PATH (e.g. `bird`, `gobgpd`, `redis-server`, `etcd`). */
export function haveCommands(...cmds: string[]): boolean {
  const missing = cmds.filter((c) => !commandExists(c));
  return available(`command(s) ${missing.join(', ')}`, missing.length === 0);
}
