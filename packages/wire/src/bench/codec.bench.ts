// Codec throughput: decode and encode of UPDATE streams carrying ~1M IPv4 prefixes, packed (one
// attribute set, ~900 prefixes per UPDATE) and diverse (a distinct AS path every 2 prefixes).
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import type { PathAttributes } from '../attributes.js';
import { Afi } from '../constants.js';
import { Framer } from '../framer.js';
import { decode } from '../message.js';
import { PrefixList } from '../prefix-list.js';
import { sessionContext } from '../session-context.js';
import { encodeAttributeSet, packUpdates } from '../update-packer.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

const ctx = sessionContext({ fourOctetAs: true });
const CHUNK = 65536;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function prefixes(n: number, offset = 0): PrefixList {
  // Distinct prefixes: /24 blocks from 1.0.0.0, some as longer prefixes inside their block, so an
  // UPDATE of 4096 octets carries about 900 of them (4.5 octets each on average).
  const lens = [24, 24, 24, 26, 28, 32];
  const lengths = new Uint8Array(n);
  const addrs = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    lengths[i] = lens[(i + offset) % lens.length]!;
    addrs[i] = (0x01000000 + (i + offset) * 256) >>> 0;
  }
  return new PrefixList(Afi.ipv4, lengths, addrs);
}

function baseAttrs(path: number[]): PathAttributes {
  return {
    origin: 'igp',
    asPath: [{ kind: 'sequence', asns: path }],
    nextHop: '198.18.0.1',
    med: 0,
    communities: [65000 * 65536 + 100, 65000 * 65536 + 200],
  };
}

function concat(msgs: Uint8Array[]): Uint8Array {
  const total = msgs.reduce((n, m) => n + m.length, 0);
  const out = new Uint8Array(total);
  let q = 0;
  for (const m of msgs) {
    out.set(m, q);
    q += m.length;
  }
  return out;
}

function encodePacked(list: PrefixList): Uint8Array[] {
  const set = encodeAttributeSet(baseAttrs([65001, 65002, 65003, 4200000000]), ctx);
  return packUpdates({ announce: list, attributes: set }, ctx);
}

function encodeDiverse(total: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i += 2) {
    const k = i >> 1;
    const set = encodeAttributeSet(baseAttrs([65001, 64512 + (k % 1000), 4200000000 + k, 65003]), ctx);
    const list = prefixes(Math.min(2, total - i), i);
    for (const m of packUpdates({ announce: list, attributes: set }, ctx)) out.push(m);
  }
  return out;
}

/** Frames and decodes the stream in 64 KiB chunks; returns the prefix count and distinct attribute key hashes (FNV-1a may collide). */
function decodeStream(stream: Uint8Array): { prefixes: number; updates: number; keys: number } {
  const framer = new Framer();
  let n = 0;
  let updates = 0;
  const keys = new Set<number>();
  for (let off = 0; off < stream.length; off += CHUNK) {
    for (const bytes of framer.push(stream.subarray(off, off + CHUNK))) {
      const m = decode(bytes, ctx);
      if (m.type === 'update') {
        n += m.nlri.count;
        updates++;
        if (m.attrKey) keys.add(m.attrKey.hash);
      }
    }
  }
  return { prefixes: n, updates, keys: keys.size };
}

function best(runs: number, f: () => void): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    gc();
    const t = performance.now();
    f();
    min = Math.min(min, performance.now() - t);
  }
  return min;
}

function retained(stream: Uint8Array): number {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers; // typed arrays above 64 octets live outside the JS heap
  };
  gc();
  const before = used();
  const kept: unknown[] = [];
  const framer = new Framer();
  for (let off = 0; off < stream.length; off += CHUNK) {
    for (const bytes of framer.push(stream.subarray(off, off + CHUNK))) kept.push(decode(bytes, ctx));
  }
  gc();
  const after = used();
  if (kept.length === 0) return 0;
  return after - before;
}

