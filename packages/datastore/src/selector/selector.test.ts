import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { printSelector, type SelectorAst } from './ast.js';
import { evaluateSelector, matchesSelector } from './evaluate.js';
import { MAX_SELECTOR_DEPTH, parseSelector, SelectorParseError } from './parse.js';

const labels = { app: 'web', tier: 'frontend', 'kubernetes.io/os': 'linux', rack: 'r-12', empty: '' };

describe('selector evaluation, one case per operator', () => {
  const cases: [string, boolean][] = [
    ['all()', true],
    ['', true],
    ['global()', true],
    ['has(app)', true],
    ['has(nope)', false],
    ["app == 'web'", true],
    ['app == "db"', false],
    ["nope == ''", false],
    ["empty == ''", true],
    ["app != 'db'", true],
    ["app != 'web'", false],
    ["nope != 'x'", true],
    ["app in {'web', 'db'}", true],
    ["app in {'db'}", false],
    ["nope in {'db'}", false],
    ['app in {}', false],
    ["app not in {'db'}", true],
    ["app not in {'web'}", false],
    ["nope not in {'web'}", true],
    ["rack contains '-1'", true],
    ["rack contains 'x'", false],
    ["nope contains ''", false],
    ["rack starts with 'r-'", true],
    ["rack starts with '12'", false],
    ["rack ends with '12'", true],
    ["rack ends with 'r'", false],
    ['!has(app)', false],
    ['!has(nope)', true],
    ['!!has(app)', true],
    ["app == 'web' && tier == 'frontend'", true],
    ["app == 'web' && tier == 'backend'", false],
    ["app == 'db' || tier == 'frontend'", true],
    ["app == 'db' || tier == 'backend'", false],
    // && binds tighter than ||
    ["app == 'db' && has(x) || has(tier)", true],
    ["app == 'db' && (has(x) || has(tier))", false],
    ["kubernetes.io/os == 'linux'", true],
    ["!(app == 'web')", false],
    ["  has( app )&&app=='web'  ", true],
  ];
  it.each(cases)('%s -> %s', (sel, want) => {
    expect(matchesSelector(sel, labels)).toBe(want);
  });

  it('global() is false for namespaced resources', () => {
    expect(matchesSelector('global()', { 'projectcalico.org/namespace': 'default' })).toBe(false);
  });

  it('parses && as tighter than ||', () => {
    expect(parseSelector('has(a) || has(b) && has(c)')).toEqual({
      op: '||',
      left: { op: 'has', label: 'a' },
      right: { op: '&&', left: { op: 'has', label: 'b' }, right: { op: 'has', label: 'c' } },
    });
  });
});

describe('selector parse errors point at the column', () => {
  const cases: [string, number, RegExp][] = [
    ["app == web'", 8, /quoted string/],
    ['app', 4, /expected an operator/],
    ["app == 'web", 8, /unterminated/],
    ["(app == 'a'", 12, /expected "\)"/],
    ['has(app', 8, /expected "\)"/],
    ["app == 'a' &&", 14, /expected a label/],
    ["app in {'a' 'b'}", 13, /expected "}"/],
    ["app == 'a' )", 12, /unexpected "\)"/],
    ['== x', 1, /expected a label/],
    ["app ~= 'x'", 5, /operator/],
  ];
  it.each(cases)('%s fails at column %d', (sel, col, re) => {
    let err: unknown;
    try {
      parseSelector(sel);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SelectorParseError);
    const e = err as SelectorParseError;
    expect(e.code).toBe('SELECTOR_PARSE');
    expect(e.column).toBe(col);
    expect(e.message).toMatch(re);
  });
});

// Property tests: an arbitrary AST, printed and parsed again, is the same AST; and the evaluator
// agrees with a reference evaluator written differently (predicates over a Map, no shared code).
const labelArb = fc.constantFrom('a', 'b', 'app', 'k8s.io/role', 'x_y-z');
const valueArb = fc.oneof(
  fc.constantFrom('', 'v', 'web', 'a b', "it's", 'say "hi"'),
  fc.string({ maxLength: 4 }).filter((s) => !(s.includes("'") && s.includes('"'))),
);
const astArb: fc.Arbitrary<SelectorAst> = fc.letrec<{ e: SelectorAst }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant({ op: 'all' } as SelectorAst),
    fc.constant({ op: 'global' } as SelectorAst),
    labelArb.map((label) => ({ op: 'has', label }) as SelectorAst),
    fc
      .tuple(fc.constantFrom('==', '!=', 'contains', 'starts with', 'ends with'), labelArb, valueArb)
      .map(([op, label, value]) => ({ op, label, value }) as SelectorAst),
    fc
      .tuple(fc.constantFrom('in', 'not in'), labelArb, fc.array(valueArb, { maxLength: 3 }))
      .map(([op, label, values]) => ({ op, label, values }) as SelectorAst),
    tie('e').map((expr) => ({ op: '!', expr }) as SelectorAst),
    fc
      .tuple(fc.constantFrom('&&', '||'), tie('e'), tie('e'))
      .map(([op, left, right]) => ({ op, left, right }) as SelectorAst),
  ),
})).e;
const labelsArb = fc.dictionary(labelArb, valueArb, { maxKeys: 4 });

