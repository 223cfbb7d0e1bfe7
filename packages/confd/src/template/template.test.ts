import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createConfdFunctions } from '../functions/confd-functions.js';
import { KeyStore } from '../functions/key-store.js';
import { TemplateExecError, TemplateNotDefinedError, TemplateParseError } from './errors.js';
import { sprintf } from './format.js';
import { Template } from './template.js';

function render(text: string, data?: unknown, funcs = {}): string {
  return new Template('t', { funcs }).parse(text).execute(data);
}

type Case = [name: string, template: string, data: unknown, want: string];

const DATA = {
  s: 'str',
  n: 7,
  f: 1.5,
  z: 0,
  t: true,
  no: false,
  e: '',
  l: ['a', 'b', 'c'],
  el: [],
  m: { b: 2, a: 1, c: 3 },
  em: {},
  nested: { inner: { leaf: 'deep' } },
  nil: null,
};

const actions: Case[] = [
  ['plain text', 'hello', DATA, 'hello'],
  ['field', '{{.s}}', DATA, 'str'],
  ['nested field', '{{.nested.inner.leaf}}', DATA, 'deep'],
  ['missing map key is nil', '[{{.missing}}]', DATA, '[<no value>]'],
  ['missing key chained', '[{{.missing.more}}]', DATA, '[<no value>]'],
  ['missing key is false', '{{if .missing}}y{{else}}n{{end}}', DATA, 'n'],
  ['dot', '{{.}}', 'x', 'x'],
  ['comment', 'a{{/* note */}}b', DATA, 'ab'],
  ['trim both sides', 'a  {{- .s -}}  \n b', DATA, 'astrb'],
  ['trim comment', 'a \n{{- /* c */ -}}\n b', DATA, 'ab'],
  ['negative number is not trim', '{{-3}}', DATA, '-3'],
  ['pipeline', '{{.s | printf "%s!"}}', DATA, 'str!'],
  ['pipeline final arg last', '{{"b" | printf "%s-%s" "a"}}', DATA, 'a-b'],
  ['parenthesised call', '{{printf "%d" (len .l)}}', DATA, '3'],
  ['field of parenthesised', '{{(.nested).inner.leaf}}', DATA, 'deep'],
  ['declare', '{{$x := .n}}{{$x}}', DATA, '7'],
  ['assign in range', '{{$x := 0}}{{range .l}}{{$x = .}}{{end}}{{$x}}', DATA, 'c'],
  ['root variable', '{{range .l}}{{$.s}}{{end}}', DATA, 'strstrstr'],
  ['variable field', '{{$v := .nested}}{{$v.inner.leaf}}', DATA, 'deep'],
  ['if true', '{{if .t}}yes{{end}}', DATA, 'yes'],
  ['if false', '{{if .no}}yes{{else}}no{{end}}', DATA, 'no'],
  ['else if', '{{if .no}}1{{else if .z}}2{{else if .n}}3{{else}}4{{end}}', DATA, '3'],
  ['else if falls to else', '{{if .no}}1{{else if .z}}2{{else}}4{{end}}', DATA, '4'],
  ['truth: empty string', '{{if .e}}t{{else}}f{{end}}', DATA, 'f'],
  ['truth: empty list', '{{if .el}}t{{else}}f{{end}}', DATA, 'f'],
  ['truth: empty map', '{{if .em}}t{{else}}f{{end}}', DATA, 'f'],
  ['truth: nil', '{{if .nil}}t{{else}}f{{end}}', DATA, 'f'],
  ['truth: zero', '{{if .z}}t{{else}}f{{end}}', DATA, 'f'],
  ['truth: non-empty map', '{{if .m}}t{{else}}f{{end}}', DATA, 't'],
  ['if scope', '{{if $x := .s}}{{$x}}{{end}}', DATA, 'str'],
  ['inner declaration does not leak', '{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}', DATA, '21'],
  ['assignment inside if changes the outer variable', '{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}', DATA, '2'],
  ['range variables are per iteration', '{{range $v := .l}}{{end}}{{$v := "outer"}}{{$v}}', DATA, 'outer'],
  ['range list', '{{range .l}}[{{.}}]{{end}}', DATA, '[a][b][c]'],
  ['range index and value', '{{range $i, $v := .l}}{{$i}}{{$v}}{{end}}', DATA, '0a1b2c'],
  ['range one variable is element', '{{range $v := .l}}{{$v}}{{end}}', DATA, 'abc'],
  ['range map sorted', '{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}', DATA, 'a=1;b=2;c=3;'],
  ['range else on empty', '{{range .el}}x{{else}}empty{{end}}', DATA, 'empty'],
  ['range else on nil', '{{range .missing}}x{{else}}none{{end}}', DATA, 'none'],
  ['range integer', '{{range 3}}{{.}}{{end}}', DATA, '012'],
  ['range break', '{{range .l}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', DATA, 'a'],
  ['range continue', '{{range .l}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', DATA, 'ac'],
  ['range nested break', '{{range .l}}{{range $.l}}{{break}}{{end}}{{.}}{{end}}', DATA, 'abc'],
  ['with', '{{with .nested.inner}}{{.leaf}}{{end}}', DATA, 'deep'],
  ['with else', '{{with .e}}x{{else}}empty{{end}}', DATA, 'empty'],
  ['else with', '{{with .e}}1{{else with .s}}{{.}}{{else}}3{{end}}', DATA, 'str'],
  ['define and template', '{{define "t2"}}<{{.}}>{{end}}{{template "t2" .s}}', DATA, '<str>'],
  ['template without data', '{{define "t2"}}<{{.}}>{{end}}{{template "t2"}}', DATA, '<<no value>>'],
  ['template root var', '{{define "t2"}}{{$}}{{end}}{{template "t2" .n}}', DATA, '7'],
  ['block default', '{{block "b" .s}}[{{.}}]{{end}}', DATA, '[str]'],
  [
    'recursive template',
    '{{define "r"}}{{if .}}{{index . 0}}{{template "r" (slice . 1)}}{{end}}{{end}}{{template "r" .l}}',
    DATA,
    'abc',
  ],
  ['raw string', '{{`a\\n`}}', DATA, 'a\\n'],
  ['string escapes', '{{"a\\tb\\u00e9\\x41"}}', DATA, 'a\tbéA'],
  ['char constant', "{{'a'}}", DATA, '97'],
  ['hex and float constants', '{{0x1F}} {{1.5}} {{1e3}} {{0o17}} {{0b101}} {{1_000}}', DATA, '31 1.5 1000 15 5 1000'],
  ['bool and list printing', '{{true}} {{.l}} {{.m}}', DATA, 'true [a b c] map[a:1 b:2 c:3]'],
  [
    'method call on object',
    '{{.obj.greet "x"}}',
    {
      obj: new (class {
        greet(n: string) {
          return `hi ${n}`;
        }
      })(),
    },
    'hi x',
  ],
  ['newline inside action', '{{printf\n"%s"\n.s}}', DATA, 'str'],
];

