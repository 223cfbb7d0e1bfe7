import { copyBytes } from './bytes.js';
import { BgpRole, type BgpRoleName, CapabilityCode, ErrorCode } from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';

/** An (AFI, SAFI) pair as carried in capabilities. */
export interface AfiSafi {
  readonly afi: number;
  readonly safi: number;
}

/** RFC 7911 §4 Send/Receive field. */
export const AddPathMode = { receive: 1, send: 2, both: 3 } as const;
export type AddPathModeName = keyof typeof AddPathMode;

/** A capability advertised in OPEN (RFC 5492). Unknown codes keep their raw value. */
export type Capability =
  /** RFC 4760 §8: one per supported family. */
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  /** RFC 2918 §2. */
  | { readonly kind: 'route-refresh' }
  /** RFC 8950 §3: NLRI families that may carry a next hop of another AFI. */
  | {
      readonly kind: 'extended-next-hop';
      readonly entries: readonly { readonly afi: number; readonly safi: number; readonly nextHopAfi: number }[];
    }
  /** RFC 8654 §3. */
  | { readonly kind: 'extended-message' }
  /** RFC 4724 §3 with the N bit of RFC 8538 §2. */
  | {
      readonly kind: 'graceful-restart';
      /** R bit: the sender has restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538): the sender supports graceful restart for NOTIFICATION messages. */
      readonly notification: boolean;
      /** Restart Time in seconds, 0..4095. */
      readonly restartTime: number;
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly forwarding: boolean }[];
    }
  /** RFC 6793 §3: the sender's real (4-octet) AS number. */
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  /** RFC 7911 §4. */
  | {
      readonly kind: 'add-path';
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly mode: AddPathModeName }[];
    }
  /** RFC 7313 §3.1. */
  | { readonly kind: 'enhanced-route-refresh' }
  /** draft-walton-bgp-hostname-capability: host and domain name. */
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  /** RFC 9234 §4.1: the sender's role; a number for values not defined there. */
  | { readonly kind: 'role'; readonly role: BgpRoleName | number }
  /** Any capability this codec does not model, or a known code with a value it could not parse as such. */
  | { readonly kind: 'unknown'; readonly code: number; readonly value: Uint8Array };

export type CapabilityKind = Capability['kind'];

const ROLE_NAMES = Object.fromEntries(Object.entries(BgpRole).map(([k, v]) => [v, k])) as Record<number, BgpRoleName>;
const ADD_PATH_NAMES = { 1: 'receive', 2: 'send', 3: 'both' } as const;
const utf8 = new TextDecoder('utf-8', { fatal: false });
const utf8Encoder = new TextEncoder();

function malformed(b: Uint8Array, start: number, end: number, what: string): BgpDecodeError {
  // RFC 5492 gives no subcode for a malformed capability value; OPEN Message Error, unspecific,
  // with the capability TLV as data is what common implementations send.
  return new BgpDecodeError(ErrorCode.Open, 0, copyBytes(b, start, end), `malformed ${what} capability in OPEN`);
}

/** Decodes the capabilities in `b[start..end)` (the value of one Capabilities optional parameter). */
export function decodeCapabilities(b: Uint8Array, start: number, end: number, out: Capability[]): void {
  let p = start;
  while (p < end) {
    if (p + 2 > end) throw malformed(b, p, end, 'truncated');
    const code = b[p]!;
    const len = b[p + 1]!;
    const v = p + 2;
    const e = v + len;
    if (e > end) throw malformed(b, p, end, 'overrunning');
    out.push(decodeCapability(b, code, v, e, p));
    p = e;
  }
}

function u16(b: Uint8Array, p: number): number {
  return (b[p]! << 8) | b[p + 1]!;
}

