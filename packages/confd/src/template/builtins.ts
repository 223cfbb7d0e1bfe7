// Go text/template's predefined functions (and, or are evaluated lazily by the executor; they
// appear here so that the parser knows them).

import { checkArgs } from './errors.js';
import type { TemplateFunction } from './exec.js';
import { formatV, sprint, sprintf, sprintln } from './format.js';
import {
  byteLength,
  Float64,
  goTypeName,
  isAscii,
  isMapLike,
  isNil,
  isTrue,
  mapGet,
  mapSize,
  plain,
} from './values.js';

// Comparison as Go's text/template funcs.go does it: values have a basic kind (bool, int,
// float, string; uint and complex do not arise here), and only values of one kind compare:
// `eq 1 1.5`, `lt 1 3.5` and `eq 1 1.0` are "incompatible types for comparison". Other values
// (nil, lists, maps, functions, objects) have no basic kind: `eq` compares them as Go compares
// interface values, `lt` refuses them.
const Kind = { Invalid: 0, Bool: 1, Int: 2, Float: 3, String: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

function basicKind(v: unknown): Kind {
  switch (typeof v) {
    case 'boolean':
      return Kind.Bool;
    case 'number':
      return Number.isInteger(v) ? Kind.Int : Kind.Float;
    case 'bigint':
      return Kind.Int;
    case 'string':
      return Kind.String;
    default:
      return v instanceof Float64 ? Kind.Float : Kind.Invalid;
  }
}

/** Go's reflect kind, as far as comparing values of no basic kind needs it. */
function reflectKind(v: unknown): string {
  if (isNil(v)) return 'invalid';
  if (typeof v === 'function') return 'func';
  if (Array.isArray(v) || v instanceof Uint8Array) return 'slice';
  if (isMapLike(v)) return 'map';
  return 'ptr';
}

/** Strings compare as Go's do: by UTF-8 bytes, which is code point order (not UTF-16 units). */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/** Go's `eq`: true when arg1 equals any of the others. */
export function eq(...args: unknown[]): boolean {
  checkArgs('eq', args, 1, -1);
  const [a, ...rest] = args;
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      // A missing value (nil) is unequal to anything of a kind; two values of different kinds are an error.
      if (!isNil(a) && !isNil(b)) throw new Error('incompatible types for comparison');
    } else if (k1 !== Kind.Invalid) {
      truth = k1 === Kind.String ? a === b : Number(a) === Number(b);
      if (k1 === Kind.Bool) truth = a === b;
    } else {
      const r1 = reflectKind(a);
      const r2 = reflectKind(b);
      if (r1 !== r2 && r1 !== 'invalid' && r2 !== 'invalid') {
        throw new Error(`non-comparable types ${formatV(a)}: ${goTypeName(a)}, ${goTypeName(b)}: ${formatV(b)}`);
      }
      if (isNil(a) || isNil(b)) truth = isNil(a) === isNil(b);
      else if (r2 !== 'ptr') throw new Error(`non-comparable type ${formatV(b)}: ${goTypeName(b)}`);
      else truth = a === b;
    }
    if (truth) return true;
  }
  return false;
}

/** Go's `lt`; `le`, `gt`, `ge` are built from it and `eq`, as in Go. */
function lessThan(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === Kind.Invalid || k2 === Kind.Invalid) throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  if (k1 === Kind.Bool) throw new Error('invalid type for comparison');
  if (k1 === Kind.String) return compareStrings(a as string, b as string) < 0;
  return Number(a) < Number(b);
}

function lessOrEqual(a: unknown, b: unknown): boolean {
  return lessThan(a, b) || eq(a, b);
}

function toIndex(v: unknown, cap: number, allowEqual: boolean): number {
  if (typeof v !== 'number' || !Number.isInteger(v))
    throw new Error(`cannot index slice/array with type ${goTypeName(v)}`);
  if (v < 0 || v > cap || (!allowEqual && v === cap)) throw new Error(`index out of range: ${v}`);
  return v;
}

/** Go's `index`: index x 1 2 is x[1][2]; a missing map key gives nil. */
export function index(...args: unknown[]): unknown {
  checkArgs('index', args, 1, -1);
  let item = args[0];
  if (isNil(item)) throw new Error('index of untyped nil');
  for (const ix of args.slice(1)) {
    if (isNil(item)) throw new Error('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = isAscii(item) ? null : Buffer.from(item, 'utf8');
      const len = bytes ? bytes.length : item.length;
      const i = toIndex(ix, len, false);
      item = bytes ? bytes[i] : item.charCodeAt(i);
    } else if (Array.isArray(item) || item instanceof Uint8Array) {
      item = item[toIndex(ix, item.length, false)];
    } else if (isMapLike(item)) {
      if (!(item instanceof Map) && typeof ix !== 'string') {
        throw new Error(`value has type ${goTypeName(ix)}; should be string`);
      }
      item = mapGet(item, ix).value;
    } else {
      throw new Error(`can't index item of type ${goTypeName(item)}`);
    }
  }
  return item;
}

