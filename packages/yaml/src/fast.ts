// A fast reader for the plain block YAML that manifests and configs are made of, about ten times
// faster than composing a yaml library Document: `key: value` mappings, `- item` sequences
// (compact `- key: value` too), single-line plain and quoted scalars, and one-line flow
// collections, nested or not, as values and as sequence items (`- { name: a, families: [x] }`).
// Anything else (anchors, tags, block scalars, multi-line scalars and flow collections, tabs,
// duplicate keys, anything the yaml library would warn or fail about) makes it decline, and the
// document is read by the yaml library instead. Its results
// equal the yaml library's (core schema, string keys): a differential property test checks it.

/** Thrown inside the reader to decline; never escapes `fastParse`. */
const DECLINE = Symbol('decline');

interface Line {
  indent: number;
  /** Content after the indentation, without a trailing comment or trailing spaces. */
  text: string;
}

const NULL_RE = /^(?:~|[Nn]ull|NULL)?$/;
const BOOL_RE = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const INT_RE = /^[-+]?[0-9]+$/;
const OCT_RE = /^0o[0-7]+$/;
const HEX_RE = /^0x[0-9a-fA-F]+$/;
const FLOAT_EXP_RE = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT_RE = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;
const INF_NAN_RE = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
/** Characters YAML does not allow, or reads in ways best left to the library: control and
 * non-characters, a BOM, a CR that does not end a line, lone surrogates. */
const ODD_CHARS =
  /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\uFEFF\uFFFE\uFFFF]|\r(?!\n)|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Characters that may not start a plain scalar here (indicators); `-?:` are checked apart. */
const BAD_START = new Set([...',[]{}#&*!|>\'"%@`']);

/** Without leading and trailing spaces (only U+0020: YAML does not trim what JavaScript's trim does). */
function trimSpaces(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && s.charCodeAt(a) === 32) a++;
  while (b > a && s.charCodeAt(b - 1) === 32) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** A plain scalar's value under the core schema. */
