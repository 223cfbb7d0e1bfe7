// Arbitrary and mutated bytes give a decoded message or a BgpDecodeError: never another
// exception, a hang, or unbounded memory.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextArb, messageArb } from './arbitraries.test-support.js';
import { BgpDecodeError, BgpEncodeError } from './errors.js';
import { Framer } from './framer.js';
import { decode, decodeFramed, encode } from './message.js';
import { type SessionContext, sessionContext } from './session-context.js';

function check(bytes: Uint8Array, ctx: SessionContext): void {
  let m: ReturnType<typeof decode>;
  try {
    m = decode(bytes, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(BgpDecodeError);
    const e = err as BgpDecodeError;
    expect(e.notification.code).toBeGreaterThanOrEqual(1);
    expect(e.notification.code).toBeLessThanOrEqual(7);
    expect(e.notification.data).toBeInstanceOf(Uint8Array);
    return;
  }
  // Whatever decodes must re-encode, or be refused by encode with its own typed error.
  try {
    encode(m, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(BgpEncodeError);
  }
}

function withHeader(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.fill(0xff, 0, 16);
  out[16] = out.length >> 8;
  out[17] = out.length & 0xff;
  out[18] = type;
  out.set(body, 19);
  return out;
}

describe('fuzzing', () => {
  it('arbitrary bytes', () => {
    fc.assert(
      fc.property(contextArb, fc.uint8Array({ maxLength: 200 }), (ctx, bytes) => check(bytes, ctx)),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bodies behind a valid header, for every message type', () => {
    fc.assert(
      fc.property(contextArb, fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }), (ctx, type, body) =>
        check(withHeader(type, body), ctx),
      ),
      { numRuns: 4000 },
    );
  });

  it('mutated valid messages: flipped, inserted and removed bytes (lengths fixed up or not)', () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), messageArb(ctx))),
        fc.array(
          fc.record({ at: fc.nat(), op: fc.constantFrom('set', 'insert', 'delete'), value: fc.nat({ max: 255 }) }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.boolean(),
        ([ctx, m], edits, fixLength) => {
          const bytes = [...encode(m, ctx)];
          for (const e of edits) {
            const at = 19 + (e.at % Math.max(1, bytes.length - 19));
            if (e.op === 'set') bytes[at] = e.value;
            else if (e.op === 'insert') bytes.splice(at, 0, e.value);
            else bytes.splice(at, 1);
          }
          if (fixLength) {
            bytes[16] = (bytes.length >> 8) & 0xff;
            bytes[17] = bytes.length & 0xff;
          }
          check(Uint8Array.from(bytes), ctx);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a message the framer yields decodes the same with decodeFramed as with decode', () => {
    const outcome = (f: () => unknown) => {
      try {
        return f();
      } catch (err) {
        expect(err).toBeInstanceOf(BgpDecodeError);
        return (err as BgpDecodeError).notification;
      }
    };
    fc.assert(
      fc.property(contextArb, fc.integer({ min: 1, max: 5 }), fc.uint8Array({ maxLength: 300 }), (ctx, type, body) => {
        const framer = new Framer({ extendedMessage: ctx.extendedMessage });
        const framed = outcome(() => [...framer.push(withHeader(type, body))]);
        if (!Array.isArray(framed)) return; // the framer refused the header: nothing to decode
        for (const msg of framed as Uint8Array[]) {
          expect(outcome(() => decodeFramed(msg, ctx))).toEqual(outcome(() => decode(msg, ctx)));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('the framer holds at most one message worth of bytes and fails cleanly on garbage', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 10 }), (chunks) => {
        const f = new Framer({ extendedMessage: true });
        try {
          for (const c of chunks) {
            for (const msg of f.push(c)) expect(msg.length).toBeGreaterThanOrEqual(19);
            expect(f.buffered).toBeLessThan(65536);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(BgpDecodeError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a worst-case UPDATE of 65534 octets (21,837 tiny attributes, mostly duplicates) decodes without a hang', () => {
    // A worst case for the attribute loop: 3-octet unknown optional transitive attributes of 8 types.
    const n = 21837;
    const attrs = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) {
      attrs[3 * i] = 0xc0;
      attrs[3 * i + 1] = 0x70 + (i % 8);
    }
    const body = new Uint8Array(4 + attrs.length);
    body[2] = attrs.length >> 8;
    body[3] = attrs.length & 0xff;
    body.set(attrs, 4);
    const ctx = sessionContext({ fourOctetAs: true, extendedMessage: true });
    const started = Date.now();
    const m = decode(withHeader(2, body), ctx);
    // Generous bound: it only catches a hang or quadratic behaviour (the decode takes milliseconds).
    expect(Date.now() - started).toBeLessThan(5000);
    if (m.type !== 'update') throw new Error('not an UPDATE');
    expect(m.attributes.unknown?.map((u) => u.type)).toEqual([0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77]);
    expect(m.errors?.length).toBe(n - 8);
    expect(m.errors?.every((e) => e.action === 'attribute-discard')).toBe(true);
  });
});
