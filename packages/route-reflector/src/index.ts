// @tabby/route-reflector: the `tabby rr` daemon, a speaker run as a route reflector whose
// clients come from its config or from the datastore's Node resources. See README.md.
export {
  buildSpeakerConfig,
  type NodePeers,
  nodePeerName,
  nodePeers,
  type SkippedNode,
  speakerBase,
} from './clients.js';
export {
  type ClientDefaults,
  loadRrConfigFile,
  parseRrConfig,
  type RrConfig,
  type RrDatastoreConfig,
} from './config.js';
export { DEFAULT_RR_CONTROL_SOCKET, RR_HELP, RR_VERSION, runRr } from './daemon.js';
export { RouteReflector, type RouteReflectorDeps } from './reflector.js';
