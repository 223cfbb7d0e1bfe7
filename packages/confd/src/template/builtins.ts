// Go text/template's predefined functions (and, or are evaluated lazily by the executor; they
// appear here so that the parser knows them).

import { checkArgs } from './errors.js';
import type { TemplateFunction } from './exec.js';
import { formatV, sprint, sprintf, sprintln } from './format.js';
import { byteLength, goTypeName, isAscii, isMapLike, isNil, isTrue, mapGet, mapSize } from './values.js';

const Kind = { Invalid: 0, Bool: 1, Number: 2, String: 3, Other: 4 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

function kindOf(v: unknown): Kind {
  if (isNil(v)) return Kind.Invalid;
  switch (typeof v) {
    case 'boolean':
      return Kind.Bool;
    case 'number':
    case 'bigint':
      return Kind.Number;
    case 'string':
      return Kind.String;
    default:
      return Kind.Other;
  }
}

/** Go's `eq`: true when arg1 equals any of the others. */
export function eq(...args: unknown[]): boolean {
  checkArgs('eq', args, 1, -1);
  const [a, ...rest] = args;
  if (rest.length === 0) throw new Error('missing argument for comparison');
  const k1 = kindOf(a);
  for (const b of rest) {
    const k2 = kindOf(b);
    if (k1 !== k2) {
      if (k1 !== Kind.Invalid && k2 !== Kind.Invalid) throw new Error('incompatible types for comparison');
      continue;
    }
    if (k1 === Kind.Other) {
      if (Array.isArray(a) || isMapLike(a) || Array.isArray(b) || isMapLike(b)) {
        throw new Error(`non-comparable type ${formatV(a)}: ${goTypeName(a)}`);
      }
    }
    if (k1 === Kind.Invalid || a === b || (k1 === Kind.Number && Number(a) === Number(b))) return true;
  }
  return false;
}

function lessThan(name: string, args: unknown[]): boolean {
  checkArgs(name, args, 2);
  const [a, b] = args;
  const k1 = kindOf(a);
  const k2 = kindOf(b);
  if (k1 !== Kind.Number && k1 !== Kind.String) throw new Error('invalid type for comparison');
  if (k1 !== k2) throw new Error('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
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
  lt: (...a: unknown[]) => lessThan('lt', a),
  le: (...a: unknown[]) => {
    checkArgs('le', a, 2);
    return lessThan('le', a) || eq(a[0], a[1]);
  },
  gt: (...a: unknown[]) => {
    checkArgs('gt', a, 2);
    return !(lessThan('gt', a) || eq(a[0], a[1]));
  },
  ge: (...a: unknown[]) => !lessThan('ge', a),
  html: (...a: unknown[]) => htmlEscape(evalArgs(a)),
  js: (...a: unknown[]) => jsEscape(evalArgs(a)),
  urlquery: (...a: unknown[]) => urlQueryEscape(evalArgs(a)),
  call: (...a: unknown[]) => {
    checkArgs('call', a, 1, -1);
    const [fn, ...rest] = a;
    if (isNil(fn)) throw new Error('call of nil');
    if (typeof fn !== 'function') throw new Error(`non-function of type ${goTypeName(fn)}`);
    return fn(...rest);
  },
};
