import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { comparable, contextArb, messageArb, openArb, updateArb } from './arbitraries.test-support.js';
import { decode, encode } from './message.js';
import { sessionContext } from './session-context.js';

describe('round trip', () => {
  it('decode(encode(m)) equals m for every message type and session context', () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), messageArb(ctx))),
        ([ctx, m]) => {
          const bytes = encode(m, ctx);
          const back = decode(bytes, ctx);
          expect(comparable(back)).toEqual(comparable(m));
          if (back.type === 'update') expect(back.errors).toBeUndefined();
        },
      ),
      { numRuns: 600 },
    );
  });

  it('encode(decode(b)) reproduces canonical bytes exactly', () => {
    fc.assert(
      fc.property(
        contextArb.chain((ctx) => fc.tuple(fc.constant(ctx), messageArb(ctx))),
        ([ctx, m]) => {
          const bytes = encode(m, ctx);
          expect(Buffer.from(encode(decode(bytes, ctx), ctx)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
        },
      ),
      { numRuns: 600 },
    );
  });

  it('UPDATEs on a 2-octet session carry AS_TRANS plus AS4_PATH and decode to the 4-octet path', () => {
    const two = sessionContext({ fourOctetAs: false });
    fc.assert(
      fc.property(updateArb(two), (m) => {
        const back = decode(encode(m, two), two);
        expect(comparable(back)).toEqual(comparable(m));
      }),
      { numRuns: 200 },
    );
  });

  it('OPEN messages round trip including RFC 9072 extended optional parameters', () => {
    fc.assert(
      fc.property(openArb, (m) => {
        const ctx = sessionContext();
        expect(decode(encode(m, ctx), ctx)).toEqual(m);
      }),
      { numRuns: 200 },
    );
  });
});