/** Go's `slice`: slice x 1 2 is x[1:2]; three indexes are allowed on lists only. */
export function slice(...args: unknown[]): unknown {
  checkArgs('slice', args, 1, -1);
  const [item, ...idx] = args;
  if (isNil(item)) throw new Error('slice of untyped nil');
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (idx.length === 3) throw new Error('cannot 3-index slice a string');
    len = byteLength(item);
  } else if (Array.isArray(item) || item instanceof Uint8Array) len = item.length;
  else throw new Error(`can't slice item of type ${goTypeName(item)}`);
  const cap = len;
  const ix = [0, len];
  idx.forEach((v, i) => {
    ix[i] = toIndex(v, cap, true);
  });
  const lo = ix[0]!;
  const hi = ix[1]!;
  if (lo > hi) throw new Error(`invalid slice index: ${lo} > ${hi}`);
  if (idx.length === 3 && hi > (ix[2] ?? cap)) throw new Error(`invalid slice index: ${hi} > ${ix[2]}`);
  if (typeof item === 'string') {
    return isAscii(item) ? item.slice(lo, hi) : Buffer.from(item, 'utf8').subarray(lo, hi).toString('utf8');
  }
  return item.slice(lo, hi);
}

/** Go's `len`: bytes of a string, elements of a list, entries of a map. */
export function len(...args: unknown[]): number {
  checkArgs('len', args, 1);
  const v = args[0];
  if (typeof v === 'string') return byteLength(v);
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length;
  if (isMapLike(v)) return mapSize(v);
  if (isNil(v)) throw new Error('len of nil pointer');
  throw new Error(`len of type ${goTypeName(v)}`);
}

function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args);
}

const HTML_ESCAPES: Record<string, string> = {
  '"': '&#34;',
  "'": '&#39;',
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '\0': '\uFFFD',
};

/** Go's template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/["'&<>\0]/g, (c) => HTML_ESCAPES[c]!);
}

/** Go's template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case "'":
        out += "\\'";
        break;
      case '"':
        out += '\\"';
        break;
      case '<':
        out += '\\u003C';
        break;
      case '>':
        out += '\\u003E';
        break;
      case '&':
        out += '\\u0026';
        break;
      case '=':
        out += '\\u003D';
        break;
      default: {
        const cp = ch.codePointAt(0)!;
        if (cp < 0x20 || (cp >= 0x7f && /[\p{C}]/u.test(ch))) {
          out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
        } else out += ch;
      }
    }
  }
  return out;
}

/** Go's url.QueryEscape. */
export function urlQueryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The predefined functions every template sees, by name. */
export const BUILTINS: Readonly<Record<string, TemplateFunction>> = {
  and: () => undefined,
  or: () => undefined,
  not: (...a: unknown[]) => {
    checkArgs('not', a, 1);
    return !isTrue(a[0]);
  },
  len,
  index,
  slice,
  print: (...a: unknown[]) => sprint(a),
  printf: (...a: unknown[]) => {
    checkArgs('printf', a, 1, -1);
    if (typeof a[0] !== 'string') throw new Error(`format must be a string, not ${goTypeName(a[0])}`);
    return sprintf(a[0], a.slice(1));
  },
  println: (...a: unknown[]) => sprintln(a),
  eq,
  ne: (...a: unknown[]) => {
    checkArgs('ne', a, 2);
    return !eq(a[0], a[1]);
  },
  lt: (...a: unknown[]) => {
    checkArgs('lt', a, 2);
    return lessThan(a[0], a[1]);
  },
  le: (...a: unknown[]) => {
    checkArgs('le', a, 2);
    return lessOrEqual(a[0], a[1]);
  },
  gt: (...a: unknown[]) => {
    checkArgs('gt', a, 2);
    return !lessOrEqual(a[0], a[1]);
  },
  ge: (...a: unknown[]) => {
    checkArgs('ge', a, 2);
    return !lessThan(a[0], a[1]);
  },
  html: (...a: unknown[]) => htmlEscape(evalArgs(a)),
  js: (...a: unknown[]) => jsEscape(evalArgs(a)),
  urlquery: (...a: unknown[]) => urlQueryEscape(evalArgs(a)),
  call: (...a: unknown[]) => {
    checkArgs('call', a, 1, -1);
    const [fn, ...rest] = a;
    if (isNil(fn)) throw new Error('call of nil');
    if (typeof fn !== 'function') throw new Error(`non-function of type ${goTypeName(fn)}`);
    return fn(...rest.map(plain));
  },
};
