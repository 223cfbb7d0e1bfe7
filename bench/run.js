#!/usr/bin/env node
// Benchmark runner behind `npm run bench [-- FILTER...]`.
//
// Every package may ship benchmarks as `src/bench/<name>.bench.ts`; the build puts them in
// `dist/bench/`. Each module's default export is `async (ctx) => ({ title, markdown, results })`,
// where ctx = { log(msg), quick }. The runner writes `docs/benchmarks/<package>-<name>.md` (the
// human report, with the machine and date) and `.json` (the raw figures). FILTER words select
// benchmarks whose `<package>-<name>` contains one of them. `--quick` asks for reduced sizes.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const filters = args.filter((a) => !a.startsWith('--'));
const outDir = join(root, 'docs', 'benchmarks');

const found = [];
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', pkg, 'dist', 'bench');
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.bench.js')) continue;
    const id = `${pkg}-${f.replace(/\.bench\.js$/, '')}`;
    if (filters.length && !filters.some((w) => id.includes(w))) continue;
    found.push({ id, file: join(dir, f) });
  }
}
if (!found.length) {
  console.log(filters.length ? `no benchmark matches ${filters.join(' ')}` : 'no benchmarks are built yet');
  process.exit(filters.length ? 1 : 0);
}
mkdirSync(outDir, { recursive: true });
const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
let failed = 0;
for (const { id, file } of found) {
  const started = Date.now();
  console.log(`== ${id}`);
  try {
    const mod = await import(pathToFileURL(file).href);
    const r = await mod.default({ log: (m) => console.log(`   ${m}`), quick });
    const when = new Date().toISOString();
    const header = `# ${r.title}\n\nMeasured ${when} on ${machine}${quick ? ' (quick mode: reduced sizes)' : ''}. Produced by \`npm run bench -- ${id}\`.\n\n`;
    writeFileSync(join(outDir, `${id}.md`), `${header}${r.markdown.trim()}\n`);
    writeFileSync(
      join(outDir, `${id}.json`),
      `${JSON.stringify({ id, when, machine, quick, results: r.results }, null, 2)}\n`,
    );
    console.log(`   done in ${((Date.now() - started) / 1000).toFixed(1)} s -> docs/benchmarks/${id}.md`);
  } catch (err) {
    failed += 1;
    console.error(`   FAILED: ${err?.stack ?? err}`);
  }
}
process.exit(failed ? 1 : 0);