const functions: Case[] = [
  ['and returns deciding value', '{{and 1 0 2}}|{{and 1 2}}', DATA, '0|2'],
  ['or returns deciding value', '{{or 0 "" "x" "y"}}|{{or 0 ""}}|', DATA, 'x||'],
  ['and short-circuits', '{{and .no (index .l 99)}}', DATA, 'false'],
  ['or short-circuits', '{{or .t (index .l 99)}}', DATA, 'true'],
  ['and in pipeline', '{{.t | and 1}}', DATA, 'true'],
  ['not', '{{not .e}} {{not 1}}', DATA, 'true false'],
  ['len', '{{len .l}} {{len .m}} {{len "héllo"}} {{len .em}}', DATA, '3 3 6 0'],
  ['index list', '{{index .l 1}}', DATA, 'b'],
  ['index map', '{{index .m "c"}}', DATA, '3'],
  [
    'index nested',
    '{{index .grid 1 0}}',
    {
      grid: [
        [1, 2],
        [3, 4],
      ],
    },
    '3',
  ],
  ['index missing map key', '[{{index .m "zz"}}]', DATA, '[<no value>]'],
  ['index string is byte', '{{index "abc" 1}}', DATA, '98'],
  ['slice string', '{{slice "hello" 1 3}}|{{slice "hello" 2}}|{{slice "hello"}}', DATA, 'el|llo|hello'],
  ['slice list', '{{slice .l 1}} {{slice .l 0 2 3}}', DATA, '[b c] [a b]'],
  ['print', '{{print 1 2 "a" "b" 3 .nil}}', DATA, '1 2ab3 <nil>'],
  ['println', '{{println 1 "a"}}', DATA, '1 a\n'],
  ['printf', '{{printf "%s=%d" "a" 1}}', DATA, 'a=1'],
  ['eq', '{{eq 1 1}} {{eq "a" "b"}} {{eq .s "x" "str"}}', DATA, 'true false true'],
  ['eq with nil', '{{eq .missing "x"}} {{eq .missing .nil}}', DATA, 'false true'],
  ['ne', '{{ne 1 2}} {{ne "a" "a"}}', DATA, 'true false'],
  ['lt le gt ge numbers', '{{lt 1 2}} {{le 2 2}} {{gt 1 2}} {{ge 2 3}}', DATA, 'true true false false'],
  ['lt le gt ge strings', '{{lt "a" "b"}} {{le "b" "a"}} {{gt "b" "a"}} {{ge "a" "a"}}', DATA, 'true false true true'],
  ['html', '{{html "<a href=\\"x\\">&\'"}}', DATA, '&lt;a href=&#34;x&#34;&gt;&amp;&#39;'],
  ['js', '{{js "it\'s <b> \\"q\\" & a=b\\n"}}', DATA, 'it\\\'s \\u003Cb\\u003E \\"q\\" \\u0026 a\\u003Db\\u000A'],
  ['urlquery', '{{urlquery "a b&c=d/é"}}', DATA, 'a+b%26c%3Dd%2F%C3%A9'],
  ['html of several args', '{{html 1 "<" 2}}', DATA, '1&lt;2'],
  ['call', '{{call .fn 2 3}}', { fn: (a: number, b: number) => a * b }, '6'],
  ['user function', '{{double 4}}', DATA, '8'],
];

