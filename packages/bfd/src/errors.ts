/**
 * Why a received packet was discarded, one stable code per RFC 5880 §6.8.6 reception check (and
 * per demultiplexing or authentication failure). Packets are discarded silently on the wire; the
 * code is counted and logged (rate-limited) so an operator can see why a peer is not heard.
 */
export const DiscardCode = {
  /** Fewer than 24 octets, or fewer than the Length field says. */
  Truncated: 'BFD_PACKET_TRUNCATED',
  /** Version is not 1. */
  BadVersion: 'BFD_BAD_VERSION',
  /** Length below 24 (26 with the A bit), or the authentication section does not fit it. */
  BadLength: 'BFD_BAD_LENGTH',
  /** Detect Mult is zero. */
  ZeroDetectMult: 'BFD_ZERO_DETECT_MULT',
  /** The Multipoint (M) bit is set. */
  Multipoint: 'BFD_MULTIPOINT',
  /** My Discriminator is zero. */
  ZeroMyDiscriminator: 'BFD_ZERO_MY_DISCRIMINATOR',
  /** Your Discriminator is zero while State is Init or Up. */
  ZeroYourDiscriminator: 'BFD_ZERO_YOUR_DISCRIMINATOR',
  /** An authentication section of a reserved type, or whose Auth Len does not match its type. */
  BadAuthSection: 'BFD_BAD_AUTH_SECTION',
  /** Your Discriminator names no session here, or no session matches the source and local address. */
  NoSession: 'BFD_NO_SESSION',
  /** The packet's discriminator names a session of another peer or local address. */
  SessionMismatch: 'BFD_SESSION_MISMATCH',
  /** A single-hop packet from an address outside the subnets of the receiving address (RFC 5881 §5 substitute). */
  NotConnected: 'BFD_NOT_CONNECTED',
  /** The A bit is set but the session uses no authentication. */
  AuthUnexpected: 'BFD_AUTH_UNEXPECTED',
  /** The A bit is clear but the session requires authentication. */
  AuthMissing: 'BFD_AUTH_MISSING',
  /** Wrong type, key ID, password or digest. */
  AuthFailed: 'BFD_AUTH_FAILED',
  /** Sequence number outside the accepted window (a replay, or a peer that restarted its counter). */
  AuthSequence: 'BFD_AUTH_SEQUENCE',
  /** The session is AdminDown locally (RFC 5880 §6.8.6: such packets are discarded after the remote state is noted). */
  AdminDown: 'BFD_ADMIN_DOWN',
} as const;
export type DiscardCode = (typeof DiscardCode)[keyof typeof DiscardCode];

/** A received packet that must be discarded. Returned (never thrown) by `decodeControl` and the session. */
export class BfdDiscardError extends Error {
  readonly code: DiscardCode;
  constructor(code: DiscardCode, message: string) {
    super(message);
    this.name = 'BfdDiscardError';
    this.code = code;
  }
}

/** `encodeControl` was given a packet the wire format cannot carry (a value out of range). */
export class BfdEncodeError extends Error {
  readonly code = 'BFD_ENCODE_ERROR' as const;
  constructor(message: string) {
    super(message);
    this.name = 'BfdEncodeError';
  }
}

/** A session request or option is invalid; `field` names the offending field. */
export class BfdConfigError extends Error {
  readonly code = 'BFD_INVALID_CONFIG' as const;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`bfd: ${field}: ${message}`);
    this.name = 'BfdConfigError';
  }
}

export const ServiceErrorCode = {
  /** The worker's compiled file is missing (run `npx tsc --build`). */
  WorkerMissing: 'BFD_WORKER_MISSING',
  /** The worker thread exited or failed. */
  WorkerFailed: 'BFD_WORKER_FAILED',
  /** The service was stopped. */
  Stopped: 'BFD_STOPPED',
  /** A session for this peer, local address and hop mode already exists. */
  Duplicate: 'BFD_DUPLICATE_SESSION',
  /** The service holds its maximum number of sessions. */
  TooManySessions: 'BFD_TOO_MANY_SESSIONS',
  /** Installing or removing the nftables GTSM rules failed. */
  Gtsm: 'BFD_GTSM_FAILED',
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

/** The BFD service (worker thread, sockets, firewall rules) could not do what was asked. */
export class BfdServiceError extends Error {
  constructor(
    readonly code: ServiceErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BfdServiceError';
  }
}
