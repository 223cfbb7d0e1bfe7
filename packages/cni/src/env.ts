import { CniError, CniErrorCode } from './errors.js';

export const CniCommand = { Add: 'ADD', Del: 'DEL', Check: 'CHECK', Version: 'VERSION' } as const;
export type CniCommand = (typeof CniCommand)[keyof typeof CniCommand];

/** The `CNI_*` environment of one invocation, validated. */
export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** Path of the container's network namespace; may be empty on DEL. */
  netns: string;
  ifname: string;
  /** `CNI_ARGS` as key/value pairs (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`, ...). */
  args: Record<string, string>;
  path: string;
}

const bad = (msg: string): CniError => new CniError(CniErrorCode.InvalidEnvironment, msg);

/** Parses `CNI_ARGS` (`K=V;K=V`). */
export function parseCniArgs(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(';')) {
    if (!part) continue;
    const i = part.indexOf('=');
    if (i <= 0) throw bad(`CNI_ARGS: ${JSON.stringify(part)} is not KEY=VALUE`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

/** Reads `CNI_COMMAND` alone (VERSION needs nothing else). */
export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const c = env.CNI_COMMAND;
  if (!c) throw bad('CNI_COMMAND is not set (expected ADD, DEL, CHECK or VERSION)');
  if (!(Object.values(CniCommand) as string[]).includes(c))
    throw bad(`CNI_COMMAND ${JSON.stringify(c)} is not one of ADD, DEL, CHECK, VERSION`);
  return c as CniCommand;
}

/** Validates the environment of ADD, DEL and CHECK per the CNI spec. */
export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const command = parseCommand(env);
  const containerId = env.CNI_CONTAINERID ?? '';
  if (!containerId) throw bad('CNI_CONTAINERID is not set');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(containerId))
    throw bad(`CNI_CONTAINERID ${JSON.stringify(containerId)} must be letters, digits, '_', '.' and '-'`);
  const netns = env.CNI_NETNS ?? '';
  if (!netns && command !== CniCommand.Del) throw bad(`CNI_NETNS is not set (required for ${command})`);
  const ifname = env.CNI_IFNAME ?? '';
  if (!ifname) throw bad('CNI_IFNAME is not set');
  if (ifname.length > 15 || ifname === '.' || ifname === '..' || /[/:\s]/.test(ifname))
    throw bad(`CNI_IFNAME ${JSON.stringify(ifname)} is not a valid interface name`);
  return { command, containerId, netns, ifname, args: parseCniArgs(env.CNI_ARGS), path: env.CNI_PATH ?? '' };
}
