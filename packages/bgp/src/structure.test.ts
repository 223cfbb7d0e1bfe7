import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The package's shape, checked: one-way imports between its modules, and files a reader can take in.

const SRC = dirname(fileURLToPath(import.meta.url));
/** Source files longer than this are split (tests excepted). */
const MAX_LINES = 500;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** The package-relative modules a file imports or re-exports (type-only ones too). */
export function localImports(file: string, text: string): string[] {
  const out: string[] = [];
  const re =
    /(?:^|[\s;])(?:import|export)\s[^'"]*?\sfrom\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|(?:^|[\s;])import\s*['"](\.[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    out.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** Every import cycle among `graph`'s nodes, each as the path that closes it. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of [...graph.keys()].sort()) if (!state.has(n)) visit(n);
  return found;
}

describe('packages/bgp structure', () => {
  const files = sources(SRC);
  const name = (f: string) => relative(SRC, f);

  it('finds the source files and their imports', () => {
    expect(files.map(name)).toContain('speaker.ts');
    const speaker = files.find((f) => name(f) === 'speaker.ts')!;
    expect(localImports(speaker, readFileSync(speaker, 'utf8')).map(name)).toContain('import.ts');
    const text = "import type { A } from './b.js';\nexport * from '../c.js';\nimport './d.js';\nimport { x } from 'y';";
    expect(localImports('/x/a.ts', text)).toEqual(['/x/b.ts', '/c.ts', '/x/d.ts']);
  });

  it('has no import cycles (type-only imports included)', () => {
    const graph = new Map(files.map((f) => [f, localImports(f, readFileSync(f, 'utf8'))]));
    expect(
      cycles(
        new Map([
          ['a', ['b']],
          ['b', ['c']],
          ['c', ['a']],
        ]),
      ),
    ).toEqual([['a', 'b', 'c', 'a']]);
    expect(cycles(graph).map((c) => c.map(name).join(' -> '))).toEqual([]);
  });

  it(`has no source file over ${MAX_LINES} lines (tests excepted)`, () => {
    const long = files
      .map((f) => [name(f), readFileSync(f, 'utf8').split('\n').length - 1] as const)
      .filter(([, n]) => n > MAX_LINES);
    expect(long).toEqual([]);
  });
});
