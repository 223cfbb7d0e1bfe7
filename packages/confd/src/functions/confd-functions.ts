import { existsSync } from 'node:fs';
import { checkArgs } from '../template/errors.js';
import type { TemplateFunction } from '../template/exec.js';
import { isMapLike } from '../template/values.js';
import { compareIP } from './ip.js';
import { KeyNotFoundError, type KeyStore, KVPair } from './key-store.js';

/** What confd's functions read besides the key store. */
export interface ConfdFunctionContext {
  /** The key snapshot being rendered; replaced before every render. */
  store(): KeyStore;
  /** Environment for `getenv` (injected so rendering is deterministic in tests). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Clock for `datetime`. */
  readonly now: () => Date;
}

/** A Go time.Time stand-in returned by `datetime`: prints as Go does, offers Format and Unix. */
export class GoTime {
  constructor(readonly date: Date) {}
  Unix(): number {
    return Math.floor(this.date.getTime() / 1000);
  }
  /** Go reference-layout formatting (UTC): 2006 01 02 15 04 05 Jan Mon MST Z07:00. */
  Format(layout: string): string {
    const d = this.date;
    const p2 = (n: number) => String(n).padStart(2, '0');
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
    const tokens: Array<[string, () => string]> = [
      ['2006', () => String(d.getUTCFullYear())],
      ['Z07:00', () => 'Z'],
      ['-0700', () => '+0000'],
      ['MST', () => 'UTC'],
      ['Jan', () => months[d.getUTCMonth()]!],
      ['Mon', () => days[d.getUTCDay()]!],
      ['01', () => p2(d.getUTCMonth() + 1)],
      ['02', () => p2(d.getUTCDate())],
      ['15', () => p2(d.getUTCHours())],
      ['04', () => p2(d.getUTCMinutes())],
      ['05', () => p2(d.getUTCSeconds())],
    ];
    let out = '';
    outer: for (let i = 0; i < layout.length; ) {
      for (const [tok, f] of tokens) {
        if (layout.startsWith(tok, i)) {
          out += f();
          i += tok.length;
          continue outer;
        }
      }
      out += layout[i++];
    }
    return out;
  }
  toString(): string {
    return this.Format('2006-01-02 15:04:05 -0700 MST');
  }
}

function str(name: string, v: unknown): string {
  if (typeof v !== 'string') throw new Error(`${name}: expected a string, got ${v === undefined ? 'nil' : typeof v}`);
  return v;
}

