import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Document, isCollection, parseAllDocuments, stringify, type ToStringOptions, visit } from 'yaml';
import { fastParse } from './fast.js';
import { parseYamlStream } from './load.js';

// The fast reader must agree with the yaml library whenever it does not decline: same value,
// and only on text the library reads without an error or a warning.
function library(text: string): { value: unknown; clean: boolean } {
  const docs = parseAllDocuments(text, { stringKeys: true, resolveKnownTags: false, logLevel: 'silent' });
  const list = Array.isArray(docs) ? docs : [];
  const doc = list[0];
  return {
    value: doc ? doc.toJS({ maxAliasCount: -1 }) : null,
    clean: list.length <= 1 && list.every((d) => d.errors.length === 0 && d.warnings.length === 0),
  };
}

/** A value as text, exactly: own keys in order, -0, NaN, prototypes (`toStrictEqual` trips on own `constructor` keys). */
function canon(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(canon).join(',')}]`;
  const proto = Object.getPrototypeOf(v) === Object.prototype ? '' : '(not a plain object)';
  return `${proto}{${Object.keys(v)
    .map((k) => `${JSON.stringify(k)}:${canon((v as Record<string, unknown>)[k])}`)
    .join(',')}}`;
}

function agrees(text: string): boolean {
  const fast = fastParse(text, 100);
  if (!fast) return false;
  const lib = library(text);
  expect(lib.clean, `the library finds problems in text the fast reader accepted:\n${text}`).toBe(true);
  expect(canon(fast.value), text).toBe(canon(lib.value));
  return true;
}

const TRICKY = [
  '',
  ' ',
  'null',
  'Null',
  'NULL',
  '~',
  'true',
  'False',
  'yes',
  '1',
  '-1',
  '+1',
  '007',
  '0x1F',
  '0X1F',
  '0o17',
  '1e3',
  '1E-3',
  '.5',
  '5.',
  '-.5e+2',
  '.inf',
  '-.Inf',
  '+.INF',
  '.nan',
  '.NaN',
  '1_000',
  '1:2',
  'a: b',
  'a #b',
  'a#b',
  '#a',
  '- x',
  '-x',
  '[x]',
  '{x}',
  'x,y',
  'x]',
  'é',
  '😀',
  "'",
  '"',
  '\\',
  'x:',
  ':x',
  '?x',
  '? x',
  '-',
  '|',
  '>',
  '*a',
  '&a',
  '!t',
  '%x',
  '@x',
  '`x',
  'a\tb',
  ' lead',
  'trail ',
  'line\nbreak',
  '\u2028',
  '\u0085',
  '\x7f',
  'it\'s "x"',
  '0.0',
  '1.0',
  '-0',
  '12345678901234567890',
];
const scalarArb = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const keyArb = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    'key',
    '__proto__',
    'constructor',
    'toString',
    'a b',
    '1',
    'null',
    'true',
    '-x',
    'k:v',
    "it's",
    'x"y',
    '',
    '~',
  ),
  fc.string({ maxLength: 6 }),
);
const valueArb = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    scalarArb,
    fc.array(tie('v'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('v'), { maxKeys: 4 }),
  ),
})).v;
const optionsArb: fc.Arbitrary<ToStringOptions> = fc.record({
  indent: fc.constantFrom(1, 2, 3, 4),
  indentSeq: fc.boolean(),
  defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
  defaultKeyType: fc.constantFrom(null, 'PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE'),
  collectionStyle: fc.constantFrom('any', 'block'),
  flowCollectionPadding: fc.boolean(),
  lineWidth: fc.constantFrom(0, 20, 80),
}) as fc.Arbitrary<ToStringOptions>;

