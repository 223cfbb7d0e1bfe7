import { decode, Framer, sessionContext } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import { encodeFeed, encodeOpen, endOfRib } from './fast-feeder.js';

const ctx = sessionContext({ fourOctetAs: true });

/** Every message of `bytes`, decoded as a receiver would. */
function messages(bytes: Uint8Array) {
  return [...new Framer().push(bytes)].map((m) => decode(m, ctx));
}

describe('the receiver-bound feeder encodes what the BIRD feeder announces', () => {
  it('packed: full 4,096-byte UPDATEs of consecutive /24s under one attribute set', () => {
    const { bytes, updates } = encodeFeed(2500, 'packed', '198.18.0.2');
    const ms = messages(bytes);
    expect(ms).toHaveLength(updates);
    expect(updates).toBe(3);
    const prefixes = ms.flatMap((m) => (m.type === 'update' ? [...m.nlri].map((p) => `${p.address}/${p.length}`) : []));
    expect(prefixes).toHaveLength(2500);
    expect(prefixes.slice(0, 2)).toEqual(['11.0.0.0/24', '11.0.1.0/24']);
    expect(prefixes.at(-1)).toBe('11.9.195.0/24');
    const first = ms[0]!;
    expect(first.type === 'update' && first.attributes).toMatchObject({
      origin: 'igp',
      asPath: [{ kind: 'sequence', asns: [65000] }],
      nextHop: '198.18.0.2',
    });
    expect(bytes.subarray(0, 19).readUInt16BE(16)).toBeLessThanOrEqual(4096);
  });

  it('diverse: one UPDATE per pair of prefixes, AS path 65000 100000+k', () => {
    const ms = messages(encodeFeed(6, 'diverse', '198.18.0.2').bytes);
    expect(ms).toHaveLength(3);
    expect(ms.map((m) => (m.type === 'update' ? m.attributes.asPath?.[0]?.asns : []))).toEqual([
      [65000, 100000],
      [65000, 100001],
      [65000, 100002],
    ]);
  });

  it('opens with 4-octet AS, IPv4 unicast and graceful restart, and ends with End-of-RIB', () => {
    const [open] = messages(encodeOpen('198.18.0.2', 65000));
    expect(open).toMatchObject({ type: 'open', myAs: 65000, holdTime: 180, bgpId: '198.18.0.2' });
    const kinds = open?.type === 'open' ? open.capabilities.map((c) => c.kind) : [];
    expect(kinds).toEqual(expect.arrayContaining(['multiprotocol', 'four-octet-as', 'graceful-restart']));
    const [eor] = messages(endOfRib());
    expect(eor).toMatchObject({ type: 'update' });
    expect(eor?.type === 'update' && eor.nlri.count + eor.withdrawn.count).toBe(0);
  });
});
