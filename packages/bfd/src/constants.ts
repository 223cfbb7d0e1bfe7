/** RFC 5880 §4.1 session states, as carried in the Sta field. */
export const State = { AdminDown: 0, Down: 1, Init: 2, Up: 3 } as const;
export type State = (typeof State)[keyof typeof State];
export const STATE_NAMES = ['AdminDown', 'Down', 'Init', 'Up'] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** RFC 5880 §4.1 diagnostic codes (Diag field, 5 bits; 9-31 are reserved). */
export const Diag = {
  None: 0,
  ControlDetectionTimeExpired: 1,
  EchoFunctionFailed: 2,
  NeighborSignaledSessionDown: 3,
  ForwardingPlaneReset: 4,
  PathDown: 5,
  ConcatenatedPathDown: 6,
  AdministrativelyDown: 7,
  ReverseConcatenatedPathDown: 8,
} as const;
export type Diag = (typeof Diag)[keyof typeof Diag];

const DIAG_NAMES: readonly string[] = [
  'No Diagnostic',
  'Control Detection Time Expired',
  'Echo Function Failed',
  'Neighbor Signaled Session Down',
  'Forwarding Plane Reset',
  'Path Down',
  'Concatenated Path Down',
  'Administratively Down',
  'Reverse Concatenated Path Down',
];

/** The RFC 5880 name of a diagnostic code (`reserved (N)` for 9-31). */
export function diagName(code: number): string {
  return DIAG_NAMES[code] ?? `reserved (${code})`;
}

/** RFC 5880 §4.1 authentication types (0 and 6-255 are reserved). */
export const AuthType = {
  SimplePassword: 1,
  KeyedMd5: 2,
  MeticulousKeyedMd5: 3,
  KeyedSha1: 4,
  MeticulousKeyedSha1: 5,
} as const;
export type AuthType = (typeof AuthType)[keyof typeof AuthType];

/** UDP ports: RFC 5881 §4 single hop, RFC 5883 §5 multihop, and the source port range both use. */
export const Port = {
  SingleHop: 3784,
  MultiHop: 4784,
  SourceMin: 49152,
  SourceMax: 65535,
} as const;

/** Fixed sizes (octets) of RFC 5880 §4 sections. */
export const HEADER_LENGTH = 24;
export const MIN_AUTH_LENGTH = 26;

/** RFC 5880 §6.8.3: while a session is not Up, DesiredMinTxInterval is at least one second (µs). */
export const SLOW_TX_INTERVAL_US = 1_000_000;

/** RFC 5881 §5: the TTL (IPv4) / Hop Limit (IPv6) single-hop packets are sent with and must arrive with. */
export const SINGLE_HOP_TTL = 255;