const verbs: Array<[format: string, args: unknown[], want: string]> = [
  ['%s', ['x'], 'x'],
  ['%5s|%-5s|', ['ab', 'ab'], '   ab|ab   |'],
  ['%.2s', ['abcdef'], 'ab'],
  ['%05s', ['ab'], '000ab'],
  ['%d', [42], '42'],
  ['%5d|%-5d|%05d', [42, 42, -42], '   42|42   |-0042'],
  ['%+d % d', [5, 5], '+5  5'],
  ['%.3d', [7], '007'],
  ['%v %v %v %v', [1, 'a', true, null], '1 a true <nil>'],
  ['%v', [[1, [2, 3]]], '[1 [2 3]]'],
  ['%v', [{ b: 'x', a: [1] }], 'map[a:[1] b:x]'],
  ['%q', ['a"b\n'], '"a\\"b\\n"'],
  ['%q', [['a', 'b']], '["a" "b"]'],
  ['%#q', ['ab'], '`ab`'],
  ['%q', [97], "'a'"],
  ['%x %X %#x', [255, 255, 255], 'ff FF 0xff'],
  ['%x', ['hi'], '6869'],
  ['%x', [-255], '-ff'],
  ['%o %b %c %U', [8, 5, 65, 65], '10 101 A U+0041'],
  ['%t %t', [true, false], 'true false'],
  ['%f', [1.23456], '1.234560'],
  ['%.2f|%8.3f|%-8.1f|%08.2f', [1.23456, 2.5, 2.5, -1.5], '1.23|   2.500|2.5     |-0001.50'],
  ['%+.1f', [2], '+2.0'],
  ['%.1f %.1f %.0f %.0f %.2f', [2.25, 2.35, 0.5, 1.5, 1.005], '2.2 2.4 0 2 1.00'],
  ['%e %E', [123.456, 0.5], '1.234560e+02 5.000000E-01'],
  ['%g %g %g %.3g', [1.5, 1e6, 0.00001, 1234.5678], '1.5 1e+06 1e-05 1.23e+03'],
  ['%v %v', [0.1, 1234567.5], '0.1 1.2345675e+06'],
  ['%%', [], '%'],
  ['%*d', [4, 1], '   1'],
  ['%[2]s %[1]s', ['a', 'b'], 'b a'],
  ['%d', ['x'], '%!d(string=x)'],
  ['%s', [5], '%!s(int=5)'],
  ['%d', [1.5], '%!d(float64=1.5)'],
  ['%t', [1], '%!t(int=1)'],
  ['%d', [null], '%!d(<nil>)'],
  ['%z', [1], '%!z(int=1)'],
  ['%d %d', [1], '1 %!d(MISSING)'],
  ['%d', [1, 'x'], '1%!(EXTRA string=x)'],
  ['%', [], '%!(NOVERB)'],
  ['%T %T %T %T', [1, 'a', [1], { a: 1 }], 'int string []interface {} map[string]interface {}'],
];

describe('template actions', () => {
  it.each(actions)('%s', (_name, text, data, want) => {
    expect(render(text, data)).toBe(want);
  });
});

describe('template functions', () => {
  it.each(functions)('%s', (_name, text, data, want) => {
    expect(render(text, data, { double: (n: number) => n * 2 })).toBe(want);
  });
});

describe('printf verbs', () => {
  it.each(verbs)('%s with %j', (format, args, want) => {
    expect(sprintf(format, args)).toBe(want);
  });
  it('printf through a template uses the same formatting', () => {
    expect(render('{{printf "%5.1f|%-3d|%q" 2.25 7 "x"}}')).toBe('  2.2|7  |"x"');
  });
});

