/** Wire-format constants of BGP-4 and its extensions, as `as const` objects with derived unions. */

/** RFC 4271 §4.1: every message starts with 16 octets of 0xff, a 2-octet length and a 1-octet type. */
export const HEADER_LENGTH = 19;
/** RFC 4271 §4.1: the largest message without extended messages. */
export const MAX_MESSAGE_LENGTH = 4096;
/** RFC 8654 §4: the largest message once the Extended Message capability is negotiated both ways. */
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;
/** RFC 6793 §2: the 2-octet AS number that stands for a 4-octet one. */
export const AS_TRANS = 23456;
/** RFC 4271 §4.2: the only BGP version. */
export const BGP_VERSION = 4;

/** RFC 4271 §4.1, RFC 2918 §3: message type codes. */
export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4271 §4.5, RFC 7313 §5: NOTIFICATION error codes. */
export const ErrorCode = {
  MessageHeader: 1,
  Open: 2,
  Update: 3,
  HoldTimerExpired: 4,
  Fsm: 5,
  Cease: 6,
  RouteRefresh: 7,
  /** RFC 9687. */
  SendHoldTimerExpired: 8,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** RFC 4271 §6.1: Message Header Error subcodes. */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2, RFC 5492 §5, RFC 9234 §4.2: OPEN Message Error subcodes. */
export const OpenSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  /** 5 is deprecated (Authentication Failure). */
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

/** RFC 4271 §6.3: UPDATE Message Error subcodes (7 is deprecated). */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608 §4: Finite State Machine Error subcodes. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 §4, RFC 8203, RFC 9003: Cease subcodes. */
export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  /** RFC 8538 §3. */
  HardReset: 9,
  /** RFC 9384. */
  BfdDown: 10,
} as const;

/** RFC 7313 §5: ROUTE-REFRESH Message Error subcodes. */
export const RouteRefreshSubcode = {
  InvalidMessageLength: 1,
} as const;

/** RFC 4271 §4.3: attribute flag bits (high-order octet of the attribute type). */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

/** Path attribute type codes (IANA "BGP Path Attributes"). */
export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  MultiExitDisc: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunities: 32,
} as const;
export type AttrType = (typeof AttrType)[keyof typeof AttrType];

/** RFC 4271 §4.3 ORIGIN values. */
export const OriginValue = { igp: 0, egp: 1, incomplete: 2 } as const;
export type Origin = keyof typeof OriginValue;

/** RFC 4271 §4.3, RFC 5065 §3: AS_PATH segment types. */
export const AsPathSegmentType = {
  set: 1,
  sequence: 2,
  'confed-sequence': 3,
  'confed-set': 4,
} as const;
export type AsPathSegmentKind = keyof typeof AsPathSegmentType;

/** RFC 4271 §4.2, RFC 9072: OPEN optional parameter types. */
export const OptParamType = {
  Capabilities: 2,
  /** RFC 9072 §2: a Non-Ext OP Type of 255 marks the extended optional parameters length. */
  ExtendedLength: 255,
} as const;

/** Capability codes (IANA "Capability Codes"). */
export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  Role: 9,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  Fqdn: 73,
} as const;
export type CapabilityCode = (typeof CapabilityCode)[keyof typeof CapabilityCode];

/** Address family identifiers (IANA). Only IPv4 and IPv6 have NLRI decoders here. */
export const Afi = { ipv4: 1, ipv6: 2 } as const;
export type Afi = (typeof Afi)[keyof typeof Afi];

/** Subsequent address family identifiers (IANA). */
export const Safi = { unicast: 1, multicast: 2 } as const;

/** RFC 1997, RFC 3765, RFC 7999, RFC 8326: well-known community values. */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000,
  ACCEPT_OWN: 0xffff0001,
  LLGR_STALE: 0xffff0006,
  NO_LLGR: 0xffff0007,
  BLACKHOLE: 0xffff029a,
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NOPEER: 0xffffff04,
} as const;

/** RFC 9234 §4.1: BGP role values. */
export const BgpRole = {
  provider: 0,
  rs: 1,
  'rs-client': 2,
  customer: 3,
  peer: 4,
} as const;
export type BgpRoleName = keyof typeof BgpRole;

/** RFC 7313 §3: ROUTE-REFRESH message subtypes (the former Reserved octet). */
export const RouteRefreshSubtype = {
  normal: 0,
  borr: 1,
  eorr: 2,
} as const;
export type RouteRefreshSubtypeName = keyof typeof RouteRefreshSubtype;
