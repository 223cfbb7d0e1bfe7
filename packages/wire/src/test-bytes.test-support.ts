// Small helpers to build byte vectors from hex in tests.

import type { PathAttributes } from './attributes.js';
import { encode } from './message.js';
import { PrefixList } from './prefix-list.js';
import type { SessionContext } from './session-context.js';

/** Bytes from hex text; spaces are ignored. */
export function h(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new Error(`bad hex ${text}`);
  return Uint8Array.from(Buffer.from(clean, 'hex'));
}

/** Hex text of bytes. */
export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** A whole message of `type` around `body` (hex). */
export function msg(type: number, body: string): Uint8Array {
  const b = h(body);
  const out = new Uint8Array(19 + b.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(b, 19);
  return out;
}

/** An UPDATE from hex withdrawn routes, path attributes and NLRI (lengths computed). */
export function updateBytes(parts: { withdrawn?: string; attrs?: string; nlri?: string }): Uint8Array {
  const w = h(parts.withdrawn ?? '');
  const a = h(parts.attrs ?? '');
  const n = h(parts.nlri ?? '');
  const u16 = (x: number) => x.toString(16).padStart(4, '0');
  return msg(2, `${u16(w.length)}${hex(w)}${u16(a.length)}${hex(a)}${hex(n)}`);
}

/** Encodes an UPDATE announcing IPv4 `prefixes` under `attributes`. */
export function announce(attributes: PathAttributes, prefixes: string[], ctx: SessionContext): Uint8Array {
  return encode(
    {
      type: 'update',
      withdrawn: PrefixList.empty(1, ctx.addPathSend.ipv4),
      attributes,
      nlri: PrefixList.from(1, prefixes),
    },
    ctx,
  );
}