const parseErrors: Array<[template: string, message: string]> = [
  ['{{nofunc}}', 'template: t:1: function "nofunc" not defined'],
  ['line1\n{{$u}}', 'template: t:2: undefined variable "$u"'],
  ['{{if}}{{end}}', 'template: t:1: missing value for if'],
  ['{{end}}', 'template: t:1: unexpected {{end}}'],
  ['{{else}}', 'template: t:1: unexpected {{else}}'],
  ['{{if .x}}', 'template: t:1: unexpected EOF'],
  ['{{.x', 'template: t:1: unclosed action'],
  ['{{"abc}}', 'template: t:1: unterminated quoted string'],
  ['{{/* x }}', 'template: t:1: unclosed comment'],
  ['{{break}}', 'template: t:1: {{break}} outside {{range}}'],
  ['{{continue}}', 'template: t:1: {{continue}} outside {{range}}'],
  ['{{(.x}}', 'template: t:1: unclosed left paren'],
  ['{{.x)}}', "template: t:1: unexpected right paren U+0029 ')'"],
  ['{{.x | "s"}}', 'template: t:1: non executable command in pipeline stage 2'],
  ['{{3x}}', 'template: t:1: bad number syntax: "3x"'],
  ['{{$a, $b := .}}', 'template: t:1: too many declarations in command'],
  ['{{template .x}}', 'template: t:1: unexpected ".x" in template clause'],
  ['{{if 1}}{{else if 2}}{{else with 3}}{{end}}', 'template: t:1: unexpected {{else with}} in if'],
  ['{{ /* not a comment */ }}', "template: t:1: unrecognized character in action: U+002F '/'"],
  ['{{.a-b}}', "template: t:1: bad character U+002D '-'"],
  ['{{define "x"}}{{else}}{{end}}', 'template: t:1: unexpected {{else}} in define clause'],
  ['{{range .}}{{else if .}}{{end}}', 'template: t:1: unexpected {{else if}} in range'],
];

const execErrors: Array<[template: string, data: unknown, message: string]> = [
  ['{{.s.x}}', DATA, 'template: t:1:2: executing "t" at <.s.x>: can\'t evaluate field x in type string'],
  [
    'ab\n  {{index .l 5}}',
    DATA,
    'template: t:2:4: executing "t" at <index .l 5>: error calling index: index out of range: 5',
  ],
  ['{{len 1 2}}', DATA, 'template: t:1:2: executing "t" at <len>: wrong number of args for len: want 1 got 2'],
  ['{{len 3}}', DATA, 'template: t:1:2: executing "t" at <len 3>: error calling len: len of type int'],
  [
    '{{eq 1 "a"}}',
    DATA,
    'template: t:1:2: executing "t" at <eq 1 "a">: error calling eq: incompatible types for comparison',
  ],
  [
    '{{lt true false}}',
    DATA,
    'template: t:1:2: executing "t" at <lt true false>: error calling lt: invalid type for comparison',
  ],
  [
    '{{eq .l .l}}',
    DATA,
    'template: t:1:2: executing "t" at <eq .l .l>: error calling eq: non-comparable type [a b c]: []interface {}',
  ],
  ['{{"x" 1}}', DATA, 'template: t:1:2: executing "t" at <"x">: can\'t give argument to non-function "x"'],
  ['{{nil}}', DATA, 'template: t:1:2: executing "t" at <nil>: nil is not a command'],
  [
    '{{template "none"}}',
    DATA,
    'template: t:1:11: executing "t" at <{{template "none"}}>: template "none" not defined',
  ],
  [
    '{{range .s}}{{end}}',
    DATA,
    'template: t:1:8: executing "t" at <{{range .s}}{{end}}>: range can\'t iterate over str',
  ],
  ['{{fail}}', DATA, 'template: t:1:2: executing "t" at <fail>: error calling fail: boom'],
  [
    '{{.l.length}}',
    DATA,
    'template: t:1:2: executing "t" at <.l.length>: can\'t evaluate field length in type []interface {}',
  ],
  ['{{.m.a 1}}', DATA, 'template: t:1:2: executing "t" at <.m.a>: a is not a method but has arguments'],
  [
    '{{slice "abc" 2 1}}',
    DATA,
    'template: t:1:2: executing "t" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1',
  ],
  ['{{call .s}}', DATA, 'template: t:1:2: executing "t" at <call .s>: error calling call: non-function of type string'],
  [
    '{{printf 1}}',
    DATA,
    'template: t:1:2: executing "t" at <printf 1>: error calling printf: format must be a string, not int',
  ],
  ['{{not}}', DATA, 'template: t:1:2: executing "t" at <not>: wrong number of args for not: want 1 got 0'],
  ['{{ne 1}}', DATA, 'template: t:1:2: executing "t" at <ne>: wrong number of args for ne: want 2 got 1'],
  [
    '{{le 1 "a"}}',
    DATA,
    'template: t:1:2: executing "t" at <le 1 "a">: error calling le: incompatible types for comparison',
  ],
  ['{{gt .l 1}}', DATA, 'template: t:1:2: executing "t" at <gt .l 1>: error calling gt: invalid type for comparison'],
  ['{{ge nil 1}}', DATA, 'template: t:1:2: executing "t" at <ge nil 1>: error calling ge: invalid type for comparison'],
  ['{{eq 1}}', DATA, 'template: t:1:2: executing "t" at <eq 1>: error calling eq: missing argument for comparison'],
  [
    '{{index 1 0}}',
    DATA,
    'template: t:1:2: executing "t" at <index 1 0>: error calling index: can\'t index item of type int',
  ],
  [
    '{{index .l "x"}}',
    DATA,
    'template: t:1:2: executing "t" at <index .l "x">: error calling index: cannot index slice/array with type string',
  ],
  [
    '{{index nil 0}}',
    DATA,
    'template: t:1:2: executing "t" at <index nil 0>: error calling index: index of untyped nil',
  ],
  [
    '{{slice .l 1 5}}',
    DATA,
    'template: t:1:2: executing "t" at <slice .l 1 5>: error calling slice: index out of range: 5',
  ],
  [
    '{{slice "abc" 0 1 2}}',
    DATA,
    'template: t:1:2: executing "t" at <slice "abc" 0 1 2>: error calling slice: cannot 3-index slice a string',
  ],
  ['{{and}}', DATA, 'template: t:1:2: executing "t" at <and>: wrong number of args for and: want at least 1 got 0'],
  ['{{call nil}}', DATA, 'template: t:1:2: executing "t" at <call nil>: error calling call: call of nil'],
  ['{{.fn}}', { fn: () => 1 }, 'template: t:1:2: executing "t" at <{{.fn}}>: can\'t print {{.fn}} of type func'],
  ['{{$x := 1}}{{.s.y}}', DATA, 'template: t:1:13: executing "t" at <.s.y>: can\'t evaluate field y in type string'],
  [
    '{{define "inner"}}\n{{.q.r}}{{end}}{{template "inner" 5}}',
    DATA,
    'template: t:2:2: executing "inner" at <.q.r>: can\'t evaluate field q in type int',
  ],
  [
    '{{printf "%s %s %s %s %s" .s .s .s .s .nope.x}}',
    5,
    'template: t:1:26: executing "t" at <.s>: can\'t evaluate field s in type int',
  ],
];

