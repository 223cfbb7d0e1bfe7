export { bgpRoutes, bgpRouteTarget } from './bgp-routes.js';
export { blackholeRoutes } from './blackhole-routes.js';
export { canonicalPrefix, prefixContains } from './cidr.js';
export type { ClassRoutes } from './class-routes.js';
export { type Clock, ManualClock, systemClock } from './clock.js';
export {
  FibDefaults,
  NO_INTERFACE,
  Protocol,
  ROUTE_CLASS_RANK,
  ROUTE_CLASSES,
  RouteClass,
  RouteType,
  Scope,
} from './constants.js';
export { FibDataplane, type FibDataplaneOptions } from './dataplane.js';
export {
  ClosedError,
  CommandFailedError,
  FibError,
  FibErrorCode,
  InvalidCidrError,
  InvalidInputError,
  InvalidRouteError,
  ReadBackError,
} from './errors.js';
export {
  type BgpBestRoute,
  type Block,
  EncapMode,
  type IpPool,
  type LocalNode,
  type LocalWorkload,
  type RemoteNode,
} from './inputs.js';
export { workloadInterfaceName } from './interface-name.js';
export { type RunResult, run as runCommand } from './ip-command.js';
export { KernelDriver, type KernelDriverOptions } from './kernel-driver.js';
export { KernelLinkDriver, type KernelLinkDriverOptions } from './kernel-link-driver.js';
export { routeArgs, routeSignature, toKernelRoute } from './kernel-route.js';
export {
  type LinkApplyResult,
  type LinkDriver,
  type LinkState,
  MemoryLinkDriver,
  type VxlanDeviceSpec,
} from './link-driver.js';
export { type Logger, silentLogger } from './logger.js';
export { MemoryDriver } from './memory-driver.js';
export { FibMetrics, type FibMetricsSource } from './metrics.js';
export { poolOf, type RemoteBlockPlan, remoteBlockRoutes, sameSubnet, type VxlanPeer } from './remote-block-routes.js';
export type { RouteDriver, RouteOp, RouteOpFailure, TableEvent, TableSnapshot } from './route-driver.js';
export {
  type ApplyObserver,
  type ApplyResult,
  RouteTable,
  type RouteTableOptions,
  type RouteTableStatus,
} from './route-table.js';
export type { KernelRoute, NextHop, RouteTarget } from './types.js';
export { workloadRoutes } from './workload-routes.js';
