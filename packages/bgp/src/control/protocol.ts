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

/**
 * Error codes of the protocol. A client can rely on them; messages are for people.
 * - `BAD_REQUEST`: not a JSON object, no command, an argument of the wrong type or unknown.
 * - `REQUEST_TOO_LONG`: a line longer than `LIMITS.maxLineBytes` (the connection is then closed).
 * - `TOO_MANY_REQUESTS`: more than `LIMITS.maxPending` requests waiting on one connection (the
 *   connection is closed once the accepted ones are answered).
 * - `TOO_MANY_CLIENTS`: more than `LIMITS.maxClients` connections at once (closed at once).
 * - A client that reads nothing of an answer for `LIMITS.maxStallMs` is disconnected (no answer).
 * - `INTERNAL_ERROR`: a bug; the speaker logs the details, the message says no more.
 * - command errors: `UNKNOWN_COMMAND`, `UNKNOWN_PEER`, `BAD_PREFIX`, `NOT_ESTABLISHED`,
 *   `NO_CONFIG_FILE`, `CONFIG_INVALID`, `RELOAD_REFUSED`; `network add|delete`: `BAD_COMMUNITY`,
 *   `NETWORK_CONFIGURED` (the config file's network), `UNKNOWN_NETWORK`, `TOO_MANY_NETWORKS`.
 */
export class ControlError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}

/** What one client may cost the speaker. */
export const LIMITS = {
  /** Longest request line (bytes); a longer one is refused and the client disconnected. */
  maxLineBytes: 64 * 1024,
  /** Requests waiting for their answer on one connection; one more is refused, then the connection closes. */
  maxPending: 64,
  /** Connections at once. */
  maxClients: 64,
  /**
   * Work for all control clients together in one turn of the event loop (ms): whatever they ask,
   * timers (keepalives, hold timers), sessions and signals get the loop back after this long.
   */
  turnMs: 4,
  /**
   * How long a client may leave an answer unread (its socket buffer full) before it is
   * disconnected: a client that never reads must not keep a connection slot and its listing
   * forever (ms).
   */
  maxStallMs: 30_000,
} as const;

/**
 * A result produced in pieces (long listings): each `next()` does a bounded piece of work and
 * returns text to append to the response (`undefined`: work, no text yet). The server pulls pieces
 * while its turn lasts, writes them as they come and stops pulling when the client goes.
 */
export class ControlStream {
  constructor(readonly pieces: Iterator<string | undefined, void>) {}
}
