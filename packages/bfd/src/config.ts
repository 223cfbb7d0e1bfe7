import { isIP } from 'node:net';
import { AUTH_TYPE_NAMES, type AuthConfig, type AuthTypeName, maxSecretLength } from './auth.js';
import { BfdConfigError } from './errors.js';

/** What a client (the BGP speaker) asks for: one BFD session to one peer. */
export interface SessionRequest {
  /** Peer address: IPv4, or IPv6 (link-local with `%interface`). */
  readonly peer: string;
  /**
   * Local address to send from and receive on. When absent the kernel's source address towards
   * the peer is used (resolved without sending anything, and again while there is no route).
   */
  readonly local?: string;
  /** RFC 5883 multihop (UDP 4784) instead of RFC 5881 single hop (UDP 3784). Default false. */
  readonly multihop?: boolean;
  /** Desired Min TX Interval in ms once Up (10-60000, default 300). While not Up: at least 1000. */
  readonly minTxMs?: number;
  /** Required Min RX Interval in ms (10-60000, default 300). */
  readonly minRxMs?: number;
  /** Detect Mult (1-255, default 3). */
  readonly multiplier?: number;
  /** Passive role (RFC 5880 §6.1): send nothing until the peer has been heard. Default false. */
  readonly passive?: boolean;
  /** Optional authentication (RFC 5880 §6.7). */
  readonly auth?: AuthConfig;
  /** A label for logs, `bgpctl show bfd` and metrics (e.g. the BGP peer's name). Default: the peer address. */
  readonly name?: string;
}

/** A validated request with defaults applied. */
export interface SessionConfig {
  readonly peer: string;
  readonly local: string | null;
  readonly multihop: boolean;
  readonly minTxMs: number;
  readonly minRxMs: number;
  readonly multiplier: number;
  readonly passive: boolean;
  readonly auth: AuthConfig | null;
  readonly name: string;
}

export const DEFAULTS = { minTxMs: 300, minRxMs: 300, multiplier: 3 } as const;
export const INTERVAL_RANGE_MS = { min: 10, max: 60_000 } as const;

function stripZone(a: string): string {
  const i = a.indexOf('%');
  return i < 0 ? a : a.slice(0, i);
}

/** An address without its `%zone`, lower case: for comparing addresses. */
export function bareAddress(a: string): string {
  return stripZone(a).toLowerCase();
}

/** The canonical text of an address (IPv6 compressed and lower case), keeping a `%zone` suffix. */
export function canonicalAddress(a: string): string {
  const i = a.indexOf('%');
  const [addr, zone] = i < 0 ? [a, ''] : [a.slice(0, i), a.slice(i)];
  if (isIP(addr) !== 6) return a;
  return `${new URL(`http://[${addr}]/`).hostname.slice(1, -1)}${zone}`;
}

/** 4, 6, or 0 when `a` is not an address (a `%zone` suffix is allowed on IPv6). */
export function addressFamily(a: string): 0 | 4 | 6 {
  return isIP(stripZone(a)) as 0 | 4 | 6;
}

function intIn(field: string, v: unknown, min: number, max: number, unit = ''): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw new BfdConfigError(field, `${JSON.stringify(v)} is not an integer from ${min} to ${max}${unit}`);
  return v;
}

/** Validates a request; throws `BfdConfigError` naming the first wrong field. */
export function sessionConfig(r: SessionRequest): SessionConfig {
  if (typeof r !== 'object' || r === null) throw new BfdConfigError('request', 'expected an object');
  const fam = typeof r.peer === 'string' ? addressFamily(r.peer) : 0;
  if (!fam) throw new BfdConfigError('peer', `${JSON.stringify(r.peer)} is not an IP address`);
  if (r.local !== undefined) {
    const lf = typeof r.local === 'string' ? addressFamily(r.local) : 0;
    if (!lf) throw new BfdConfigError('local', `${JSON.stringify(r.local)} is not an IP address`);
    if (lf !== fam) throw new BfdConfigError('local', `${r.local} is not of the same family as peer ${r.peer}`);
  }
  const { min, max } = INTERVAL_RANGE_MS;
  let auth: AuthConfig | null = null;
  if (r.auth !== undefined) {
    const a = r.auth;
    if (typeof a !== 'object' || a === null || !(a.type in AUTH_TYPE_NAMES))
      throw new BfdConfigError('auth.type', `expected one of ${Object.keys(AUTH_TYPE_NAMES).join(', ')}`);
    intIn('auth.keyId', a.keyId, 0, 255);
    const len = typeof a.secret === 'string' ? new TextEncoder().encode(a.secret).length : 0;
    const maxLen = maxSecretLength(a.type as AuthTypeName);
    if (len < 1 || len > maxLen) throw new BfdConfigError('auth.secret', `must be 1 to ${maxLen} octets (UTF-8)`);
    auth = { type: a.type, keyId: a.keyId, secret: a.secret };
  }
  if (r.name !== undefined && (typeof r.name !== 'string' || r.name.length === 0 || r.name.length > 128))
    throw new BfdConfigError('name', 'must be a string of 1 to 128 characters');
  return {
    peer: canonicalAddress(r.peer),
    local: r.local === undefined ? null : canonicalAddress(r.local),
    multihop: r.multihop === true,
    minTxMs: intIn('minTxMs', r.minTxMs ?? DEFAULTS.minTxMs, min, max, ' ms'),
    minRxMs: intIn('minRxMs', r.minRxMs ?? DEFAULTS.minRxMs, min, max, ' ms'),
    multiplier: intIn('multiplier', r.multiplier ?? DEFAULTS.multiplier, 1, 255),
    passive: r.passive === true,
    auth,
    name: r.name ?? r.peer,
  };
}

/** The identity of a session: a peer, a local address (or none given) and the hop mode. */
export function sessionKey(c: Pick<SessionConfig, 'peer' | 'local' | 'multihop'>): string {
  return `${c.multihop ? 'multihop' : 'single-hop'} ${c.local ?? '*'} -> ${c.peer}`;
}