describe('fast reader', () => {
  it('reads a typical manifest without declining', () => {
    const text = [
      '# a pool',
      'apiVersion: projectcalico.org/v3',
      'kind: IPPool',
      'metadata:',
      '  name: pool-a   # trailing comment',
      '  labels: {rack: "r1", zone: z}',
      'spec:',
      '  cidr: 198.18.0.0/16',
      '  blockSize: 26',
      '  natOutgoing: true',
      "  nodeSelector: '!has(edge)'",
      '  allowedUses: [Workload, Tunnel]',
      '  peers:',
      '    - { name: c0, address: 198.19.0.1, families: [ipv4-unicast], import: [a, "b, c"] }',
      "    - {name: c1, bfd: {minRx: 300, nested: [[1], {}, []]}, \"q\": 'it''s'}",
      '    - [x, {y: z}]',
      '  list:',
      '  - a: 1',
      '    b: [x, "y, z"]',
      '  - - nested',
      '    - 2',
      '  -',
      '',
    ].join('\n');
    expect(agrees(text)).toBe(true);
  });

  it('declines what it does not handle, and the library reads it', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: !tag x\n',
      'a: |\n  text\n',
      'a: >\n  text\n',
      'a: multi\n  line\n',
      'a: {b: [c,\n  d]}\n',
      '- {a: b}: c\n',
      '- [a]: [b]\n',
      'a: [b, ]\n',
      'a: {b: [c]] }\n',
      'a: {b: c}\n  d: e\n',
      'a: 1\na: 2\n',
      '? a\n: b\n',
      'a:\tb\n',
      '"a": "b\\q"\n',
      'just a scalar\n',
      'a: "x" # c\n',
      'a: b: c\n',
    ]) {
      expect(fastParse(text, 100), text).toBeUndefined();
    }
  });

  it('agrees with the yaml library on what the library writes (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(valueArb, optionsArb, (v, o) => {
        if (agrees(stringify(v, o))) accepted++;
      }),
      { numRuns: 3000 },
    );
    // Most block output is in the subset; if this drops, the property proves little.
    expect(accepted).toBeGreaterThan(600);
  });

  it('agrees with the yaml library on block documents with flow collections inside (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(valueArb, optionsArb, fc.integer({ min: 1, max: 6 }), (v, o, from) => {
        // Collections `from` or more steps below the root (pairs count as steps) are written in flow style.
        const doc = new Document(v);
        visit(doc, (_key, node, path) => {
          if (isCollection(node) && path.length >= from) node.flow = true;
        });
        if (agrees(doc.toString({ ...o, lineWidth: 0 }))) accepted++;
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(600);
  });

  it('agrees with the yaml library on arbitrary line soup (property)', () => {
    const piece = fc.constantFrom(
      'a: 1',
      'b:',
      '- x',
      '-',
      '- k: v',
      '- - y',
      'c: "q,\\"z"',
      "d: 'it''s'",
      'e: [1, "a, b", c]',
      'f: {g: h, "i": 2}',
      '- {a: [1, {b: c}], d: e}',
      '- [x, [y, "z,"]]',
      'g: {h: [], i: {}, j: {k: [l]}}',
      'm: [{n: o}, [p], q]',
      '- { x: y }',
      '- {x: [y}',
      '# comment',
      'x #y',
      'k: v # c',
      '"qk": 3',
      'n: null',
      't: .inf',
      'u: 0x10',
      'w: -',
      '',
      '[a]',
      'z: a:b',
      'y: [',
      'k2: v2',
      '__proto__: p',
    );
    const line = fc.tuple(fc.integer({ min: 0, max: 6 }), piece).map(([n, p]) => ' '.repeat(n) + p);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        agrees(lines.join('\n'));
      }),
      { numRuns: 20_000 },
    );
  });

  it('a stream reads the same through the fast reader as through the library alone (property)', () => {
    const doc = fc.tuple(valueArb, optionsArb).map(([v, o]) => stringify(v, o));
    const separator = fc.constantFrom('---\n', '--- # c\n', '---\t\n', '---\r\n', '--- \u00a0\n', '--- x\n');
    fc.assert(
      fc.property(fc.array(fc.tuple(doc, separator), { maxLength: 5 }), fc.boolean(), (docs, trailing) => {
        const text = docs.map(([d, sep], i) => (i ? sep : '') + d).join('') + (trailing ? '---\n' : '');
        const ours = parseYamlStream(text);
        const lib = parseAllDocuments(text, { stringKeys: true, resolveKnownTags: false, logLevel: 'silent' });
        const libDocs = Array.isArray(lib) ? lib : [];
        if (libDocs.some((d) => d.errors.length)) {
          // (The library does not always read its own output.) Then there are errors here too.
          expect(ours.errors).not.toEqual([]);
          return;
        }
        const expected = libDocs
          .map((d, i) => ({ index: i + 1, value: d.toJS({ maxAliasCount: -1 }) as unknown }))
          .filter((d) => d.value !== null);
        expect(ours.errors).toEqual([]);
        expect(ours.documents.map((d) => `${d.index}: ${canon(d.value)}`)).toEqual(
          expected.map((d) => `${d.index}: ${canon(d.value)}`),
        );
      }),
      { numRuns: 1000 },
    );
  });
});
