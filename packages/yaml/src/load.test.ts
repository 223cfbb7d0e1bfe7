import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isCollection, isPair, parseDocument, stringify } from 'yaml';
import { parseYamlFile, parseYamlStream } from './load.js';
import { findExcessiveNesting } from './nesting.js';
import { preview } from './preview.js';

const BOMB = [
  'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
  'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
  'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
  'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
  'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
  'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
  'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
  'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
  'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
  '',
].join('\n');

const astDepth = (n: unknown): number => {
  if (isPair(n)) return Math.max(astDepth(n.key), astDepth(n.value));
  return isCollection(n) ? 1 + Math.max(0, ...n.items.map(astDepth)) : 0;
};

const errorsOf = (text: string) =>
  parseYamlStream(text).errors.map((e) => `${e.document}:${e.line}:${e.column}: ${e.message}`);

describe('parseYamlStream', () => {
  it('skips empty documents: a trailing ---, comments only, a leading ---', () => {
    const s = parseYamlStream('---\na: 1\n---\n# only a comment\n---\nb: 2\n---\n');
    expect(s.errors).toEqual([]);
    expect(s.documents.map((d) => [d.index, d.line, d.value])).toEqual([
      [1, 2, { a: 1 }],
      [3, 6, { b: 2 }],
    ]);
    expect(parseYamlStream('').documents).toEqual([]);
  });

  it('an undefined alias is an error at its line and column', () => {
    expect(errorsOf('a: 1\nasn: *nope\n')).toEqual([
      '1:2:6: undefined alias *nope: an anchor &nope must come before it',
    ]);
    // An anchor defined after its alias does not count.
    expect(errorsOf('a: *x\nb: &x 1\n')).toEqual(['1:1:4: undefined alias *x: an anchor &x must come before it']);
  });

  it('a billion laughs is one error, fast, at the alias that crosses the bound', () => {
    const t0 = performance.now();
    expect(errorsOf(BOMB)).toEqual([
      '1:5:8: alias *d expands the document beyond 10000 nodes from aliases (a possible alias bomb); expand fewer aliases',
    ]);
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('an alias inside the node it names is a cycle', () => {
    expect(errorsOf('a: &x [1, *x]\n')).toEqual(['1:1:11: alias *x is inside the node it names (a cycle)']);
  });

  it('ordinary aliases still work, many times over in a large document', () => {
    const items = Array.from({ length: 2000 }, (_, i) => `  - {name: n${i}, labels: *l}`).join('\n');
    const s = parseYamlStream(`defaults: &l {rack: r1, zone: z}\nitems:\n${items}\n`);
    expect(s.errors).toEqual([]);
    const v = s.documents[0]?.value as { items: { labels: unknown }[] };
    expect(v.items[1999]?.labels).toEqual({ rack: 'r1', zone: 'z' });
  });

  it('reports syntax errors with their document, line and column, and keeps the other documents', () => {
    const s = parseYamlStream('a: 1\n---\nb: [\n---\nc: 3\n');
    expect(s.errors.map((e) => [e.document, e.line])).toEqual([[2, 4]]);
    expect(s.documents.map((d) => d.value)).toEqual([{ a: 1 }, { c: 3 }]);
  });

  it('a collection as a mapping key is an error; YAML 1.1 types are left unresolved, with a warning', () => {
    expect(parseYamlStream('? [a]\n: 1\n').errors).toHaveLength(1);
    const s = parseYamlStream('d: !!timestamp 2001-12-14\ne: !!set {a}\n');
    expect(s.documents[0]?.value).toEqual({ d: '2001-12-14', e: { a: null } });
    expect(s.warnings.map((w) => w.line)).toEqual([1, 2]);
  });

  it('refuses deep nesting before composing it (the yaml library would overflow the stack)', () => {
    for (const text of [
      '['.repeat(5000) + ']'.repeat(5000),
      `${'- '.repeat(5000)}x\n`,
      Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n'),
      `${'{a: '.repeat(3000)}1${'}'.repeat(3000)}`,
      Array.from({ length: 500 }, (_, i) => `${'  '.repeat(i)}k:\n${'  '.repeat(i)}- x`).join('\n'),
    ]) {
      const e = parseYamlStream(text).errors;
      expect(e).toHaveLength(1);
      expect(e[0]?.message).toBe('nested more than 100 levels deep');
    }
    // Brackets inside quoted and block scalars are not nesting.
    const fine = `a: "${'['.repeat(500)}"\nb: '${'{'.repeat(500)}'\nc: |\n  ${'['.repeat(500)}\n  ${'- '.repeat(500)}\n`;
    expect(parseYamlStream(fine).errors).toEqual([]);
  });

  it('locates a field, or its nearest enclosing node', () => {
    const d = parseYamlStream('x: 1\n---\nspec:\n  cidr: 10.0.0.0/8\n').documents[1]!;
    expect(d.locate(['spec', 'cidr'])).toEqual({ line: 4, column: 9 });
    expect(d.locate(['spec', 'nope'])).toEqual({ line: 4, column: 3 });
    expect(d.locate([])).toEqual({ line: 3, column: 1 });
  });

  it('never throws, whatever the text (property)', () => {
    const piece = fc.constantFrom(
      '- ',
      ': ',
      '? ',
      '[',
      ']',
      '{',
      '}',
      ',',
      '&a ',
      '*a',
      '!t ',
      '|',
      '>',
      '"',
      "'",
      '#',
      '\n',
      '  ',
      '---\n',
      '...\n',
      '%YAML 1.1\n',
      'key',
      '\t',
      '\\',
      '<<: ',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.array(piece, { maxLength: 80 }).map((a) => a.join('')),
        ),
        (t) => {
          const s = parseYamlStream(t, { maxDepth: 20 });
          for (const e of [...s.errors, ...s.warnings]) {
            expect(e.line).toBeGreaterThanOrEqual(1);
            expect(e.column).toBeGreaterThanOrEqual(1);
            expect(e.message).not.toMatch(/\n/);
          }
          for (const d of s.documents) {
            JSON.stringify(d.value);
            // Whatever was accepted nests no deeper than the limit.
            expect(astDepth(d.doc.contents)).toBeLessThanOrEqual(20);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe('nesting bound', () => {
  // The true depth of a value: how many collections enclose its deepest leaf.
  const depth = (v: unknown): number =>
    v !== null && typeof v === 'object' ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0;
  const valueArb = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', maxDepth: 12 },
      fc.constantFrom('x', 1, '- a', '[b]', 'c: d', null),
      fc.array(tie('v'), { minLength: 1, maxLength: 3 }),
      fc.dictionary(fc.constantFrom('a', 'b', 'k-1'), tie('v'), { minKeys: 1, maxKeys: 3 }),
    ),
  })).v;

  it('never counts less than the real depth, however the YAML is laid out (property)', () => {
    fc.assert(
      fc.property(
        valueArb,
        fc.record({
          indentSeq: fc.boolean(),
          flowLevel: fc.integer({ min: 0, max: 8 }),
          indent: fc.constantFrom(1, 2, 4),
        }),
        (v, o) => {
          const text = stringify(v, { indentSeq: o.indentSeq, indent: o.indent, flowCollectionPadding: false });
          const flowText = stringify(v, { collectionStyle: 'flow' });
          for (const t of [text, flowText]) {
            expect(parseDocument(t).toJS()).toEqual(v);
            const real = depth(v);
            // The bound with limit d-1 must trip for a value d deep.
            if (real > 0) expect(findExcessiveNesting(t, real - 1), t).toBeDefined();
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('preview', () => {
  it('quotes short values whole and cuts long ones to a prefix', () => {
    expect(preview('abc')).toBe('"abc"');
    expect(preview('x'.repeat(10_000_000))).toBe(`"${'x'.repeat(40)}…" (10000000 characters)`);
    expect(preview({ a: [1, 'b'] })).toBe('{"a":[1,"b"]}');
    expect(preview(Array.from({ length: 100_000 }, (_, i) => i)).length).toBeLessThanOrEqual(41);
    expect(preview(undefined)).toBe('undefined');
  });
});

describe('parseYamlFile', () => {
  it('takes the one document of a config file, with a trailing --- allowed', () => {
    expect(parseYamlFile('a: 1\n---\n').document?.value).toEqual({ a: 1 });
    expect(parseYamlFile('a: 1\n---\nb: 2\n').errors.map((e) => `${e.line}:${e.column}: ${e.message}`)).toEqual([
      '3:1: a second document (after "---"): this file holds one',
    ]);
    expect(parseYamlFile('').document).toBeUndefined();
  });
});
