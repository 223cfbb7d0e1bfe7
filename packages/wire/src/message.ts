import { ErrorCode, HEADER_LENGTH, HeaderSubcode, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';
import type { UpdateScratch } from './nlri.js';
import { decodeNotification, encodeNotificationBody, type NotificationMessage } from './notification.js';
import { decodeOpen, encodeOpenBody, type OpenMessage } from './open.js';
import { decodeRouteRefresh, encodeRouteRefreshBody, type RouteRefreshMessage } from './route-refresh.js';
import { maxMessageLength, type SessionContext } from './session-context.js';
import { decodeUpdate, encodeUpdateBody, type UpdateMessage } from './update.js';

/** RFC 4271 §4.4 KEEPALIVE: a header only. */
export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

/** Any BGP message, discriminated by `type`. */
export type BgpMessage = OpenMessage | UpdateMessage | NotificationMessage | KeepaliveMessage | RouteRefreshMessage;
export type BgpMessageType = BgpMessage['type'];

/** The KEEPALIVE message. */
export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: 'keepalive' });

const TYPE_CODES: Record<BgpMessageType, MessageType> = {
  open: MessageType.Open,
  update: MessageType.Update,
  notification: MessageType.Notification,
  keepalive: MessageType.Keepalive,
  'route-refresh': MessageType.RouteRefresh,
};

// RFC 4271 §6.1 (and RFC 2918 §3): the smallest valid length of each message type.
const MIN_LENGTH: Record<number, number> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
};

function badLength(len: number, why: string): BgpDecodeError {
  // RFC 4271 §6.1: Bad Message Length; the data is the erroneous Length field.
  return new BgpDecodeError(
    ErrorCode.MessageHeader,
    HeaderSubcode.BadMessageLength,
    Uint8Array.of(len >> 8, len & 0xff),
    `bad message length ${len}: ${why}`,
  );
}

/**
 * Checks the 19-octet header at `b[off..]` (which must be available) and returns the message
 * length. Throws the RFC 4271 §6.1 Message Header Error: Connection Not Synchronized (marker),
 * Bad Message Length (data: the length field) or Bad Message Type (data: the type octet).
 */
export function checkHeader(b: Uint8Array, off: number, extendedMessage: boolean): number {
  for (let i = 0; i < 16; i++) {
    if (b[off + i] !== 0xff) {
      throw new BgpDecodeError(
        ErrorCode.MessageHeader,
        HeaderSubcode.ConnectionNotSynchronized,
        new Uint8Array(0),
        'message marker is not all ones',
      );
    }
  }
  const len = (b[off + 16]! << 8) | b[off + 17]!;
  const type = b[off + 18]!;
  const max = extendedMessage ? 65535 : MAX_MESSAGE_LENGTH;
  if (len < HEADER_LENGTH || len > max) throw badLength(len, `outside ${HEADER_LENGTH}..${max}`);
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    throw new BgpDecodeError(
      ErrorCode.MessageHeader,
      HeaderSubcode.BadMessageType,
      Uint8Array.of(type),
      `bad message type ${type}`,
    );
  }
  if (len < min) throw badLength(len, `shorter than the minimum ${min} for type ${type}`);
  if (type === MessageType.Keepalive && len !== HEADER_LENGTH) throw badLength(len, 'a KEEPALIVE is exactly 19 octets');
  // RFC 8654 §4: OPEN (and KEEPALIVE) never exceed 4096 octets.
  if (type === MessageType.Open && len > MAX_MESSAGE_LENGTH) throw badLength(len, 'an OPEN is at most 4096 octets');
  return len;
}

/**
 * Decodes one whole message (header included), as the framer yields them. Throws only
 * `BgpDecodeError`, whose `notification` is what to send before closing the session; RFC 7606
 * outcomes short of that are applied and reported on the returned UPDATE (`errors`). With
 * `scratch`, an UPDATE's IPv4 withdrawn routes and NLRI are decoded into it: valid until the next
 * decode with the same scratch.
 */
