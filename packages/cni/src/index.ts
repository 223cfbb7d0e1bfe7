// @tabby/cni: the CNI plugin (pod veth, addresses, routes, IPAM from the datastore). See README.md.
export { cmdAdd } from './add.js';
export { cmdCheck } from './check.js';
export { IPAM_TYPES, type NetConf, parseNetConf } from './config.js';
export { type CniContext, HOST_NETNS_ENV, makeContext, NODENAME_ENV, resolveNodeName } from './context.js';
export { toCniError } from './datastore-errors.js';
export { cmdDel, type DelOutcome } from './del.js';
export { CniCommand, type CniEnv, parseCniArgs, parseCniEnv, parseCommand } from './env.js';
export { CniError, CniErrorCode, isCniError } from './errors.js';
export { main } from './main.js';
export { Netns } from './netns.js';
export { type AddOutcome, buildResult, type CniResult } from './result.js';
export { type CniOutcome, type RunCniOptions, runCni } from './run-cni.js';
export { DEFAULT_VERSION, SUPPORTED_VERSIONS, supportsCheck } from './versions.js';
export { HOST_SIDE_MAC, IPV4_GATEWAY, IPV6_GATEWAY } from './veth.js';
export { type WorkloadIdentity, workloadEndpoint, workloadIdentity } from './workload.js';