function int(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${name}: expected an integer`);
  return v;
}

function arith(name: string, a: unknown[], op: (x: number, y: number) => number): number {
  checkArgs(name, a, 2);
  return op(int(name, a[0]), int(name, a[1]));
}

function goBase(p: string): string {
  if (p === '') return '.';
  const t = p.replace(/\/+$/, '');
  if (t === '') return '/';
  return t.slice(t.lastIndexOf('/') + 1);
}

function goDir(p: string): string {
  const i = p.lastIndexOf('/');
  const d = p.slice(0, i + 1);
  return cleanPath(d === '' ? '.' : d);
}

function cleanPath(p: string): string {
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

/** Go's strings.Replace: n < 0 replaces all. */
function goReplace(s: string, old: string, repl: string, n: number): string {
  if (n < 0) return s.replaceAll(old, repl);
  let out = s;
  let from = 0;
  for (let i = 0; i < n; i++) {
    const at = old === '' ? from : out.indexOf(old, from);
    if (at < 0 || at > out.length) break;
    out = out.slice(0, at) + repl + out.slice(at + old.length);
    from = at + repl.length + (old === '' ? 1 : 0);
  }
  return out;
}

/**
 * confd's template functions, reading keys (relative to the resource prefix) from the context's
 * store, plus confd's extras (`atoi`, `seq`, `add`, `sub`, `mul`, `div`, `mod`, `reverse`,
 * `sortByLength`, `sortKVByLength`, `parseBool`, `trimSuffix`, `fileExists`; not the DNS
 * lookups). Also Tabby's `compareIP a b` (-1, 0, 1 by numeric address), used by the BIRD template.
 */
/** The longest list `seq` makes. */
const SEQ_MAX = 1_000_000;

export function createConfdFunctions(ctx: ConfdFunctionContext): Record<string, TemplateFunction> {
  return {
    get: (...a: unknown[]) => {
      checkArgs('get', a, 1);
      return ctx.store().get(str('get', a[0]));
    },
    gets: (...a: unknown[]) => {
      checkArgs('gets', a, 1);
      return ctx.store().getAll(str('gets', a[0]));
    },
    getv: (...a: unknown[]) => {
      checkArgs('getv', a, 1, 2);
      const key = str('getv', a[0]);
      const v = ctx.store().getValue(key);
      if (v !== undefined) return v;
      if (a.length === 2) return a[1];
      throw new KeyNotFoundError(key);
    },
    getvs: (...a: unknown[]) => {
      checkArgs('getvs', a, 1);
      return ctx.store().getAllValues(str('getvs', a[0]));
    },
    ls: (...a: unknown[]) => {
      checkArgs('ls', a, 1);
      return ctx.store().list(str('ls', a[0]));
    },
    lsdir: (...a: unknown[]) => {
      checkArgs('lsdir', a, 1);
      return ctx.store().list(str('lsdir', a[0]), true);
    },
    exists: (...a: unknown[]) => {
      checkArgs('exists', a, 1);
      return ctx.store().exists(str('exists', a[0]));
    },
    json: (...a: unknown[]) => {
      checkArgs('json', a, 1);
      const v: unknown = JSON.parse(str('json', a[0]));
      if (!isMapLike(v)) throw new Error('json: value is not a JSON object');
      return v;
    },
    jsonArray: (...a: unknown[]) => {
      checkArgs('jsonArray', a, 1);
      const v: unknown = JSON.parse(str('jsonArray', a[0]));
      if (!Array.isArray(v)) throw new Error('jsonArray: value is not a JSON array');
      return v;
    },
    base: (...a: unknown[]) => {
      checkArgs('base', a, 1);
      return goBase(str('base', a[0]));
    },
    dir: (...a: unknown[]) => {
      checkArgs('dir', a, 1);
      return goDir(str('dir', a[0]));
    },
    split: (...a: unknown[]) => {
      checkArgs('split', a, 2);
      const s = str('split', a[0]);
      const sep = str('split', a[1]);
      if (sep === '') return [...s];
      return s.split(sep);
    },
    join: (...a: unknown[]) => {
      checkArgs('join', a, 2);
      if (!Array.isArray(a[0])) throw new Error('join: expected a list of strings');
      return a[0].map((x) => str('join', x)).join(str('join', a[1]));
    },
    toUpper: (...a: unknown[]) => {
      checkArgs('toUpper', a, 1);
      return str('toUpper', a[0]).toUpperCase();
    },
    toLower: (...a: unknown[]) => {
      checkArgs('toLower', a, 1);
      return str('toLower', a[0]).toLowerCase();
    },
    contains: (...a: unknown[]) => {
      checkArgs('contains', a, 2);
      return str('contains', a[0]).includes(str('contains', a[1]));
    },
    replace: (...a: unknown[]) => {
      checkArgs('replace', a, 4);
      if (typeof a[3] !== 'number' || !Number.isInteger(a[3])) throw new Error('replace: n must be an integer');
      return goReplace(str('replace', a[0]), str('replace', a[1]), str('replace', a[2]), a[3]);
    },
    hasPrefix: (...a: unknown[]) => {
      checkArgs('hasPrefix', a, 2);
      return str('hasPrefix', a[0]).startsWith(str('hasPrefix', a[1]));
    },
    hasSuffix: (...a: unknown[]) => {
      checkArgs('hasSuffix', a, 2);
      return str('hasSuffix', a[0]).endsWith(str('hasSuffix', a[1]));
    },
    trimSuffix: (...a: unknown[]) => {
      checkArgs('trimSuffix', a, 2);
      const s = str('trimSuffix', a[0]);
      const suf = str('trimSuffix', a[1]);
      return suf && s.endsWith(suf) ? s.slice(0, -suf.length) : s;
    },
    map: (...a: unknown[]) => {
      if (a.length % 2 !== 0) throw new Error('invalid map call');
      const m: Record<string, unknown> = {};
      for (let i = 0; i < a.length; i += 2) {
        if (typeof a[i] !== 'string') throw new Error('map keys must be strings');
        m[a[i] as string] = a[i + 1];
      }
      return m;
    },
    getenv: (...a: unknown[]) => {
      checkArgs('getenv', a, 1, 2);
      const v = ctx.env[str('getenv', a[0])];
      if (v !== undefined && v !== '') return v;
      return a.length === 2 ? a[1] : '';
    },
    base64Encode: (...a: unknown[]) => {
      checkArgs('base64Encode', a, 1);
      return Buffer.from(str('base64Encode', a[0]), 'utf8').toString('base64');
    },
    base64Decode: (...a: unknown[]) => {
      checkArgs('base64Decode', a, 1);
      const s = str('base64Decode', a[0]);
      if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(s)) {
        throw new Error('illegal base64 data');
      }
      return Buffer.from(s, 'base64').toString('utf8');
    },
    datetime: (...a: unknown[]) => {
      checkArgs('datetime', a, 0);
      return new GoTime(ctx.now());
    },
    atoi: (...a: unknown[]) => {
      checkArgs('atoi', a, 1);
      const s = str('atoi', a[0]);
      if (!/^[+-]?\d+$/.test(s)) throw new Error(`strconv.Atoi: parsing ${JSON.stringify(s)}: invalid syntax`);
      return Number(s);
    },
    parseBool: (...a: unknown[]) => {
      checkArgs('parseBool', a, 1);
      const s = str('parseBool', a[0]);
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
      throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
    },
    seq: (...a: unknown[]) => {
      checkArgs('seq', a, 2);
      const [first, last] = a.map((x) => int('seq', x)) as [number, number];
      // A list is built whole before anything can stop it: bound it (templates range over nodes, not millions).
      if (last - first >= SEQ_MAX) throw new Error(`seq: at most ${SEQ_MAX} numbers, asked for ${last - first + 1}`);
      const out: number[] = [];
      for (let i = first; i <= last; i++) out.push(i);
      return out;
    },
    add: (...a: unknown[]) => arith('add', a, (x, y) => x + y),
    sub: (...a: unknown[]) => arith('sub', a, (x, y) => x - y),
    mul: (...a: unknown[]) => arith('mul', a, (x, y) => x * y),
    div: (...a: unknown[]) =>
      arith('div', a, (x, y) => {
        if (y === 0) throw new Error('integer divide by zero');
        return Math.trunc(x / y);
      }),
    mod: (...a: unknown[]) =>
      arith('mod', a, (x, y) => {
        if (y === 0) throw new Error('integer divide by zero');
        return x % y;
      }),
    reverse: (...a: unknown[]) => {
      checkArgs('reverse', a, 1);
      if (!Array.isArray(a[0])) throw new Error('reverse: expected a list');
      return [...a[0]].reverse();
    },
    sortByLength: (...a: unknown[]) => {
      checkArgs('sortByLength', a, 1);
      if (!Array.isArray(a[0])) throw new Error('sortByLength: expected a list of strings');
      return a[0]
        .map((x) => str('sortByLength', x))
        .sort((x, y) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0));
    },
    sortKVByLength: (...a: unknown[]) => {
      checkArgs('sortKVByLength', a, 1);
      if (!Array.isArray(a[0]) || !a[0].every((p) => p instanceof KVPair)) {
        throw new Error('sortKVByLength: expected a list of key/value pairs');
      }
      return [...(a[0] as KVPair[])].sort((x, y) => x.Key.length - y.Key.length || (x.Key < y.Key ? -1 : 1));
    },
    fileExists: (...a: unknown[]) => {
      checkArgs('fileExists', a, 1);
      return existsSync(str('fileExists', a[0]));
    },
    compareIP: (...a: unknown[]) => {
      checkArgs('compareIP', a, 2);
      return compareIP(str('compareIP', a[0]), str('compareIP', a[1]));
    },
  };
}
