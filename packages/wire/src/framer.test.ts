import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contextArb, messageArb } from './arbitraries.test-support.js';
import { ErrorCode, HeaderSubcode } from './constants.js';
import { BgpDecodeError } from './errors.js';
import { Framer } from './framer.js';
import { decode, encode, KEEPALIVE } from './message.js';
import { sessionContext } from './session-context.js';

const ctx = sessionContext();
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function feed(framer: Framer, chunks: Uint8Array[]): string[] {
  const out: string[] = [];
  for (const c of chunks) for (const m of framer.push(c)) out.push(hex(m));
  return out;
}

function header(len: number, type: number): Uint8Array {
  const b = new Uint8Array(Math.max(len, 19));
  b.fill(0xff, 0, 16);
  b[16] = len >> 8;
  b[17] = len & 0xff;
  b[18] = type;
  return b;
}

function framingError(bytes: Uint8Array, extendedMessage = false): BgpDecodeError {
  const f = new Framer({ extendedMessage });
  try {
    feed(f, [bytes]);
  } catch (err) {
    expect(err).toBeInstanceOf(BgpDecodeError);
    return err as BgpDecodeError;
  }
  throw new Error('expected a framing error');
}

describe('Framer', () => {
  it('yields every message whole when it is split at every byte offset', () => {
    fc.assert(
      fc.property(
        contextArb.chain((c) => fc.tuple(fc.constant(c), messageArb(c))),
        ([c, m]) => {
          const bytes = encode(m, c);
          for (let cut = 0; cut <= bytes.length; cut++) {
            const f = new Framer({ extendedMessage: c.extendedMessage });
            const out = feed(f, [bytes.subarray(0, cut), bytes.subarray(cut)]);
            expect(out).toEqual([hex(bytes)]);
            expect(f.buffered).toBe(0);
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it('yields many messages concatenated in one chunk, and under any chunking', () => {
    fc.assert(
      fc.property(
        contextArb.chain((c) => fc.tuple(fc.constant(c), fc.array(messageArb(c), { minLength: 1, maxLength: 12 }))),
        fc.array(fc.nat(), { maxLength: 20 }),
        ([c, msgs], cuts) => {
          const encoded = msgs.map((m) => encode(m, c));
          const all = Buffer.concat(encoded);
          expect(feed(new Framer({ extendedMessage: c.extendedMessage }), [all])).toEqual(encoded.map(hex));
          const points = [...new Set(cuts.map((x) => x % (all.length + 1)))].sort((a, b) => a - b);
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of points) {
            chunks.push(all.subarray(prev, p));
            prev = p;
          }
          chunks.push(all.subarray(prev));
          expect(feed(new Framer({ extendedMessage: c.extendedMessage }), chunks)).toEqual(encoded.map(hex));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('feeds one byte at a time', () => {
    const msgs = [encode(KEEPALIVE, ctx), header(23, 2), encode(KEEPALIVE, ctx)];
    msgs[1]!.fill(0, 19);
    const all = Buffer.concat(msgs);
    const f = new Framer();
    const out = feed(
      f,
      [...all].map((x) => Uint8Array.of(x)),
    );
    expect(out).toEqual(msgs.map(hex));
  });

  it('copies messages that span chunks, so later chunks cannot change them', () => {
    const ka = encode(KEEPALIVE, ctx);
    const chunk1 = ka.slice(0, 10);
    const chunk2 = ka.slice(10);
    const f = new Framer();
    expect([...f.push(chunk1)]).toEqual([]);
    const [m] = [...f.push(chunk2)];
    chunk1.fill(0);
    chunk2.fill(0);
    expect(hex(m!)).toBe(hex(ka));
  });

  it('consumes each chunk whole, however far the caller iterates', () => {
    const ka = encode(KEEPALIVE, ctx);
    const all = Buffer.concat([ka, ka, ka]);
    const f = new Framer();
    const it = f.push(all.subarray(0, 30)); // one whole message and 11 octets of the next
    expect(f.buffered).toBe(11);
    void it; // never iterated
    expect([...f.push(all.subarray(30))].map(hex)).toEqual([hex(ka), hex(ka)]);
    expect(f.buffered).toBe(0);
  });

  it('takes Node.js Buffers, and what it keeps never aliases them (Buffer#slice would)', () => {
    const ka = encode(KEEPALIVE, ctx);
    const chunk = Buffer.from(Buffer.concat([ka, ka.subarray(0, 10)]));
    const f = new Framer();
    expect([...f.push(chunk)].length).toBe(1);
    chunk.fill(0); // a reused socket buffer
    expect([...f.push(Buffer.from(ka.subarray(10)))].map(hex)).toEqual([hex(ka)]);
    // decode copies what it returns, even from a Buffer.
    const note = Buffer.from(encode({ type: 'notification', code: 6, subcode: 3, data: Uint8Array.of(1, 2) }, ctx));
    const m = decode(note, ctx);
    note.fill(0);
    expect(m).toMatchObject({ code: 6, subcode: 3, data: Uint8Array.of(1, 2) });
  });

  it('reports a bad marker as Connection Not Synchronized', () => {
    const b = header(19, 4);
    b[5] = 0xfe;
    const e = framingError(b);
    expect(e.notification).toEqual({
      code: ErrorCode.MessageHeader,
      subcode: HeaderSubcode.ConnectionNotSynchronized,
      data: new Uint8Array(0),
    });
    expect(e.code).toBe('WIRE_MESSAGE_HEADER_ERROR');
  });

  it('reports lengths outside 19..4096 as Bad Message Length with the length field as data', () => {
    for (const len of [0, 18, 4097, 65535]) {
      const e = framingError(header(len, 2));
      expect(e.notification.subcode).toBe(HeaderSubcode.BadMessageLength);
      expect([...e.notification.data]).toEqual([len >> 8, len & 0xff]);
    }
  });

  it('accepts UPDATEs up to 65535 octets once extended messages are negotiated (RFC 8654), but not OPENs', () => {
    const big = header(5000, 2);
    expect(framingError(big).notification.subcode).toBe(HeaderSubcode.BadMessageLength);
    const f = new Framer({ extendedMessage: true });
    expect(feed(f, [big]).length).toBe(1);
    const open = header(5000, 1);
    expect(framingError(open, true).notification.subcode).toBe(HeaderSubcode.BadMessageLength);
    const g = new Framer();
    g.setExtendedMessage(true);
    expect(feed(g, [big.subarray(0, 100), big.subarray(100)]).length).toBe(1);
  });

  it('reports per-type minimum lengths (RFC 4271 §6.1) as Bad Message Length', () => {
    for (const [type, len] of [
      [1, 28],
      [2, 22],
      [3, 20],
      [4, 20],
      [5, 22],
    ] as const) {
      const e = framingError(header(len, type));
      expect(e.notification.subcode).toBe(HeaderSubcode.BadMessageLength);
      expect([...e.notification.data]).toEqual([0, len]);
    }
  });

  it('reports an unknown type as Bad Message Type with the type as data', () => {
    for (const type of [0, 6, 255]) {
      const e = framingError(header(19, type));
      expect(e.notification).toEqual({ code: 1, subcode: HeaderSubcode.BadMessageType, data: Uint8Array.of(type) });
    }
  });

  it('yields the messages before a bad header, then fails and stays failed', () => {
    const ka = encode(KEEPALIVE, ctx);
    const bad = header(19, 9);
    const f = new Framer();
    const got: string[] = [];
    expect(() => {
      for (const m of f.push(Buffer.concat([ka, ka, bad]))) got.push(hex(m));
    }).toThrow(BgpDecodeError);
    expect(got).toEqual([hex(ka), hex(ka)]);
    expect(f.error?.notification.subcode).toBe(HeaderSubcode.BadMessageType);
    expect(() => [...f.push(ka)]).toThrow(BgpDecodeError);
  });

  it('detects a bad header that arrives split across chunks', () => {
    const bad = header(19, 9);
    const f = new Framer();
    expect(feed(f, [bad.subarray(0, 7)])).toEqual([]);
    expect(() => feed(f, [bad.subarray(7)])).toThrow(BgpDecodeError);
  });
});
