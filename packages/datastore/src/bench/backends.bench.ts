// Datastore backends side by side: watch latency, `tabby apply` of many resources, and IPAM
// assignments per second with 10 concurrent allocators. Servers are real, on loopback.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, startRedis } from '@tabby/test-helpers';
import { MemoryDatastore } from '../backends/memory.js';
import { runApply } from '../cli/apply.js';
import type { Datastore } from '../datastore.js';
import { Ipam } from '../ipam/ipam.js';
import { openDatastore } from '../open.js';
import { ResourceStore } from '../resources/store.js';

interface Ctx {
  log(msg: string): void;
  quick: boolean;
}

interface BackendResult {
  backend: string;
  watchP50Ms: number;
  watchP99Ms: number;
  watchSamples: number;
  applyResources: number;
  applySeconds: number;
  applyPerSecond: number;
  ipamAssignments: number;
  ipamPerSecond: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};

async function watchLatency(ds: Datastore, n: number): Promise<number[]> {
  const prefix = '/bench/watch/';
  const w = ds.watch(prefix);
  const it = w[Symbol.asyncIterator]();
  for (;;) {
    const r = await it.next();
    if (r.done || r.value.type === 'in-sync') break;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = `${prefix}${i}`;
    const t0 = process.hrtime.bigint();
    await ds.create(key, 'x');
    for (;;) {
      const r = await it.next();
      if (r.done) throw new Error('watch ended');
      if ('key' in r.value && r.value.key === key) break;
    }
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  w.close();
  return out;
}

async function applyMany(ds: Datastore, n: number, dir: string): Promise<number> {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) {
    docs.push(
      `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: node-${i}\n  labels:\n    rack: r${i % 40}\nspec:\n  bgp:\n    ipv4Address: 198.18.${Math.floor(i / 250)}.${(i % 250) + 1}/16\n`,
    );
  }
  const file = join(dir, `nodes-${n}.yaml`);
  writeFileSync(file, docs.join('---\n'));
  let err = '';
  const t0 = performance.now();
  const io = {
    stdout: () => {},
    stderr: (s: string) => {
      err += s;
    },
  };
  const code = await runApply({ file }, io, ds);
  const secs = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`apply failed: ${err}`);
  return secs;
}

async function ipamRate(ds: Datastore, allocators: number, each: number): Promise<number> {
  await new ResourceStore(ds).apply({
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'bench' },
    spec: { cidr: '198.19.0.0/16', blockSize: 26 },
  });
  const ipam = new Ipam(ds);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: allocators }, async (_, a) => {
      for (let i = 0; i < each; i++) await ipam.assign({ node: `bench-${a}`, handle: `bench-${a}-${i}` });
    }),
  );
  return (allocators * each) / ((performance.now() - t0) / 1000);
}

export default async function bench(ctx: Ctx) {
  const watchN = ctx.quick ? 200 : 1000;
  const applyN = ctx.quick ? 1000 : 10_000;
  const ipamEach = ctx.quick ? 20 : 100;
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bench-'));
  const loadBefore = loadavg()[0] ?? 0;
  const results: BackendResult[] = [];
  const backends: [string, () => Promise<{ ds: Datastore; stop: () => Promise<void> }>][] = [
    ['memory', async () => ({ ds: new MemoryDatastore(), stop: async () => {} })],
    [
      'redis',
      async () => {
        const s = await startRedis();
        const ds = openDatastore(s.url);
        return { ds, stop: () => ds.close().then(() => s.destroy()) };
      },
    ],
    [
      'etcd',
      async () => {
        const s = await startEtcd();
        const ds = openDatastore(s.url);
        return { ds, stop: () => ds.close().then(() => s.destroy()) };
      },
    ],
  ];
  try {
    for (const [name, start] of backends) {
      ctx.log(`${name}: starting`);
      const { ds, stop } = await start();
      try {
        const lat = await watchLatency(ds, watchN);
        ctx.log(`${name}: watch p50 ${pct(lat, 50).toFixed(3)} ms, p99 ${pct(lat, 99).toFixed(3)} ms`);
        const secs = await applyMany(ds, applyN, dir);
        ctx.log(`${name}: apply ${applyN} in ${secs.toFixed(2)} s`);
        const rate = await ipamRate(ds, 10, ipamEach);
        ctx.log(`${name}: IPAM ${rate.toFixed(0)} assignments/s`);
        results.push({
          backend: name,
          watchP50Ms: pct(lat, 50),
          watchP99Ms: pct(lat, 99),
          watchSamples: lat.length,
          applyResources: applyN,
          applySeconds: secs,
          applyPerSecond: applyN / secs,
          ipamAssignments: 10 * ipamEach,
          ipamPerSecond: rate,
        });
      } finally {
        await stop();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const loadAfter = loadavg()[0] ?? 0;
  const row = (label: string, f: (r: BackendResult) => string) => `| ${label} | ${results.map(f).join(' | ')} |`;
  const markdown = [
    `Each backend in the same run; Redis and etcd are real servers on 127.0.0.1 started by the benchmark (Redis with appendfsync always, etcd single member). One client process.`,
    '',
    `| | ${results.map((r) => r.backend).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
    row(`watch latency p50 (write → event, ${watchN} sequential writes)`, (r) => `${r.watchP50Ms.toFixed(3)} ms`),
    row('watch latency p99', (r) => `${r.watchP99Ms.toFixed(3)} ms`),
    row(
      `\`tabby apply\` of ${applyN} Node resources (one file, as the CLI does: 64 writes in flight)`,
      (r) => `${r.applySeconds.toFixed(2)} s`,
    ),
    row('apply rate', (r) => `${r.applyPerSecond.toFixed(0)} /s`),
    row(
      `IPAM assignments/s, 10 concurrent allocators (${10 * ipamEach} in total, one process)`,
      (r) => `${r.ipamPerSecond.toFixed(0)} /s`,
    ),
    '',
    `1-minute load average ${loadBefore.toFixed(1)} before and ${loadAfter.toFixed(1)} after the run: on a shared machine the server figures move a lot between runs; compare backends within one run.`,
    '',
    'Notes: apply validates the file, reads the store with one list per kind, then creates each resource (one round trip per resource on a server backend, 64 at a time; see the apply benchmark for 75,000). IPAM allocators are 10 async tasks in one process, each a different node; every assignment is a compare-and-swap on its block plus a handle write.',
  ].join('\n');
  return { title: 'Datastore backends: memory vs Redis vs etcd', markdown, results };
}
