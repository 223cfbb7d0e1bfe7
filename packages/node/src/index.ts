export { NodeAgent, type NodeAgentOptions, type NodePeerStatus } from './agent.js';
export { interfaceAddress, NODE_HELP, runNode } from './daemon.js';
export {
  type ClusterView,
  clusterId,
  compareAddresses,
  computePeerings,
  nodeAddress,
  nodeAs,
  type Peering,
  type PeerType,
  PeerTypes,
  protocolName,
} from './peering.js';
export { SpeakerConfigRenderer, type SpeakerTemplateOptions } from './speaker-config.js';
