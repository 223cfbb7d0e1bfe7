import { hostname } from 'node:os';
import type { Datastore } from '@tabby/datastore';
import type { NetConf } from './config.js';
import type { CniEnv } from './env.js';
import { Netns } from './netns.js';
import { type WorkloadIdentity, workloadIdentity } from './workload.js';

/** The environment variable naming the host side's namespace (tests; default: the current one). */
export const HOST_NETNS_ENV = 'TABBY_CNI_HOST_NETNS';
/** The environment variable naming this node when the config has no `nodename`. */
export const NODENAME_ENV = 'TABBY_NODENAME';

/** Everything one ADD, DEL or CHECK works with. */
export interface CniContext {
  env: CniEnv;
  conf: NetConf;
  ds: Datastore;
  node: string;
  host: Netns;
  /** The container's namespace; undefined when CNI_NETNS is empty (DEL only). */
  pod: Netns | undefined;
  id: WorkloadIdentity;
}

/** Resolves the node name: config `nodename`, else `$TABBY_NODENAME`, else the host name. */
export function resolveNodeName(conf: NetConf, env: NodeJS.ProcessEnv): string {
  return conf.nodename || env[NODENAME_ENV] || hostname();
}

export function makeContext(cniEnv: CniEnv, conf: NetConf, ds: Datastore, procEnv: NodeJS.ProcessEnv): CniContext {
  const node = resolveNodeName(conf, procEnv);
  return {
    env: cniEnv,
    conf,
    ds,
    node,
    host: Netns.from(conf.hostNetns ?? procEnv[HOST_NETNS_ENV]),
    pod: cniEnv.netns ? Netns.from(cniEnv.netns) : undefined,
    id: workloadIdentity(cniEnv, conf.name, node),
  };
}
