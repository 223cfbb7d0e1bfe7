/**
 * The control socket protocol: newline-delimited JSON over a UNIX socket. Each request is one line
 * `{"id":N,"command":"show summary","args":{...}}`; each response one line with the same id,
 * `{"id":N,"ok":true,"result":...}` or `{"id":N,"ok":false,"error":{"code":"...","message":"..."}}`.
 * Responses on one connection come in request order; connections are independent.
 */
export interface ControlRequest {
  id: number;
  command: string;
  args?: Record<string, unknown>;
}

export type ControlResponse =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string } };

/** An error a handler throws to answer with a stable code (e.g. `UNKNOWN_PEER`). */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** Longest request line accepted; a client sending more is disconnected. */
export const MAX_REQUEST_BYTES = 1 << 20;
