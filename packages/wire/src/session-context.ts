import type { Capability } from './capabilities.js';
import { Afi, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, Safi } from './constants.js';
import type { OpenMessage } from './open.js';

/** Per-family ADD-PATH flags for one direction (RFC 7911 applies to IPv4 and IPv6 unicast here). */
export interface AddPathFamilies {
  readonly ipv4: boolean;
  readonly ipv6: boolean;
}

/**
 * What the session negotiated that changes the encoding. `decode` reads the receive side,
 * `encode` the send side; nothing is ever guessed from the bytes.
 */
export interface SessionContext {
  /** RFC 6793: both sides advertised the 4-octet AS capability. */
  readonly fourOctetAs: boolean;
  /** RFC 8654: both sides advertised the Extended Message capability (messages up to 65535 octets). */
  readonly extendedMessage: boolean;
  /** RFC 7911: families whose received NLRI carry path identifiers (used by decode). */
  readonly addPathReceive: AddPathFamilies;
  /** RFC 7911: families whose sent NLRI carry path identifiers (used by encode). */
  readonly addPathSend: AddPathFamilies;
}

const NO_ADD_PATH: AddPathFamilies = Object.freeze({ ipv4: false, ipv6: false });

/** The context before capabilities are known (OPEN exchange): 2-octet AS, 4096-octet messages, no ADD-PATH. */
export const INITIAL_SESSION: SessionContext = Object.freeze({
  fourOctetAs: false,
  extendedMessage: false,
  addPathReceive: NO_ADD_PATH,
  addPathSend: NO_ADD_PATH,
});

/** Builds a context from a partial one (defaults as `INITIAL_SESSION`). */
export function sessionContext(
  init: Partial<Omit<SessionContext, 'addPathReceive' | 'addPathSend'>> & {
    addPathReceive?: Partial<AddPathFamilies>;
    addPathSend?: Partial<AddPathFamilies>;
  } = {},
): SessionContext {
  return Object.freeze({
    fourOctetAs: init.fourOctetAs ?? false,
    extendedMessage: init.extendedMessage ?? false,
    addPathReceive: Object.freeze({
      ipv4: init.addPathReceive?.ipv4 ?? false,
      ipv6: init.addPathReceive?.ipv6 ?? false,
    }),
    addPathSend: Object.freeze({ ipv4: init.addPathSend?.ipv4 ?? false, ipv6: init.addPathSend?.ipv6 ?? false }),
  });
}

/** The peer's view of the same session: receive and send swapped. */
export function mirrorContext(ctx: SessionContext): SessionContext {
  return Object.freeze({ ...ctx, addPathReceive: ctx.addPathSend, addPathSend: ctx.addPathReceive });
}

/** The largest message this context allows (RFC 8654 §4). */
export function maxMessageLength(ctx: SessionContext): number {
  return ctx.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

function has(caps: readonly Capability[], kind: Capability['kind']): boolean {
  return caps.some((c) => c.kind === kind);
}

function addPathMode(caps: readonly Capability[], afi: number): { send: boolean; receive: boolean } {
  let send = false;
  let receive = false;
  for (const c of caps) {
    if (c.kind !== 'add-path') continue;
    for (const f of c.families) {
      if (f.afi !== afi || f.safi !== Safi.unicast) continue;
      send ||= f.mode === 'send' || f.mode === 'both';
      receive ||= f.mode === 'receive' || f.mode === 'both';
    }
  }
  return { send, receive };
}

/**
 * The context a session runs with once both OPENs are known (`local` is the one we sent).
 * RFC 6793 §4 and RFC 8654 §3 need the capability on both sides; RFC 7911 §4: we receive path
 * identifiers for a family when we advertised receive and the peer advertised send, and vice versa.
 */
export function negotiateSession(local: OpenMessage, remote: OpenMessage): SessionContext {
  const l4 = addPathMode(local.capabilities, Afi.ipv4);
  const r4 = addPathMode(remote.capabilities, Afi.ipv4);
  const l6 = addPathMode(local.capabilities, Afi.ipv6);
  const r6 = addPathMode(remote.capabilities, Afi.ipv6);
  return sessionContext({
    fourOctetAs: has(local.capabilities, 'four-octet-as') && has(remote.capabilities, 'four-octet-as'),
    extendedMessage: has(local.capabilities, 'extended-message') && has(remote.capabilities, 'extended-message'),
    addPathReceive: { ipv4: l4.receive && r4.send, ipv6: l6.receive && r6.send },
    addPathSend: { ipv4: l4.send && r4.receive, ipv6: l6.send && r6.receive },
  });
}
