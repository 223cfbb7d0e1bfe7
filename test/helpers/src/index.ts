export { available, canUseNetns, commandExists, haveCommands, isRoot } from './env.js';
export { CommandError, type ExecOptions, type ExecResult, exec } from './exec.js';
export {
  deleteNamespaceSync,
  listNamespaces,
  NETNS_PREFIX,
  NetLab,
  Netns,
  NsProcess,
  sweepStaleNamespaces,
} from './netns.js';
export {
  EtcdCluster,
  type EtcdMembership,
  EtcdServer,
  freePort,
  LoopbackServer,
  RedisServer,
  startEtcd,
  startEtcdCluster,
  startRedis,
  tcpOpen,
} from './servers.js';
export { median } from './stats.js';
export { createRunTempDir, sweepStaleRunDirs } from './temp.js';
export { waitFor } from './wait.js';