function decodeCapability(b: Uint8Array, code: number, v: number, e: number, tlv: number): Capability {
  const len = e - v;
  switch (code) {
    case CapabilityCode.Multiprotocol:
      // RFC 4760 §8: AFI (2), reserved (1), SAFI (1).
      if (len !== 4) throw malformed(b, tlv, e, 'multiprotocol');
      return { kind: 'multiprotocol', afi: u16(b, v), safi: b[v + 3]! };
    case CapabilityCode.RouteRefresh:
      if (len !== 0) throw malformed(b, tlv, e, 'route refresh');
      return { kind: 'route-refresh' };
    case CapabilityCode.EnhancedRouteRefresh:
      if (len !== 0) throw malformed(b, tlv, e, 'enhanced route refresh');
      return { kind: 'enhanced-route-refresh' };
    case CapabilityCode.ExtendedMessage:
      if (len !== 0) throw malformed(b, tlv, e, 'extended message');
      return { kind: 'extended-message' };
    case CapabilityCode.ExtendedNextHop: {
      // RFC 8950 §3: tuples of NLRI AFI (2), NLRI SAFI (2), Nexthop AFI (2).
      if (len % 6 !== 0) throw malformed(b, tlv, e, 'extended next hop');
      const entries: { afi: number; safi: number; nextHopAfi: number }[] = [];
      for (let p = v; p < e; p += 6) entries.push({ afi: u16(b, p), safi: u16(b, p + 2), nextHopAfi: u16(b, p + 4) });
      return { kind: 'extended-next-hop', entries };
    }
    case CapabilityCode.GracefulRestart: {
      // RFC 4724 §3: flags (4 bits: R, N, reserved) + restart time (12 bits), then
      // AFI (2), SAFI (1), flags (1, high bit = forwarding state preserved) per family.
      if (len < 2 || (len - 2) % 4 !== 0) throw malformed(b, tlv, e, 'graceful restart');
      const families: { afi: number; safi: number; forwarding: boolean }[] = [];
      for (let p = v + 2; p < e; p += 4)
        families.push({ afi: u16(b, p), safi: b[p + 2]!, forwarding: (b[p + 3]! & 0x80) !== 0 });
      return {
        kind: 'graceful-restart',
        restarting: (b[v]! & 0x80) !== 0,
        notification: (b[v]! & 0x40) !== 0,
        restartTime: u16(b, v) & 0x0fff,
        families,
      };
    }
    case CapabilityCode.FourOctetAs:
      if (len !== 4) throw malformed(b, tlv, e, '4-octet AS');
      return { kind: 'four-octet-as', asn: ((b[v]! << 24) | (b[v + 1]! << 16) | (b[v + 2]! << 8) | b[v + 3]!) >>> 0 };
    case CapabilityCode.AddPath: {
      // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1) per family; values other than 1..3 are malformed.
      if (len === 0 || len % 4 !== 0) throw malformed(b, tlv, e, 'ADD-PATH');
      const families: { afi: number; safi: number; mode: AddPathModeName }[] = [];
      for (let p = v; p < e; p += 4) {
        const m = b[p + 3]!;
        if (m < 1 || m > 3) throw malformed(b, tlv, e, 'ADD-PATH');
        families.push({ afi: u16(b, p), safi: b[p + 2]!, mode: ADD_PATH_NAMES[m as 1 | 2 | 3] });
      }
      return { kind: 'add-path', families };
    }
    case CapabilityCode.Fqdn: {
      if (len < 2) throw malformed(b, tlv, e, 'FQDN');
      const hl = b[v]!;
      if (v + 1 + hl + 1 > e) throw malformed(b, tlv, e, 'FQDN');
      const dl = b[v + 1 + hl]!;
      if (v + 2 + hl + dl !== e) throw malformed(b, tlv, e, 'FQDN');
      return {
        kind: 'fqdn',
        hostname: utf8.decode(b.subarray(v + 1, v + 1 + hl)),
        domain: utf8.decode(b.subarray(v + 2 + hl, e)),
      };
    }
    case CapabilityCode.Role:
      if (len !== 1) throw malformed(b, tlv, e, 'BGP role');
      return { kind: 'role', role: ROLE_NAMES[b[v]!] ?? b[v]! };
    default:
      return { kind: 'unknown', code, value: copyBytes(b, v, e) };
  }
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new BgpEncodeError(`cannot encode capability: ${what}`);
}

