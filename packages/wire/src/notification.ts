import { copyBytes } from './bytes.js';
import { CeaseSubcode, ErrorCode, HEADER_LENGTH } from './constants.js';
import { BgpEncodeError } from './errors.js';

/** RFC 4271 §4.5 NOTIFICATION. */
export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  /**
   * Decode only: the shutdown communication of a Cease / Administrative Shutdown or Reset
   * (RFC 8203, lengths up to 255 per RFC 9003), when the data holds a well-formed one.
   */
  readonly shutdownMessage?: string | undefined;
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

/** Decodes the body of a NOTIFICATION; `b` is the whole message. Never fails (lengths are checked by the header). */
export function decodeNotification(b: Uint8Array): NotificationMessage {
  const code = b[HEADER_LENGTH]!;
  const subcode = b[HEADER_LENGTH + 1]!;
  const data = copyBytes(b, HEADER_LENGTH + 2);
  const base = { type: 'notification' as const, code, subcode, data };
  if (
    code === ErrorCode.Cease &&
    (subcode === CeaseSubcode.AdministrativeShutdown || subcode === CeaseSubcode.AdministrativeReset) &&
    data.length > 0
  ) {
    // RFC 8203 §2: Length (1), then that many octets of UTF-8. A malformed one is just data.
    const len = data[0]!;
    if (len + 1 === data.length) {
      try {
        return { ...base, shutdownMessage: fatalUtf8.decode(data.subarray(1)) };
      } catch {
        return base;
      }
    }
  }
  return base;
}

/** Encodes the body of a NOTIFICATION. */
export function encodeNotificationBody(m: NotificationMessage): Uint8Array {
  if (
    !Number.isInteger(m.code) ||
    m.code < 0 ||
    m.code > 255 ||
    !Number.isInteger(m.subcode) ||
    m.subcode < 0 ||
    m.subcode > 255
  ) {
    throw new BgpEncodeError(`NOTIFICATION code/subcode ${m.code}/${m.subcode} out of range`);
  }
  const out = new Uint8Array(2 + m.data.length);
  out[0] = m.code;
  out[1] = m.subcode;
  out.set(m.data, 2);
  return out;
}

/** A NOTIFICATION message with the given code, subcode and data. */
export function notification(code: number, subcode: number, data: Uint8Array = new Uint8Array(0)): NotificationMessage {
  return { type: 'notification', code, subcode, data };
}

/**
 * A Cease / Administrative Shutdown (or Reset) NOTIFICATION with an RFC 8203 shutdown
 * communication. Throws a BgpEncodeError when the UTF-8 text exceeds 255 octets (RFC 9003 §2).
 */
export function shutdownNotification(
  text: string,
  subcode: number = CeaseSubcode.AdministrativeShutdown,
): NotificationMessage {
  const bytes = encoder.encode(text);
  if (bytes.length > 255)
    throw new BgpEncodeError(`shutdown communication is ${bytes.length} octets; the limit is 255`);
  const data = new Uint8Array(1 + bytes.length);
  data[0] = bytes.length;
  data.set(bytes, 1);
  return { type: 'notification', code: ErrorCode.Cease, subcode, data, shutdownMessage: text };
}

/** RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, with AFI, SAFI and the configured limit as data. */
export function maxPrefixNotification(afi: number, safi: number, limit: number): NotificationMessage {
  const data = Uint8Array.of(
    afi >> 8,
    afi & 0xff,
    safi,
    limit >>> 24,
    (limit >>> 16) & 0xff,
    (limit >>> 8) & 0xff,
    limit & 0xff,
  );
  return { type: 'notification', code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached, data };
}