export default async function bench(c: Ctx): Promise<{ title: string; markdown: string; results: unknown }> {
  const total = c.quick ? 100_000 : 1_000_000;
  const runs = c.quick ? 2 : 3;
  const list = prefixes(total);
  c.log(`${total} prefixes, best of ${runs} runs`);

  const packedEncodeMs = best(runs, () => encodePacked(list));
  const packed = encodePacked(list);
  const packedStream = concat(packed);
  c.log(
    `packed: ${packed.length} UPDATEs, ${(total / packed.length).toFixed(0)} prefixes each, encode ${packedEncodeMs.toFixed(0)} ms`,
  );

  const diverseEncodeMs = best(runs, () => encodeDiverse(total));
  const diverse = encodeDiverse(total);
  const diverseStream = concat(diverse);
  c.log(`diverse: ${diverse.length} UPDATEs, encode ${diverseEncodeMs.toFixed(0)} ms`);

  let check = decodeStream(packedStream);
  if (check.prefixes !== total || check.keys !== 1)
    throw new Error(`packed decode miscounted: ${JSON.stringify(check)}`);
  const packedDecodeMs = best(runs, () => decodeStream(packedStream));
  c.log(`packed decode ${packedDecodeMs.toFixed(0)} ms`);
  check = decodeStream(diverseStream);
  if (check.prefixes !== total || check.keys < total / 2 - 100)
    throw new Error(`diverse decode miscounted: ${JSON.stringify(check)}`);
  const diverseDecodeMs = best(runs, () => decodeStream(diverseStream));
  c.log(`diverse decode ${diverseDecodeMs.toFixed(0)} ms`);

  const packedHeap = retained(packedStream);
  const diverseHeap = retained(diverseStream);

  const rate = (ms: number) => total / (ms / 1000);
  const fmt = (r: number) => `${(r / 1e6).toFixed(2)} M/s`;
  const results = {
    prefixes: total,
    packed: {
      updates: packed.length,
      streamBytes: packedStream.length,
      decodeMs: packedDecodeMs,
      encodeMs: packedEncodeMs,
      decodePrefixesPerSec: rate(packedDecodeMs),
      encodePrefixesPerSec: rate(packedEncodeMs),
      retainedHeapBytesPerPrefix: packedHeap / total,
    },
    diverse: {
      updates: diverse.length,
      streamBytes: diverseStream.length,
      decodeMs: diverseDecodeMs,
      encodeMs: diverseEncodeMs,
      decodePrefixesPerSec: rate(diverseDecodeMs),
      encodePrefixesPerSec: rate(diverseEncodeMs),
      retainedHeapBytesPerPrefix: diverseHeap / total,
    },
    targets: { packedDecode: 5e6, diverseDecode: 1e6 },
  };
  const met = (r: number, t: number) => (r >= t ? 'met' : '**not met**');
  const markdown = `
Stream: ${total.toLocaleString('en')} distinct IPv4 prefixes (/24 to /32) in UPDATEs of at most 4096 octets on a
4-octet-AS session without ADD-PATH. **Packed**: one attribute set (ORIGIN, 4-AS AS_PATH, NEXT_HOP, MED, 2 communities),
${packed.length.toLocaleString('en')} UPDATEs of about ${(total / packed.length).toFixed(0)} prefixes. **Diverse**: a distinct AS_PATH every 2 prefixes,
${diverse.length.toLocaleString('en')} UPDATEs. Decode = \`Framer\` over 64 KiB chunks plus \`decode\` of every message (attributes fully
decoded, attribute key hashed). Encode = \`encodeAttributeSet\` once per attribute set plus \`packUpdates\`. Best of ${runs} runs,
single thread.

| workload | decode | encode | decode target | memory retained if every decoded UPDATE is kept |
|---|---|---|---|---|
| packed | ${fmt(rate(packedDecodeMs))} (${packedDecodeMs.toFixed(0)} ms) | ${fmt(rate(packedEncodeMs))} (${packedEncodeMs.toFixed(0)} ms) | 5 M/s: ${met(rate(packedDecodeMs), 5e6)} | ${(packedHeap / total).toFixed(1)} B/prefix |
| diverse | ${fmt(rate(diverseDecodeMs))} (${diverseDecodeMs.toFixed(0)} ms) | ${fmt(rate(diverseEncodeMs))} (${diverseEncodeMs.toFixed(0)} ms) | 1 M/s: ${met(rate(diverseDecodeMs), 1e6)} | ${(diverseHeap / total).toFixed(1)} B/prefix |

Prefixes are stored column-wise (\`PrefixList\`: a Uint8Array of lengths and a Uint32Array of addresses per UPDATE), so
the packed case allocates a handful of objects per 900 prefixes. The retained-memory column (JS heap plus ArrayBuffers) is an upper bound for a
speaker that keeps whole decoded messages; a speaker that interns attribute sets by \`attrKey\` keeps far less.
No peer daemon is measured here: BIRD, FRR and GoBGP do not expose their codecs as a separate, callable unit, so
a side-by-side figure would measure their whole session path instead.
`;
  return { title: 'wire: BGP UPDATE codec throughput', markdown, results };
}