describe('template errors', () => {
  it.each(parseErrors)('parse %j', (text, message) => {
    const t = new Template('t');
    let err: unknown;
    try {
      t.parse(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateParseError);
    expect((err as Error).message).toBe(message);
  });
  it.each(execErrors)('exec %j', (text, data, message) => {
    const t = new Template('t', {
      funcs: {
        fail: () => {
          throw new Error('boom');
        },
      },
    }).parse(text);
    let err: unknown;
    try {
      t.execute(data);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TemplateExecError);
    expect((err as Error).message).toBe(message);
  });
  it('carries line and column on the error object', () => {
    const t = new Template('bird.cfg').parse('a\nb\n\n\n\n\n\n\n\n\n\n    {{.x.y}}');
    expect(() => t.execute({ x: 1 })).toThrow(/^template: bird\.cfg:12:6: executing "bird\.cfg" at <\.x\.y>/);
    try {
      t.execute({ x: 1 });
    } catch (e) {
      expect(e).toMatchObject({ code: 'TEMPLATE_EXEC', line: 12, column: 6, templateName: 'bird.cfg' });
    }
  });
  it('truncates long context to 20 characters', () => {
    const t = new Template('t').parse('{{index .l 1 2 3 4 5 6 7 8}}');
    expect(() => t.execute({ l: [] })).toThrow('at <index .l 1 2 3 4 5 6...>: error calling index');
  });
  it('unbounded recursion is an execution error, not a crash', () => {
    const simple = new Template('t').parse('{{define "r"}}{{template "r" .}}{{end}}{{template "r" .}}');
    expect(() => simple.execute(1)).toThrow('exceeded maximum template depth (1000)');
    const nested = new Template('t').parse(
      '{{define "r"}}{{if true}}{{with .}}{{range .}}{{template "r" $}}{{end}}{{end}}{{end}}{{end}}{{template "r" .}}',
    );
    expect(() => nested.execute([1])).toThrow(TemplateExecError);
  });
  it('missingkey=error reports the key', () => {
    const t = new Template('t', { missingKey: 'error' }).parse('{{.a}}');
    expect(() => t.execute({})).toThrow('map has no entry for key "a"');
  });
  it('executeTemplate of an unknown name', () => {
    expect(() => new Template('t').parse('x').executeTemplate('y')).toThrow(TemplateNotDefinedError);
  });
  it('functions must be known at parse time, not at execution', () => {
    expect(() => new Template('t').parse('{{if false}}{{later}}{{end}}')).toThrow('function "later" not defined');
  });
});

describe('template sets', () => {
  it('an empty redefinition does not replace a template', () => {
    const t = new Template('t').parse('{{define "x"}}body{{end}}{{template "x"}}');
    t.parse('{{define "x"}}{{end}}', 'more');
    expect(t.execute()).toBe('body');
    expect(t.definedTemplates()).toEqual(['more', 't', 'x']);
  });
  it('a later parse can redefine a block', () => {
    const t = new Template('t').parse('[{{block "b" .}}default{{end}}]');
    t.parse('{{define "b"}}custom{{end}}', 'override');
    expect(t.execute()).toBe('[custom]');
  });
});

describe('properties', () => {
  it('text without actions renders to itself', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('{{')),
        (s) => {
          expect(render(s)).toBe(s);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('a quoted string constant prints its value', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(render(`{{${JSON.stringify(s)}}}`)).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
  it('printf %d agrees with String for integers', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 0, max: 20 }), (n, w) => {
        const out = sprintf(`%${w}d`, [n]);
        expect(out.trim()).toBe(String(n));
        expect(out.length).toBe(Math.max(w, String(n).length));
      }),
    );
  });
});

