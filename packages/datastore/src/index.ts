// @tabby/datastore: Calico v3 resources, selectors, IPAM and the memory, Redis and etcd backends
// behind one Datastore interface. See README.md.

export { EtcdDatastore, type EtcdDatastoreOptions } from './backends/etcd.js';
export { FileDatastore } from './backends/file.js';
export { MemoryDatastore, type MemoryDatastoreOptions } from './backends/memory.js';
export { RedisDatastore, type RedisDatastoreOptions } from './backends/redis.js';
export { type ApplyArgs, parseManifests, runApply } from './cli/apply.js';
export { type CliIo, type DatastoreArgs, MEMORY_NOTE, parseKind } from './cli/common.js';
export { type DeleteArgs, runDelete } from './cli/delete.js';
export { type GetArgs, OutputFormat, runGet } from './cli/get.js';
export { type IpamShowArgs, runIpamShow } from './cli/ipam-show.js';
export type {
  Datastore,
  DatastoreHealth,
  DatastoreStats,
  KVPair,
  ListResult,
  WatchEvent,
  WatchEventType,
  Watcher,
  WatchOptions,
} from './datastore.js';
export {
  AlreadyExistsError,
  BadUrlError,
  ConflictError,
  DatastoreError,
  ErrorCode,
  type FieldProblem,
  NotFoundError,
  PermissionDeniedError,
  UnavailableError,
  ValidationError,
} from './errors.js';
export { formatOutage } from './health.js';
export {
  type Cidr,
  contains,
  type Family,
  formatCidr,
  formatIp,
  parseCidr,
  parseIp,
} from './ip.js';
export {
  type AssignRequest,
  Ipam,
  type IpamBlockReport,
  IpamExhaustedError,
  IpamInvalidError,
  type IpamOptions,
  type IpamReport,
} from './ipam/ipam.js';
export { type AffinityRecord, AffinityState, type BlockRecord, type HandleRecord } from './ipam/records.js';
export {
  cidrSegment,
  ipamKeys,
  KEY_PREFIX,
  kindPrefix,
  parseResourceKey,
  resourceKey,
  segmentCidr,
} from './keys.js';
export { computeFlatView, type FlatViewInput, serviceRouteCidrs } from './kv/compute.js';
export { createFlatKvView, type FlatKvView, type KVEntry } from './kv/view.js';
export { type Logger, nullLogger } from './logger.js';
export { registerDatastoreMetrics, registerIpamMetrics } from './metrics.js';
export { DATASTORE_ENV, type EtcdUrl, openDatastore, parseEtcdUrl, redactUrl, resolveDatastoreUrl } from './open.js';
export {
  DEFAULTS,
  durationSeconds,
  type EffectiveBGPConfiguration,
  effectiveBGPConfiguration,
  parseAsNumber,
} from './resources/defaults.js';
export { ApplyAction, type ApplyResult, parseResource, ResourceStore } from './resources/store.js';
export type {
  BGPConfigurationResource,
  BGPConfigurationSpec,
  BGPDaemonStatus,
  BGPFilterResource,
  BGPFilterRule,
  BGPFilterSpec,
  BGPPeerResource,
  BGPPeerSpec,
  CalicoNodePeer,
  CalicoNodeRoute,
  CalicoNodeStatusResource,
  CalicoNodeStatusSpec,
  CalicoNodeStatusStatus,
  IPPoolResource,
  IPPoolSpec,
  IPReservationResource,
  IPReservationSpec,
  Kind,
  NodeResource,
  NodeSpec,
  ObjectMeta,
  Resource,
  ResourceOf,
  SecretKeyRef,
  WorkloadEndpointResource,
  WorkloadEndpointSpec,
} from './resources/types.js';
export { API_VERSION, EncapMode, KINDS, NAMESPACED_KINDS, NodeStatusClass, PoolUse } from './resources/types.js';
export { describeDoc, parsePeerIP, type Validated, validateResource } from './resources/validate.js';
export { NAMESPACE_LABEL, printSelector, type SelectorAst } from './selector/ast.js';
export { evaluateSelector, type Labels, matchesSelector, Selector } from './selector/evaluate.js';
export { parseSelector, SelectorParseError } from './selector/parse.js';
