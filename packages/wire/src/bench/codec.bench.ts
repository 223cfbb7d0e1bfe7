// Codec throughput: decode and encode of UPDATE streams carrying ~1M IPv4 prefixes, packed (one
// attribute set, ~900 prefixes per UPDATE) and diverse (a distinct AS path every 2 prefixes).
import os from 'node:os';
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

interface Timing {
  /** Best wall-clock time of the runs. */
  wallMs: number;
  /** Best process CPU time (user + system) of the runs: what the work cost with the CPUs to itself. */
  cpuMs: number;
}

function best(runs: number, f: () => void): Timing {
  let wallMs = Number.POSITIVE_INFINITY;
  let cpuMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    gc();
    const c = process.cpuUsage();
    const t = performance.now();
    f();
    wallMs = Math.min(wallMs, performance.now() - t);
    const d = process.cpuUsage(c);
    cpuMs = Math.min(cpuMs, (d.user + d.system) / 1000);
  }
  return { wallMs, cpuMs };
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
  const loadBefore = os.loadavg()[0]!;
  const total = c.quick ? 100_000 : 1_000_000;
  const runs = c.quick ? 2 : 5;
  const decodeRuns = c.quick ? 3 : 15;
  const list = prefixes(total);
  c.log(`${total} prefixes, best of ${runs} encode and ${decodeRuns} decode runs`);

  const packedEncode = best(runs, () => encodePacked(list));
  const packed = encodePacked(list);
  const packedStream = concat(packed);
  c.log(
    `packed: ${packed.length} UPDATEs, ${(total / packed.length).toFixed(0)} prefixes each, encode ${packedEncode.wallMs.toFixed(0)} ms`,
  );

  const diverseEncode = best(runs, () => encodeDiverse(total));
  const diverse = encodeDiverse(total);
  const diverseStream = concat(diverse);
  c.log(`diverse: ${diverse.length} UPDATEs, encode ${diverseEncode.wallMs.toFixed(0)} ms`);

  let check = decodeStream(packedStream);
  if (check.prefixes !== total || check.keys !== 1)
    throw new Error(`packed decode miscounted: ${JSON.stringify(check)}`);
  const packedDecode = best(decodeRuns, () => decodeStream(packedStream));
  c.log(`packed decode ${packedDecode.wallMs.toFixed(0)} ms`);
  check = decodeStream(diverseStream);
  if (check.prefixes !== total || check.keys < total / 2 - 100)
    throw new Error(`diverse decode miscounted: ${JSON.stringify(check)}`);
  const diverseDecode = best(decodeRuns, () => decodeStream(diverseStream));
  c.log(`diverse decode ${diverseDecode.wallMs.toFixed(0)} ms`);

  const packedHeap = retained(packedStream);
  const diverseHeap = retained(diverseStream);

  const loadAfter = os.loadavg()[0]!;
  const rate = (ms: number) => total / (ms / 1000);
  const rates = (t: Timing) => ({
    wallMs: t.wallMs,
    cpuMs: t.cpuMs,
    wallPrefixesPerSec: rate(t.wallMs),
    cpuPrefixesPerSec: rate(t.cpuMs),
  });
  const results = {
    prefixes: total,
    packed: {
      updates: packed.length,
      streamBytes: packedStream.length,
      decode: rates(packedDecode),
      encode: rates(packedEncode),
      retainedBytesPerPrefix: packedHeap / total,
    },
    diverse: {
      updates: diverse.length,
      streamBytes: diverseStream.length,
      decode: rates(diverseDecode),
      encode: rates(diverseEncode),
      retainedBytesPerPrefix: diverseHeap / total,
    },
    targets: { packedDecode: 5e6, diverseDecode: 1e6 },
    loadAverage1m: { before: loadBefore, after: loadAfter },
  };
  const fmt = (t: Timing) =>
    `${(rate(t.wallMs) / 1e6).toFixed(2)} M/s (${t.wallMs.toFixed(0)} ms; CPU time ${(rate(t.cpuMs) / 1e6).toFixed(2)} M/s)`;
  const met = (t: Timing, target: number) => {
    const wall = rate(t.wallMs) >= target;
    const cpu = rate(t.cpuMs) >= target;
    if (wall) return 'met';
    return cpu ? '**not met** in wall-clock time (met in CPU time)' : '**not met**';
  };
  const markdown = `
Stream: ${total.toLocaleString('en')} distinct IPv4 prefixes (/24 to /32) in UPDATEs of at most 4096 octets on a
4-octet-AS session without ADD-PATH. **Packed**: one attribute set (ORIGIN, 4-AS AS_PATH, NEXT_HOP, MED, 2 communities),
${packed.length.toLocaleString('en')} UPDATEs of about ${(total / packed.length).toFixed(0)} prefixes. **Diverse**: a distinct AS_PATH every 2 prefixes,
${diverse.length.toLocaleString('en')} UPDATEs. Decode = \`Framer\` over 64 KiB chunks plus \`decode\` of every message (attributes fully
decoded, attribute key hashed). Encode = \`encodeAttributeSet\` once per attribute set plus \`packUpdates\`. Best of ${decodeRuns} decode and ${runs} encode runs,
single thread. Machine load (1-minute load average, ${os.cpus().length} CPUs) was ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the
run: other work on the machine competed for the CPUs, so the wall-clock rates are lower bounds. The CPU-time rate
divides by the process's own CPU time (user + system, GC threads included), which contention does not inflate.

| workload | decode (prefixes/s) | encode (prefixes/s) | decode target | memory retained if every decoded UPDATE is kept |
|---|---|---|---|---|
| packed | ${fmt(packedDecode)} | ${fmt(packedEncode)} | 5 M/s: ${met(packedDecode, 5e6)} | ${(packedHeap / total).toFixed(1)} B/prefix |
| diverse | ${fmt(diverseDecode)} | ${fmt(diverseEncode)} | 1 M/s: ${met(diverseDecode, 1e6)} | ${(diverseHeap / total).toFixed(1)} B/prefix |

Prefixes are stored column-wise (\`PrefixList\`: a Uint8Array of lengths and a Uint32Array of addresses per UPDATE), so
the packed case allocates a handful of objects per 900 prefixes. The retained-memory column (JS heap plus ArrayBuffers) is an upper bound for a
speaker that keeps whole decoded messages; a speaker that interns attribute sets by \`attrKey\` keeps far less.
No peer daemon is measured here: BIRD, FRR and GoBGP do not expose their codecs as a separate, callable unit, so
a side-by-side figure would measure their whole session path instead.
`;
  return { title: 'wire: BGP UPDATE codec throughput', markdown, results };
}
