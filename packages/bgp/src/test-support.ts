import {
  type BgpMessage,
  type Capability,
  decode,
  encode,
  Framer,
  type OpenMessage,
  type SessionContext,
  sessionContext,
} from '@tabby/wire';
import type { Connection } from './transport.js';

/** Polls `check` every 5 ms until it holds; throws after `ms`. For in-process tests. */
export async function until(what: string, check: () => boolean, ms = 4000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The far end of a connection to a speaker, played by a test: what it received, decoded, and `send`. */
export function rawEnd(conn: Connection, ctx: SessionContext = sessionContext({ fourOctetAs: true })) {
  const framer = new Framer({ extendedMessage: ctx.extendedMessage });
  const got: BgpMessage[] = [];
  let closed = false;
  conn.onData((d) => {
    for (const m of framer.push(d)) got.push(decode(m, ctx));
  });
  conn.onClose(() => {
    closed = true;
  });
  return {
    got,
    get closed() {
      return closed;
    },
    send: (m: BgpMessage) => conn.write(encode(m, ctx)),
  };
}

/** An OPEN from a test's peer: AS 64512 and hold time 90 s unless given. */
export function openFrom(bgpId: string, capabilities: Capability[], myAs = 64512, holdTime = 90): OpenMessage {
  return { type: 'open', version: 4, myAs, holdTime, bgpId, capabilities };
}
