/**
 * @tabby/wire: the BGP-4 message codec. Pure functions and types, no I/O, no timers.
 * See README.md for the smallest use.
 *
 * Receiving: `Framer` (TCP chunks in, whole messages out) → `decode(bytes, ctx)` → `BgpMessage`,
 * or a thrown `BgpDecodeError` carrying the NOTIFICATION to send. RFC 7606 outcomes short of a
 * reset are applied on the returned `UpdateMessage` (`treatAsWithdraw`, `errors`).
 * Sending: `encode(message, ctx)`, or `encodeAttributeSet` once + `packUpdates` for many prefixes.
 * `SessionContext` (from `negotiateSession`) says what the session negotiated.
 */

export { AttributeKey, fnv1a } from './attr-key.js';
export {
  type Aggregator,
  type AsPathSegment,
  asPathLength,
  encodePathAttributes,
  type LargeCommunity,
  mergeAs4Path,
  OTC_ATTR_TYPE,
  type PathAttributes,
  type RawAttribute,
} from './attributes.js';
export {
  AddPathMode,
  type AddPathModeName,
  type AfiSafi,
  type Capability,
  type CapabilityKind,
  encodeCapability,
} from './capabilities.js';
export {
  Afi,
  AS_TRANS,
  type AsPathSegmentKind,
  AttrFlag,
  AttrType,
  BgpRole,
  type BgpRoleName,
  CapabilityCode,
  CeaseSubcode,
  ErrorCode,
  FsmSubcode,
  HEADER_LENGTH,
  HeaderSubcode,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  OpenSubcode,
  type Origin,
  RouteRefreshSubcode,
  RouteRefreshSubtype,
  type RouteRefreshSubtypeName,
  Safi,
  UpdateSubcode,
  WellKnownCommunity,
} from './constants.js';
export { BgpDecodeError, BgpEncodeError, DecodeErrorCode, type NotificationSpec } from './errors.js';
export {
  asPathToString,
  communityToString,
  extendedCommunityToString,
  formatMessage,
  messageToJson,
  notificationName,
} from './format.js';
export { Framer } from './framer.js';
export { ipv4ToString, ipv6At, parseIpv4, parseIpv6 } from './ip.js';
export {
  type BgpMessage,
  type BgpMessageType,
  checkHeader,
  type DecodeResult,
  decode,
  decodeFramed,
  encode,
  KEEPALIVE,
  type KeepaliveMessage,
  tryDecode,
} from './message.js';
export { PrefixScratch, UpdateScratch } from './nlri.js';
export { maxPrefixNotification, type NotificationMessage, notification, shutdownNotification } from './notification.js';
export { type OpenMessage, openAsn } from './open.js';
export { type Prefix, PrefixList } from './prefix-list.js';
export type { RouteRefreshMessage } from './route-refresh.js';
export {
  type AddPathFamilies,
  INITIAL_SESSION,
  maxMessageLength,
  mirrorContext,
  negotiateSession,
  type SessionContext,
  sessionContext,
} from './session-context.js';
export { type MpReach, type MpUnreach, UpdateAction, type UpdateError, type UpdateMessage } from './update.js';
export {
  type AttributeSet,
  encodeAttributeSet,
  endOfRib,
  endOfRibFamily,
  type PackInput,
  packUpdates,
} from './update-packer.js';