// Go's text/template compares by basic kind (funcs.go: bool, int, uint, float, string): an int
// and a float never compare, a float constant (`1.0`, `1e3`) stays a float64 even when its value
// is integral, strings compare by UTF-8 bytes. Every case here is what Go 1.22 prints.
describe('comparisons exactly as Go', () => {
  const ok: [string, string][] = [
    ['{{eq 1.0 1.0}} {{eq 1.5 1.5}} {{eq 1.5 2.5}} {{ne 1.0 2.0}}', 'true true false true'],
    ['{{lt 1.0 1.5}} {{le 1.5 1.5}} {{gt 2.5 1.0}} {{ge 1e3 999.5}}', 'true true true true'],
    ['{{eq .f 1.5}} {{lt .f 2.0}}', 'true true'],
    ["{{eq 'a' 97}} {{lt 0x1e 31}} {{eq 0x10 16}}", 'true true true'],
    ['{{eq .missing .l}} {{eq .l .missing}} {{eq .missing 1.5}}', 'false false false'],
    ['{{lt "\\uffff" "\\U0001F600"}} {{lt "a" "ab"}} {{lt "b" "ab"}}', 'true true false'],
    ['{{printf "%T %v %T %v %T" 1.0 1.0 1e6 1e6 1}}', 'float64 1 float64 1e+06 int'],
    ['{{1.0}} {{-0.0}} {{2e0}}', '1 -0 2'],
    ['{{if 0.0}}t{{else}}f{{end}} {{if 1.0}}t{{end}} {{not 0.0}}', 'f t true'],
    ['{{printf "%d" 1.0}}', '%!d(float64=1)'],
    ['{{$x := 1.0}}{{printf "%T" $x}} {{and 1 2.0}}', 'float64 2'],
  ];
  it.each(ok)('%s', (text, want) => {
    expect(render(text, DATA)).toBe(want);
  });

  const errors: [string, string][] = [
    ['{{lt 1 3.5}}', 'error calling lt: incompatible types for comparison'],
    ['{{eq 1 1.5}}', 'error calling eq: incompatible types for comparison'],
    ['{{eq 1 1.0}}', 'error calling eq: incompatible types for comparison'],
    ['{{eq 1.0 1}}', 'error calling eq: incompatible types for comparison'],
    ['{{le 1 1.0}}', 'error calling le: incompatible types for comparison'],
    ['{{gt 2 1.5}}', 'error calling gt: incompatible types for comparison'],
    ['{{ge .n 7.0}}', 'error calling ge: incompatible types for comparison'],
    ['{{eq .n 1.5 7}}', 'error calling eq: incompatible types for comparison'],
    ['{{lt .missing 1}}', 'error calling lt: invalid type for comparison'],
    ['{{lt .l .l}}', 'error calling lt: invalid type for comparison'],
    [
      '{{eq .l .m}}',
      'error calling eq: non-comparable types [a b c]: []interface {}, map[string]interface {}: map[a:1 b:2 c:3]',
    ],
    ['{{eq .m .m}}', 'error calling eq: non-comparable type map[a:1 b:2 c:3]: map[string]interface {}'],
    ['{{range 3.0}}{{end}}', "range can't iterate over 3"],
    ['{{index .l 1.0}}', 'error calling index: cannot index slice/array with type float64'],
    ['{{len 1.5}}', 'error calling len: len of type float64'],
  ];
  it.each(errors)('%s fails', (text, message) => {
    expect(() => render(text, DATA)).toThrow(message);
  });

  it('functions from outside the engine get plain numbers (a float constant as its value)', () => {
    const seen: unknown[] = [];
    class Obj {
      m(x: unknown) {
        seen.push(x);
        return x;
      }
    }
    const fn = (x: unknown) => {
      seen.push(x);
      return x;
    };
    const add = (a: number, b: number) => {
      seen.push(a);
      return a + b;
    };
    const out = render('{{add 1.0 2}} {{.obj.m 3.0}} {{call .fn 4.0}}', { obj: new Obj(), fn }, { add });
    expect(out).toBe('3 3 4');
    expect(seen).toEqual([1, 3, 4]);
  });
});

