export { type AuthConfig, Authenticator, type AuthTypeName } from './auth.js';
export { type Clock, ManualClock, systemClock, type TimerHandle } from './clock.js';
export {
  addressFamily,
  canonicalAddress,
  DEFAULTS,
  INTERVAL_RANGE_MS,
  type SessionConfig,
  type SessionRequest,
  sessionConfig,
  sessionKey,
} from './config.js';
export { AuthType, Diag, diagName, Port, STATE_NAMES, State, type StateName } from './constants.js';
export {
  BfdEngine,
  type BfdTransport,
  type EngineEvent,
  type PacketInfo,
  type SessionLink,
  type SessionStatus,
  type TransportBinding,
} from './engine.js';
export {
  BfdConfigError,
  BfdDiscardError,
  BfdEncodeError,
  BfdServiceError,
  DiscardCode,
  ServiceErrorCode,
} from './errors.js';
export { GTSM_TABLE, gtsmRuleset, installGtsm, removeGtsm } from './gtsm.js';
export { type AuthSection, type ControlPacket, type DecodeResult, decodeControl, encodeControl } from './packet.js';
export {
  type BfdDownEvent,
  BfdService,
  type BfdServiceOptions,
  BfdSessionHandle,
  type DownReason,
  type Logger,
} from './service.js';
export { BfdSession, type FsmStatus, type SessionEnv, type SessionTimers, type StateChange } from './session.js';
export { type ShowBfdEntry, showBfdEntry } from './show.js';
export { BFD_SPEC_KEYS, type BfdSpec, INTERVAL_HELP, intervalMs, parseBfdSpec } from './spec.js';
export { type SingleHopSourceCheck, UdpTransport, type UdpTransportOptions } from './udp-transport.js';