function reference(ast: SelectorAst, labels: Map<string, string>): boolean {
  const get = (k: string) => labels.get(k);
  const r = (e: SelectorAst) => reference(e, labels);
  switch (ast.op) {
    case 'all':
      return true;
    case 'global':
      return !labels.has('projectcalico.org/namespace');
    case 'has':
      return labels.has(ast.label);
    case '!':
      return !r(ast.expr);
    case '&&':
      return [ast.left, ast.right].every(r);
    case '||':
      return [ast.left, ast.right].some(r);
  }
  if ('values' in ast) {
    const found = ast.values.some((x) => x === get(ast.label));
    return ast.op === 'in' ? found : !found;
  }
  const v = get(ast.label);
  const want = ast.value;
  if (v === undefined) return ast.op === '!=';
  const i = v.indexOf(want);
  if (ast.op === '==') return v.length === want.length && i === 0;
  if (ast.op === '!=') return !(v.length === want.length && i === 0);
  if (ast.op === 'contains') return i >= 0;
  if (ast.op === 'starts with') return v.slice(0, want.length) === want;
  return v.length >= want.length && v.slice(v.length - want.length) === want;
}

describe('selector properties', () => {
  it('parse(print(ast)) is ast', () => {
    fc.assert(
      fc.property(astArb, (ast) => {
        expect(parseSelector(printSelector(ast))).toEqual(ast);
      }),
      { numRuns: 500 },
    );
  });

  it('evaluation agrees with a reference evaluator', () => {
    fc.assert(
      fc.property(astArb, labelsArb, (ast, l) => {
        expect(evaluateSelector(ast, l)).toBe(reference(ast, new Map(Object.entries(l))));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('selector input that is too much', () => {
  const error = (sel: string): SelectorParseError => {
    try {
      parseSelector(sel);
    } catch (e) {
      if (e instanceof SelectorParseError) return e;
      throw e;
    }
    throw new Error(`expected ${sel.slice(0, 40)} to be refused`);
  };

  it('deep nesting is a parse error with a column, not a stack overflow', () => {
    for (const sel of ['('.repeat(100_000), `${'!'.repeat(100_000)}all()`, Array(20_000).fill('has(a)').join(' && ')]) {
      const e = error(sel);
      expect(e.reason).toBe(`nested more than ${MAX_SELECTOR_DEPTH} levels deep`);
      expect(e.column).toBeGreaterThan(MAX_SELECTOR_DEPTH);
    }
    // Up to the limit it parses and evaluates.
    const chain = Array(400).fill("app == 'x'").join(' || ');
    expect(matchesSelector(`${chain} || has(app)`, labels)).toBe(true);
    expect(matchesSelector(`${'!'.repeat(400)}has(app)`, labels)).toBe(true);
  });

  it('the message is one line and quotes only the start of a huge selector', () => {
    const huge = `${'x'.repeat(10 * 1024 * 1024)} ~ 1`;
    const e = error(huge);
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeLessThan(300);
    expect(e.message).toMatch(
      /^selector "x{60}…" \(10485764 characters\): expected an operator .* after label "x{40}…" \(10485760 characters\) but found "~" at column 10485762$/,
    );
  });

  it('any text parses into a selector that prints and parses back, or a SelectorParseError (property)', () => {
    const piece = fc.constantFrom(
      'has(',
      ')',
      '(',
      '!',
      '&&',
      '||',
      'a',
      ' ',
      "'v'",
      '"w"',
      '==',
      '!=',
      'in',
      'not',
      '{',
      '}',
      ',',
      'all()',
      'global()',
      'contains',
      'starts',
      'with',
      'ends',
      '\t',
      '\n',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.array(piece, { maxLength: 30 }).map((a) => a.join(' ')),
    );
    fc.assert(
      fc.property(text, labelsArb, (t, l) => {
        let ast: SelectorAst;
        try {
          ast = parseSelector(t);
        } catch (e) {
          expect(e).toBeInstanceOf(SelectorParseError);
          const err = e as SelectorParseError;
          expect(err.column).toBeGreaterThanOrEqual(1);
          expect(err.column).toBeLessThanOrEqual(t.length + 1);
          expect(err.message).not.toContain('\n');
          return;
        }
        expect(typeof evaluateSelector(ast, l)).toBe('boolean');
        expect(parseSelector(printSelector(ast))).toEqual(ast);
      }),
      { numRuns: 5000 },
    );
  });
});