describe('bounded execution and parsing', () => {
  const renderLimited = (text: string, limits = {}) => new Template('t', { limits }).parse(text).execute(DATA);

  it('a range over a huge number stops at the step limit, with a position', () => {
    expect(() => renderLimited('\n {{range 1000000000000}}{{end}}', { maxSteps: 100_000 })).toThrow(
      /^template: t:2:9: executing "t" at <\{\{range 100000000000\.\.\.>: exceeded 100000 execution steps/,
    );
    expect(() =>
      renderLimited('{{range 1000}}{{range 1000}}{{range 1000}}{{end}}{{end}}{{end}}', { maxSteps: 100_000 }),
    ).toThrow(TemplateExecError);
  });

  it('output and the strings functions return are bounded', () => {
    expect(() => renderLimited('{{range 100}}{{printf "%1000000d" 1}}{{end}}', { maxOutput: 5_000_000 })).toThrow(
      'output exceeds 5000000 characters',
    );
    expect(() =>
      renderLimited('{{$x := "ab"}}{{range 100}}{{$x = printf "%s%s" $x $x}}{{end}}', { maxOutput: 1_000_000 }),
    ).toThrow('printf returned more than 1000000 characters');
  });

  it("printf refuses widths and precisions past a million, as Go's fmt does", () => {
    expect(render('{{printf "%99999999d|" 1}}')).toBe('%!(NOVERB)%!(EXTRA int=1)');
    expect(render('{{printf "%*d" 10000000 1}}')).toBe('%!(BADWIDTH)1');
    expect(render('{{printf "%.*d" 10000000 1}}')).toBe('%!(BADPREC)1');
  });

  it('deep nesting is a parse error, not a stack overflow', () => {
    for (const [text, what] of [
      [`{{${'('.repeat(5000)}1${')'.repeat(5000)}}}`, 'max expression depth exceeded (200)'],
      [`${'{{if true}}'.repeat(5000)}${'{{end}}'.repeat(5000)}`, 'max nesting depth exceeded (200)'],
      [`{{if false}}${'{{else if false}}'.repeat(5000)}{{end}}`, 'max nesting depth exceeded (200)'],
    ]) {
      let err: unknown;
      try {
        new Template('t').parse(text as string);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TemplateParseError);
      expect((err as Error).message).toMatch(
        new RegExp(`^template: t:1: ${(what as string).replace(/[()]/g, '\\$&')}$`),
      );
    }
  });

  it('messages quote at most a short part of a huge value', () => {
    const huge = 'x'.repeat(1_000_000);
    for (const text of [`{{"${huge}" 1}}`, `{{${huge}}}`, `{{1${huge}}}`, `{{range "${huge}"}}{{end}}`]) {
      let err: unknown;
      try {
        new Template('t').parse(text).execute(DATA);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message.length).toBeLessThan(500);
    }
  });
});

describe('fuzzing the parser and the executor', () => {
  const pieces = fc.constantFrom(
    '{{',
    '}}',
    '{{-',
    '-}}',
    ' ',
    '\n',
    'x',
    '.',
    '.a',
    '.l',
    '.m',
    '.f',
    '$',
    '$x',
    ':=',
    '=',
    '|',
    '(',
    ')',
    ',',
    'if',
    'else',
    'end',
    'range',
    'with',
    'define',
    'template',
    'block',
    'break',
    'continue',
    '"t"',
    '"s"',
    "'c'",
    '`r`',
    '1',
    '-2',
    '1.5',
    '1.0',
    '1e3',
    '0x1F',
    'true',
    'nil',
    'eq',
    'lt',
    'le',
    'ne',
    'gt',
    'ge',
    'and',
    'or',
    'not',
    'len',
    'index',
    'slice',
    'print',
    'printf',
    'println',
    'html',
    'js',
    'urlquery',
    'call',
    '"%d %s %v %5.2f %*d %[2]q"',
    'getv',
    'gets',
    'ls',
    'json',
    'seq',
    'add',
    'mul',
    'split',
    'join',
    'map',
    'atoi',
    'base64Decode',
    '"/a"',
    '"/*"',
    '/*',
    '*/',
  );
  const textArb = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.array(pieces, { maxLength: 40 }).map((a) => a.join('')),
  );
  const dataArb = fc.oneof(fc.constant(DATA), fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));
  const store = new KeyStore([
    { key: '/a', value: '1' },
    { key: '/b/c', value: '{"x": [1, 2.5, "y"]}' },
  ]);
  const funcs = createConfdFunctions({ store: () => store, env: { HOME: '/root' }, now: () => new Date(0) });

  // Well-formed templates too, so that the executor is exercised and not only the parser.
  const fn = fc.constantFrom(
    'eq',
    'ne',
    'lt',
    'le',
    'gt',
    'ge',
    'and',
    'or',
    'not',
    'len',
    'index',
    'slice',
    'print',
    'printf',
    'println',
    'html',
    'js',
    'urlquery',
    'getv',
    'gets',
    'ls',
    'lsdir',
    'exists',
    'json',
    'jsonArray',
    'seq',
    'add',
    'sub',
    'mul',
    'div',
    'mod',
    'split',
    'join',
    'toUpper',
    'replace',
    'map',
    'atoi',
    'base64Encode',
    'base64Decode',
    'reverse',
    'sortByLength',
    'contains',
    'base',
    'dir',
    'compareIP',
  );
  const atom = fc.constantFrom(
    '.',
    '.a',
    '.l',
    '.m',
    '.f',
    '.n',
    '.s',
    '.nested.inner',
    '$',
    '$.l',
    '1',
    '-1',
    '0',
    '2.5',
    '1.0',
    '1e3',
    '0x10',
    "'x'",
    'true',
    'false',
    'nil',
    '"/a"',
    '"/b/*"',
    '"%d|%s|%v|%x|%q|%8.3f|%-5d|%T"',
    '"a,b"',
    '","',
    '"3"',
    '1000000',
  );
  const exprArb: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      atom,
      fc.tuple(fn, fc.array(tie('e'), { maxLength: 3 })).map(([f, a]) => `(${[f, ...a].join(' ')})`),
    ),
  })).e;
  const pipeArb = fc.oneof(
    exprArb,
    fc.tuple(fn, fc.array(exprArb, { maxLength: 3 })).map(([f, a]) => [f, ...a].join(' ')),
    fc.tuple(exprArb, fn).map(([e, f]) => `${e} | ${f}`),
  );
  const bodyArb: fc.Arbitrary<string> = fc.letrec<{ b: string }>((tie) => ({
    b: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      fc.constantFrom('x', ' ', '\n'),
      pipeArb.map((p) => `{{${p}}}`),
      fc.tuple(pipeArb, tie('b'), tie('b')).map(([p, a, b]) => `{{if ${p}}}${a}{{else}}${b}{{end}}`),
      fc.tuple(pipeArb, tie('b')).map(([p, a]) => `{{range $i, $v := ${p}}}${a}{{$v}}{{end}}`),
      fc.tuple(pipeArb, tie('b')).map(([p, a]) => `{{with ${p}}}${a}{{end}}`),
      pipeArb.map((p) => `{{template "sub" ${p}}}`),
      fc.array(tie('b'), { maxLength: 3 }).map((a) => a.join('')),
    ),
  })).b;
  const wellFormed = fc
    .tuple(bodyArb, bodyArb)
    .map(([main, sub]) => `${main}{{define "sub"}}${sub.replaceAll('{{template "sub"', '{{template "sub2"')}{{end}}`);

  it('any text and data give a rendering or a template error with a position (property)', () => {
    fc.assert(
      fc.property(fc.oneof(textArb, wellFormed), dataArb, (text, data) => {
        const t = new Template('t', { funcs, limits: { maxSteps: 20_000, maxOutput: 200_000 } });
        try {
          t.parse(text);
        } catch (e) {
          expect(e).toBeInstanceOf(TemplateParseError);
          expect((e as TemplateParseError).line).toBeGreaterThanOrEqual(1);
          expect((e as Error).message).toMatch(/^template: t:\d+: /);
          return;
        }
        try {
          const out = t.execute(data);
          expect(typeof out).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(TemplateExecError);
          const err = e as TemplateExecError;
          expect(err.line).toBeGreaterThanOrEqual(1);
          expect(err.message).toMatch(/^template: t:\d+:\d+: executing "/);
          expect(err.message.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 10000 },
    );
  });
});
