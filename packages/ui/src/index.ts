export { kernelRouteGet, kernelRoutes } from './kernel.js';
export {
  blocksOf,
  type ClusterSource,
  type ClusterView,
  type Hop,
  type NodePeers,
  type NodeView,
  type PodView,
  SESSION_CLASS,
  type SessionClass,
  type SessionView,
  sessionsOf,
} from './model.js';
export { cniPodRoute, memoryRouteGet, type RouteLike, routeLine } from './route-line.js';
export { DEFAULT_UI_PORT, startMap, UiServer, type UiServerOptions, uiPort } from './server.js';
export { longestMatch, type RouteDecision, type RouteTables, type TraceTopology, tracePath } from './trace.js';
