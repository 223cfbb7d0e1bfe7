export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export { type BfdInput, readBfd } from './config/bfd-reader.js';
export { addressToBigInt, bigIntToAddress, type ParsedCidr, parseCidr } from './config/cidr.js';
export { loadConfigFile, parseConfig, readConfigText, readTop, type SpeakerTop, TOP_KEYS } from './config/load.js';
export {
  checkPolicyNames,
  completePeer,
  defaultFamilies,
  defaultPeerName,
  PEER_KEYS,
  type PeerDefaults,
  PeerIndex,
  type PeerInput,
  type PeerTop,
  readAddPath,
  readFamilies,
  readPeer,
} from './config/peer-reader.js';
export { ConfigError, type ConfigIssue, ConfigReader, type Path as ConfigPath } from './config/reader.js';
export type * from './config/types.js';
export { Families, MaxPrefixActions, NextHopModes, PolicyActions } from './config/types.js';
export type * from './control/api.js';
export { SessionStates } from './control/api.js';
export { ControlHandler } from './control/handler.js';
export { ControlError, type ControlRequest, type ControlResponse } from './control/protocol.js';
export { type ControlHandlerFn, ControlServer, socketInUse } from './control/server.js';
export { BGPD_HELP, BGPD_VERSION, DEFAULT_CONTROL_SOCKET, runBgpd } from './daemon.js';
export {
  type DaemonArgs,
  DaemonLifecycle,
  daemonLogger,
  daemonPrologue,
  metricsEndpoint,
  type ServeOptions,
  StopRequestedError,
  serveDaemon,
} from './daemon-support.js';
export type { BestRouteEvent, FibEntry } from './fib-feed.js';
export { type Logger, silentLogger } from './logger.js';
export { daemonRegistry, type MetricsEndpoint, registerSpeakerMetrics, serveMetrics } from './metrics.js';
export {
  applyDaemonNodeOptions,
  DAEMON_NODE_OPTIONS,
  daemonCommand,
  nodeOptionsLogged,
  RUNTIME_DAEMON_OPTIONS,
} from './node-options.js';
export { Peer } from './peer.js';
export { policyPasses } from './policy/policy-set.js';
export { compareKeys, type PrefixKey, prefixKeyText } from './rib/prefix-key.js';
export { describeNotification, Session } from './session.js';
export { Speaker, type SpeakerDeps } from './speaker.js';
export {
  type Connection,
  type ConnectOptions,
  type Listener,
  type ListenOptions,
  MemoryNetwork,
  plainAddress,
  type Transport,
  tcpTransport,
} from './transport.js';