function u16ok(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}
function u8ok(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}

/** Encodes one capability as code (1), length (1), value. */
export function encodeCapability(c: Capability): Uint8Array {
  let code: number;
  let value: number[] | Uint8Array;
  switch (c.kind) {
    case 'multiprotocol':
      check(u16ok(c.afi) && u8ok(c.safi), 'multiprotocol AFI/SAFI out of range');
      code = CapabilityCode.Multiprotocol;
      value = [c.afi >> 8, c.afi & 0xff, 0, c.safi];
      break;
    case 'route-refresh':
      code = CapabilityCode.RouteRefresh;
      value = [];
      break;
    case 'enhanced-route-refresh':
      code = CapabilityCode.EnhancedRouteRefresh;
      value = [];
      break;
    case 'extended-message':
      code = CapabilityCode.ExtendedMessage;
      value = [];
      break;
    case 'extended-next-hop':
      code = CapabilityCode.ExtendedNextHop;
      value = [];
      for (const x of c.entries) {
        check(u16ok(x.afi) && u16ok(x.safi) && u16ok(x.nextHopAfi), 'extended next hop AFI/SAFI out of range');
        value.push(x.afi >> 8, x.afi & 0xff, x.safi >> 8, x.safi & 0xff, x.nextHopAfi >> 8, x.nextHopAfi & 0xff);
      }
      break;
    case 'graceful-restart': {
      check(
        Number.isInteger(c.restartTime) && c.restartTime >= 0 && c.restartTime <= 0xfff,
        'restart time not in 0..4095',
      );
      code = CapabilityCode.GracefulRestart;
      const hi = (c.restarting ? 0x80 : 0) | (c.notification ? 0x40 : 0) | (c.restartTime >> 8);
      value = [hi, c.restartTime & 0xff];
      for (const f of c.families) {
        check(u16ok(f.afi) && u8ok(f.safi), 'graceful restart AFI/SAFI out of range');
        value.push(f.afi >> 8, f.afi & 0xff, f.safi, f.forwarding ? 0x80 : 0);
      }
      break;
    }
    case 'four-octet-as':
      check(Number.isInteger(c.asn) && c.asn >= 0 && c.asn <= 0xffffffff, 'AS number not uint32');
      code = CapabilityCode.FourOctetAs;
      value = [c.asn >>> 24, (c.asn >>> 16) & 0xff, (c.asn >>> 8) & 0xff, c.asn & 0xff];
      break;
    case 'add-path':
      code = CapabilityCode.AddPath;
      value = [];
      for (const f of c.families) {
        check(u16ok(f.afi) && u8ok(f.safi) && f.mode in AddPathMode, 'ADD-PATH entry out of range');
        value.push(f.afi >> 8, f.afi & 0xff, f.safi, AddPathMode[f.mode]);
      }
      break;
    case 'fqdn': {
      const h = utf8Encoder.encode(c.hostname);
      const d = utf8Encoder.encode(c.domain);
      check(h.length <= 255 && d.length <= 255 && h.length + d.length + 2 <= 255, 'FQDN too long');
      code = CapabilityCode.Fqdn;
      value = [h.length, ...h, d.length, ...d];
      break;
    }
    case 'role': {
      const r = typeof c.role === 'number' ? c.role : BgpRole[c.role];
      check(r !== undefined && u8ok(r), 'unknown role');
      code = CapabilityCode.Role;
      value = [r];
      break;
    }
    case 'unknown':
      check(u8ok(c.code) && c.value.length <= 255, 'unknown capability code or value too long');
      code = c.code;
      value = c.value;
      break;
  }
  check(value.length <= 255, `${c.kind} capability value longer than 255 octets`);
  const out = new Uint8Array(2 + value.length);
  out[0] = code;
  out[1] = value.length;
  out.set(value, 2);
  return out;
}
