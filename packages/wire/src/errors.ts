import { ErrorCode } from './constants.js';

/** The NOTIFICATION a speaker must send (and then close the session) for a decoding error. */
export interface NotificationSpec {
  /** RFC 4271 §4.5 error code. */
  readonly code: number;
  /** Error subcode; 0 when unspecific. */
  readonly subcode: number;
  /** The Data field, exactly as RFC 4271 §6 prescribes for this error. */
  readonly data: Uint8Array;
}

/** Stable error codes of `BgpDecodeError`, one per NOTIFICATION error code that decoding can raise. */
export const DecodeErrorCode = {
  [ErrorCode.MessageHeader]: 'WIRE_MESSAGE_HEADER_ERROR',
  [ErrorCode.Open]: 'WIRE_OPEN_MESSAGE_ERROR',
  [ErrorCode.Update]: 'WIRE_UPDATE_MESSAGE_ERROR',
  [ErrorCode.RouteRefresh]: 'WIRE_ROUTE_REFRESH_MESSAGE_ERROR',
} as const;
export type DecodeErrorCode = (typeof DecodeErrorCode)[keyof typeof DecodeErrorCode];

/**
 * A received message is malformed in a way that needs a session reset: send `notification` and
 * close the connection. This is the only exception `decode` and the framer ever throw.
 */
export class BgpDecodeError extends Error {
  readonly code: DecodeErrorCode;
  readonly notification: NotificationSpec;

  constructor(code: number, subcode: number, data: Uint8Array, message: string) {
    super(`${message} (send NOTIFICATION ${code}/${subcode} and close the session)`);
    this.name = 'BgpDecodeError';
    this.code = DecodeErrorCode[code as keyof typeof DecodeErrorCode] ?? 'WIRE_UPDATE_MESSAGE_ERROR';
    this.notification = { code, subcode, data };
  }
}

/** `encode` was asked for something the wire format cannot carry (a value out of range, a message over the size limit). */
export class BgpEncodeError extends Error {
  readonly code = 'WIRE_ENCODE_ERROR' as const;

  constructor(message: string) {
    super(message);
    this.name = 'BgpEncodeError';
  }
}

/** Shorthand used by the decoders. */
export function decodeError(code: number, subcode: number, data: Uint8Array, message: string): BgpDecodeError {
  return new BgpDecodeError(code, subcode, data, message);
}