export function decode(bytes: Uint8Array, ctx: SessionContext, scratch?: UpdateScratch): BgpMessage {
  if (bytes.length < HEADER_LENGTH) throw badLength(bytes.length, 'fewer octets than a header');
  const len = checkHeader(bytes, 0, ctx.extendedMessage);
  if (len !== bytes.length) throw badLength(len, `length field says ${len} but ${bytes.length} octets were given`);
  return decodeFramed(bytes, ctx, scratch);
}

/**
 * `decode` for a message as a `Framer` yields it: the framer checked its header already (with the
 * same `ctx.extendedMessage`), so it is not checked twice (a diverse table is 500,000 messages).
 */
export function decodeFramed(bytes: Uint8Array, ctx: SessionContext, scratch?: UpdateScratch): BgpMessage {
  try {
    switch (bytes[18]) {
      case MessageType.Update:
        return decodeUpdate(bytes, ctx, scratch);
      case MessageType.Keepalive:
        return KEEPALIVE;
      case MessageType.Open:
        return decodeOpen(bytes);
      case MessageType.Notification:
        return decodeNotification(bytes);
      default:
        return decodeRouteRefresh(bytes);
    }
  } catch (err) {
    if (err instanceof BgpDecodeError) throw err;
    // Defensive: any other failure is a bug, but the contract is that decoding never throws
    // anything else; report it as an unspecific error of the message's kind.
    const code =
      bytes[18] === MessageType.Open
        ? ErrorCode.Open
        : bytes[18] === MessageType.RouteRefresh
          ? ErrorCode.RouteRefresh
          : ErrorCode.Update;
    throw new BgpDecodeError(code, 0, new Uint8Array(0), `internal decoding failure: ${String(err)}`);
  }
}

/** The result of `tryDecode`: the message, or the error that `decode` would throw. */
export type DecodeResult =
  | { readonly ok: true; readonly message: BgpMessage }
  | { readonly ok: false; readonly error: BgpDecodeError };

/** `decode` without exceptions. */
export function tryDecode(bytes: Uint8Array, ctx: SessionContext): DecodeResult {
  try {
    return { ok: true, message: decode(bytes, ctx) };
  } catch (err) {
    return { ok: false, error: err as BgpDecodeError };
  }
}

/** Prepends the 19-octet header to `body`. */
export function frameMessage(type: MessageType, body: Uint8Array, max: number): Uint8Array {
  const len = HEADER_LENGTH + body.length;
  if (len > max) throw new BgpEncodeError(`message of ${len} octets exceeds the ${max}-octet limit`);
  const out = new Uint8Array(len);
  out.fill(0xff, 0, 16);
  out[16] = len >> 8;
  out[17] = len & 0xff;
  out[18] = type;
  out.set(body, HEADER_LENGTH);
  return out;
}

/**
 * Encodes one message for `ctx`. Throws `BgpEncodeError` when the message cannot be represented,
 * including an UPDATE larger than the negotiated maximum (use `packUpdates` to split).
 */
export function encode(m: BgpMessage, ctx: SessionContext): Uint8Array {
  switch (m.type) {
    case 'keepalive':
      return frameMessage(MessageType.Keepalive, new Uint8Array(0), MAX_MESSAGE_LENGTH);
    case 'open':
      return frameMessage(MessageType.Open, encodeOpenBody(m), MAX_MESSAGE_LENGTH);
    case 'update':
      return frameMessage(MessageType.Update, encodeUpdateBody(m, ctx), maxMessageLength(ctx));
    case 'notification':
      return frameMessage(MessageType.Notification, encodeNotificationBody(m), maxMessageLength(ctx));
    case 'route-refresh':
      return frameMessage(MessageType.RouteRefresh, encodeRouteRefreshBody(m), maxMessageLength(ctx));
    default:
      throw new BgpEncodeError(`unknown message type ${String((m as { type: unknown }).type)}`);
  }
}

/** The wire type code of a message kind. */
export function messageTypeCode(type: BgpMessageType): MessageType {
  return TYPE_CODES[type];
}