function plainValue(s: string): unknown {
  const c = s.charCodeAt(0);
  // Only these can start a non-string: digits, + - . ~ n N t T f F and the empty string.
  if (s === '' || NULL_RE.test(s)) return null;
  if ((c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46) {
    if (INT_RE.test(s)) return Number.parseInt(s, 10);
    if (OCT_RE.test(s)) return Number.parseInt(s.slice(2), 8);
    if (HEX_RE.test(s)) return Number.parseInt(s.slice(2), 16);
    if (FLOAT_EXP_RE.test(s) || FLOAT_RE.test(s)) return Number.parseFloat(s);
    if (INF_NAN_RE.test(s))
      return s.slice(-3).toLowerCase() === 'nan' ? Number.NaN : s[0] === '-' ? -Infinity : Infinity;
    return s;
  }
  if (BOOL_RE.test(s)) return s[0] === 't' || s[0] === 'T';
  return s;
}

/** A plain scalar that the yaml library reads the same way in block context, on one line. */
function checkPlain(s: string, flow: boolean): void {
  if (s === '') throw DECLINE;
  const c = s[0] as string;
  if (BAD_START.has(c)) throw DECLINE;
  if ((c === '-' || c === '?' || c === ':') && (s.length === 1 || s[1] === ' ')) throw DECLINE;
  // `: ` would make a mapping, ` #` a comment, a tab is not ours to judge; flow indicators end
  // a plain scalar inside a flow collection.
  if (s.includes(': ') || s.includes(' #') || s.includes('\t') || s.endsWith(':')) throw DECLINE;
  if (flow && /[,[\]{}]/.test(s)) throw DECLINE;
}

const ESCAPES: Record<string, string> = { '\\': '\\', '"': '"', '/': '/', n: '\n', t: '\t', r: '\r', '0': '\0' };

/** A quoted scalar starting at `s[0]`; returns its value and the index after it. */
function quoted(s: string, from: number): [string, number] {
  const q = s[from];
  let out = '';
  let i = from + 1;
  for (;;) {
    const j = q === "'" ? s.indexOf("'", i) : s.slice(i).search(/["\\]/) + i;
    if (j < i) throw DECLINE;
    out += s.slice(i, j);
    if (q === "'") {
      if (s[j + 1] === "'") {
        out += "'";
        i = j + 2;
        continue;
      }
      return [out, j + 1];
    }
    if (s[j] === '"') return [out, j + 1];
    const e = s[j + 1] as string;
    if (e in ESCAPES) {
      out += ESCAPES[e];
      i = j + 2;
    } else if (e === 'x' || e === 'u') {
      const n = e === 'x' ? 2 : 4;
      const hex = s.slice(j + 2, j + 2 + n);
      if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw DECLINE;
      const code = Number.parseInt(hex, 16);
      if (code >= 0xd800 && code <= 0xdfff) throw DECLINE;
      out += String.fromCharCode(code);
      i = j + 2 + n;
    } else throw DECLINE;
  }
}

/** Control characters other than tab: escaped in real files, left to the library when quoted raw. */
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/;

/** A quoted scalar that must be all of `s`. */
function wholeQuoted(s: string): string {
  const [v, end] = quoted(s, 0);
  if (end !== s.length) throw DECLINE;
  if (CONTROL.test(s)) throw DECLINE;
  return v;
}

/** A scalar or a one-line flow collection, as a value at nesting `depth`. */
function inlineValue(s: string, depth: number, maxDepth: number): unknown {
  const c = s[0];
  if (c === '"' || c === "'") return wholeQuoted(s);
  if (c === '[' || c === '{') {
    const [v, end] = flowCollection(s, 0, depth, maxDepth);
    if (end !== s.length) throw DECLINE;
    return v;
  }
  checkPlain(s, false);
  return plainValue(s);
}

function skipSpaces(s: string, i: number): number {
  while (s.charCodeAt(i) === 32) i++;
  return i;
}

/** A quoted scalar inside a flow collection: its value and the index after it. */
function flowQuoted(s: string, from: number): [string, number] {
  const [v, end] = quoted(s, from);
  if (CONTROL.test(s.slice(from, end))) throw DECLINE;
  return [v, end];
}

/** An element of a flow collection at `s[i]`: a scalar or a nested flow collection. */
function flowItem(s: string, i: number, depth: number, maxDepth: number): [unknown, number] {
  const c = s[i];
  if (c === '[' || c === '{') return flowCollection(s, i, depth + 1, maxDepth);
  if (c === '"' || c === "'") return flowQuoted(s, i);
  // A plain scalar ends at a flow indicator; `checkPlain` declines the ones it may not hold.
  let j = i;
  while (j < s.length && s[j] !== ',' && s[j] !== ']' && s[j] !== '}') j++;
  const raw = trimSpaces(s.slice(i, j));
  checkPlain(raw, true);
  return [plainValue(raw), j];
}

/**
 * `[a, "b", [1, 2]]` or `{a: b, c: {d: 1}}` starting at `s[from]`, on one line: scalars and flow
 * collections, each `key: value` with a space. Returns the value and the index after it.
 */
function flowCollection(s: string, from: number, depth: number, maxDepth: number): [unknown, number] {
  if (depth > maxDepth) throw DECLINE;
  const seq = s[from] === '[';
  const close = seq ? ']' : '}';
  const items: unknown[] = [];
  const obj: Record<string, unknown> = {};
  let i = skipSpaces(s, from + 1);
  if (s[i] === close) return [seq ? items : obj, i + 1];
  for (;;) {
    if (seq) {
      const [v, j] = flowItem(s, i, depth, maxDepth);
      items.push(v);
      i = j;
    } else {
      let key: string;
      if (s[i] === '"' || s[i] === "'") {
        [key, i] = flowQuoted(s, i);
      } else {
        const colon = s.indexOf(': ', i);
        if (colon < 0) throw DECLINE;
        key = trimSpaces(s.slice(i, colon));
        checkPlain(key, true);
        i = colon;
      }
      if (s[i] !== ':' || s[i + 1] !== ' ') throw DECLINE;
      const [v, j] = flowItem(s, skipSpaces(s, i + 2), depth, maxDepth);
      setKey(obj, key, v);
      i = j;
    }
    i = skipSpaces(s, i);
    if (s[i] === close) return [seq ? items : obj, i + 1];
    // A trailing comma, or anything but a comma here, is left to the library.
    if (s[i] !== ',') throw DECLINE;
    i = skipSpaces(s, i + 1);
    if (s[i] === close) throw DECLINE;
  }
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (Object.hasOwn(obj, key)) throw DECLINE;
  // As the yaml library does: a key that names an inherited property (`__proto__`,
  // `constructor`) becomes an own property, never the prototype.
  if (key in obj) Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

/** Splits `key: rest` / `key:`; undefined when the line is not a mapping entry. */
function splitKey(text: string): [string, string] | undefined {
  let key: string;
  let after: number;
  if (text[0] === '"' || text[0] === "'") {
    let end: number;
    try {
      [key, end] = quoted(text, 0);
    } catch {
      return undefined;
    }
    if (CONTROL.test(text.slice(0, end))) throw DECLINE;
    if (text[end] !== ':') return undefined;
    after = end + 1;
  } else {
    const i = text.indexOf(': ');
    const colon = i >= 0 ? i : text.endsWith(':') ? text.length - 1 : -1;
    if (colon <= 0) return undefined;
    key = text.slice(0, colon);
    if (key.endsWith(' ')) throw DECLINE;
    checkPlain(key, false);
    after = colon + 1;
  }
  if (after < text.length && text[after] !== ' ') return undefined;
  if (key.length > 1024) throw DECLINE;
  return [key, trimSpaces(text.slice(after))];
}

const isSeqItem = (text: string) => text === '-' || text.startsWith('- ');

class Reader {
  private i = 0;
  constructor(
    private readonly lines: Line[],
    private readonly maxDepth: number,
  ) {}

  document(): unknown {
    if (!this.lines.length) return null;
    const first = this.lines[0]!;
    const v = this.node(first.indent, 1);
    if (this.i < this.lines.length) throw DECLINE;
    return v;
  }

  /** A block collection whose first line is the current one (at `indent`). */
  private node(indent: number, depth: number): unknown {
    if (depth > this.maxDepth) throw DECLINE;
    const line = this.lines[this.i]!;
    if (line.indent !== indent) throw DECLINE;
    if (isSeqItem(line.text)) return this.seq(indent, depth);
    if (splitKey(line.text)) return this.map(indent, depth);
    throw DECLINE;
  }

  /** Whatever follows an entry that ended its line (`key:`, `-`): a nested block, or null. */
  private nested(parent: number, depth: number, seqAtParent: boolean): unknown {
    const next = this.lines[this.i];
    if (next && next.indent > parent) return this.node(next.indent, depth);
    // `key:` followed by `- item` at the key's own indentation.
    if (seqAtParent && next && next.indent === parent && isSeqItem(next.text)) return this.seq(parent, depth, true);
    return null;
  }

  /** Replaces the current line by its content after a compact indicator (`- ` + text). */
  private compact(line: Line, skip: number): void {
    let j = skip;
    while (line.text[j] === ' ') j++;
    this.lines[this.i] = { indent: line.indent + j, text: line.text.slice(j) };
  }

  /** `atParent`: the sequence is a mapping value at its key's indentation; the mapping goes on after it. */
  private seq(indent: number, depth: number, atParent = false): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const line = this.lines[this.i];
      if (!line || line.indent !== indent || !isSeqItem(line.text)) break;
      if (line.text === '-') {
        this.i++;
        out.push(this.nested(indent, depth + 1, false));
        continue;
      }
      const rest = trimSpaces(line.text.slice(2));
      const flow = rest[0] === '[' || rest[0] === '{';
      if (!flow && (isSeqItem(rest) || splitKey(rest))) {
        this.compact(line, 2);
        out.push(this.node(this.lines[this.i]!.indent, depth + 1));
        continue;
      }
      out.push(inlineValue(rest, depth + 1, this.maxDepth));
      this.i++;
      this.endOfValue(indent);
    }
    if (atParent) this.endOfValue(indent);
    else this.endOfCollection(indent);
    return out;
  }

  private map(indent: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const line = this.lines[this.i];
      if (!line || line.indent !== indent || isSeqItem(line.text)) break;
      const kv = splitKey(line.text);
      if (!kv) throw DECLINE;
      const [key, rest] = kv;
      this.i++;
      if (rest === '') setKey(out, key, this.nested(indent, depth + 1, true));
      else {
        setKey(out, key, inlineValue(rest, depth + 1, this.maxDepth));
        this.endOfValue(indent);
      }
    }
    this.endOfCollection(indent);
    return out;
  }

  /** After a one-line value, a more indented line would continue it (multi-line scalar). */
  private endOfValue(indent: number): void {
    const next = this.lines[this.i];
    if (next && next.indent > indent) throw DECLINE;
  }

  /** A collection ends at a less indented line; anything else here is not ours. */
  private endOfCollection(indent: number): void {
    const next = this.lines[this.i];
    if (next && next.indent >= indent) throw DECLINE;
  }
}

/**
 * Reads one document's text (no `---` or `...` markers, no directives) the way the yaml library
 * would, or returns `undefined` when the text uses anything beyond the plain block subset.
 */
export function fastParse(text: string, maxDepth: number): { value: unknown } | undefined {
  if (ODD_CHARS.test(text)) return undefined;
  const lines: Line[] = [];
  let pos = 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    let raw = text.slice(pos, end);
    pos = end + 1;
    if (raw.endsWith('\r')) raw = raw.slice(0, -1);
    let indent = 0;
    while (raw.charCodeAt(indent) === 32) indent++;
    if (indent === raw.length) continue;
    let body = raw.slice(indent);
    if (body[0] === '#') continue;
    const c = body[0];
    // Comments: ` #` outside quotes. A quote on the line makes the simple cut unsafe.
    const hash = body.indexOf(' #');
    if (hash >= 0) {
      if (body.includes('"') || body.includes("'")) return undefined;
      body = body.slice(0, hash);
    }
    body = trimSpaces(body);
    if (body.includes('\t') || c === '\t' || c === '\uFEFF') return undefined;
    lines.push({ indent, text: body });
  }
  try {
    return { value: new Reader(lines, maxDepth).document() };
  } catch (e) {
    if (e === DECLINE) return undefined;
    throw e;
  }
}
