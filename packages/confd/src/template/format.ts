// A subset of Go's fmt package, enough for text/template's print, printf and println and for
// printing values into template output: verbs v s d q x X o b c t e E f F g G U T and %%, flags
// '-', '+', '#', '0', ' ', width and precision (also '*'), and argument indexes %[n]d. Bad
// verbs, missing and extra arguments print as Go prints them (`%!d(string=x)`, `%!s(MISSING)`,
// `%!(EXTRA int=1)`). Numbers print as int when integral and as float64 otherwise; as a
// deliberate leniency, the float verbs also accept integral numbers.

import { Float64, goTypeName, isMapLike, isNil, sortedKeys } from './values.js';

interface Spec {
  minus: boolean;
  plus: boolean;
  sharp: boolean;
  zero: boolean;
  space: boolean;
  width: number | undefined;
  prec: number | undefined;
}

const PLAIN: Spec = {
  minus: false,
  plus: false,
  sharp: false,
  zero: false,
  space: false,
  width: undefined,
  prec: undefined,
};

/** Go's fmt.Sprint: operands joined, with a space between two operands when neither is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a, 'v', PLAIN);
  }
  return out;
}

/** Go's fmt.Sprintln: operands joined by spaces, then a newline. */
export function sprintln(args: readonly unknown[]): string {
  return `${args.map((a) => formatValue(a, 'v', PLAIN)).join(' ')}\n`;
}

/** Go's %v of one value. */
export function formatV(v: unknown): string {
  return formatValue(v, 'v', PLAIN);
}

/** Go's fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  let i = 0;
  const n = format.length;
  while (i < n) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const spec: Spec = { ...PLAIN };
    // Flags.
    for (; i < n; i++) {
      const c = format[i];
      if (c === '-') {
        spec.minus = true;
        spec.zero = false;
      } else if (c === '+') spec.plus = true;
      else if (c === '#') spec.sharp = true;
      else if (c === '0') spec.zero = !spec.minus;
      else if (c === ' ') spec.space = true;
      else break;
    }
    // Argument index, width.
    let badIndex = false;
    const readIndex = () => {
      if (format[i] !== '[') return;
      reordered = true;
      const close = format.indexOf(']', i);
      const num = close < 0 ? Number.NaN : Number(format.slice(i + 1, close));
      if (!Number.isInteger(num) || num < 1) {
        badIndex = true;
        i = close < 0 ? n : close + 1;
        return;
      }
      argNum = num - 1;
      i = close + 1;
    };
    readIndex();
    // A number past a million, as a literal or an argument, is refused as Go's fmt refuses it
    // (a literal one consumes the rest of the format: %!(NOVERB)).
    const parseNum = (): number | undefined => {
      let num = 0;
      let seen = false;
      for (; i < n && format[i]! >= '0' && format[i]! <= '9'; i++) {
        if (num > 1e6) {
          i = n;
          return undefined;
        }
        num = num * 10 + (format.charCodeAt(i) - 48);
        seen = true;
      }
      return seen ? num : undefined;
    };
    if (format[i] === '*') {
      i++;
      const w = args[argNum++];
      if (typeof w === 'number' && Number.isInteger(w) && Math.abs(w) <= 1e6) {
        spec.width = Math.abs(w);
        if (w < 0) {
          spec.minus = true;
          spec.zero = false;
        }
      } else out += '%!(BADWIDTH)';
    } else spec.width = parseNum();
    if (format[i] === '.') {
      i++;
      readIndex();
      if (format[i] === '*') {
        i++;
        const p = args[argNum++];
        if (typeof p === 'number' && Number.isInteger(p) && p >= 0 && p <= 1e6) spec.prec = p;
        else out += '%!(BADPREC)';
      } else spec.prec = parseNum() ?? 0;
    }
    readIndex();
    if (i >= n) {
      out += '%!(NOVERB)';
      break;
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!);
    i += verb.length;
    if (verb === '%') {
      out += '%';
      continue;
    }
    if (badIndex) {
      out += `%!${verb}(BADINDEX)`;
      continue;
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`;
      continue;
    }
    out += formatValue(args[argNum++], verb, spec);
  }
  if (!reordered && argNum < args.length) {
    out += `%!(EXTRA ${args
      .slice(argNum)
      .map((a) => (isNil(a) ? '<nil>' : `${goTypeName(a)}=${formatV(a)}`))
      .join(', ')})`;
  }
  return out;
}

function badVerb(v: unknown, verb: string): string {
  if (isNil(v)) return `%!${verb}(<nil>)`;
  return `%!${verb}(${goTypeName(v)}=${formatV(v)})`;
}

function runeCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function pad(s: string, spec: Spec, zeroOk = false): string {
  if (spec.width === undefined) return s;
  const len = runeCount(s);
  if (len >= spec.width) return s;
  const fill = spec.width - len;
  if (spec.minus) return s + ' '.repeat(fill);
  if (spec.zero && zeroOk) {
    const sign = /^[+\- ]/.test(s) ? s[0]! : '';
    return sign + '0'.repeat(fill) + s.slice(sign.length);
  }
  return ' '.repeat(fill) + s;
}

function formatValue(v: unknown, verb: string, spec: Spec): string {
  if (verb === 'T') return pad(isNil(v) ? '<nil>' : goTypeName(v), spec);
  if (isNil(v)) return verb === 'v' ? pad('<nil>', spec) : badVerb(v, verb);
  if (v instanceof Float64) {
    if (verb === 'v') return formatFloat(v.value, 'g', spec, true);
    return 'eEfFgG'.includes(verb) ? formatFloat(v.value, verb, spec, false) : badVerb(v, verb);
  }
  switch (typeof v) {
    case 'boolean':
      return verb === 'v' || verb === 't' ? pad(String(v), spec) : badVerb(v, verb);
    case 'number':
      return formatNumber(v, verb, spec);
    case 'bigint':
      return formatNumber(Number(v), verb, spec);
    case 'string':
      return formatString(v, verb, spec);
    case 'function':
      return verb === 'v' || verb === 'p' ? pad('0x1', spec) : badVerb(v, verb);
  }
  if (Array.isArray(v)) return `[${v.map((e) => formatValue(e, verb, spec)).join(' ')}]`;
  if (v instanceof Uint8Array) {
    if (verb === 's' || verb === 'q' || verb === 'x' || verb === 'X')
      return formatString(Buffer.from(v).toString('latin1'), verb, spec);
    return `[${[...v].map((e) => formatValue(e, verb, spec)).join(' ')}]`;
  }
  if (isMapLike(v)) {
    const parts = sortedKeys(v).map((k) => {
      const val = v instanceof Map ? v.get(k) : (v as Record<string, unknown>)[String(k)];
      return `${formatValue(k, verb, spec)}:${formatValue(val, verb, spec)}`;
    });
    return `map[${parts.join(' ')}]`;
  }
  if (v instanceof Error) return formatString(v.message, verb === 'v' ? 's' : verb, spec);
  // Objects with their own toString act as Go Stringers.
  if (typeof (v as { toString?: unknown }).toString === 'function' && v.toString !== Object.prototype.toString) {
    return formatString(String(v), verb === 'v' ? 's' : verb, spec);
  }
  return pad(
    `{${Object.values(v as object)
      .map(formatV)
      .join(' ')}}`,
    spec,
  );
}

function formatString(s: string, verb: string, spec: Spec): string {
  switch (verb) {
    case 'v':
    case 's': {
      const t = spec.prec !== undefined ? [...s].slice(0, spec.prec).join('') : s;
      return pad(t, spec, true);
    }
    case 'q': {
      let t = spec.prec !== undefined ? [...s].slice(0, spec.prec).join('') : s;
      t = spec.sharp && canBackquote(t) ? `\`${t}\`` : quote(t, spec.plus);
      return pad(t, spec);
    }
    case 'x':
    case 'X': {
      let bytes = [...Buffer.from(s, 'utf8')];
      if (spec.prec !== undefined) bytes = bytes.slice(0, spec.prec);
      const prefix = spec.sharp ? (verb === 'x' ? '0x' : '0X') : '';
      const hex = bytes.map((b) => {
        const h = b.toString(16).padStart(2, '0');
        return verb === 'X' ? h.toUpperCase() : h;
      });
      const t = spec.space ? hex.map((h) => prefix + h).join(' ') : prefix + hex.join('');
      return pad(t, spec);
    }
    default:
      return badVerb(s, verb);
  }
}

function canBackquote(s: string): boolean {
  return !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s);
}

const NAMED_ESCAPES: Record<string, string> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
  '\\': '\\\\',
};

function escapeRune(ch: string, q: string, asciiOnly: boolean): string {
  if (ch === q) return `\\${q}`;
  const named = NAMED_ESCAPES[ch];
  if (named) return named;
  const cp = ch.codePointAt(0)!;
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  const printable = !/[\p{C}\p{Z}]/u.test(ch) || ch === ' ';
  if (printable && (!asciiOnly || cp < 0x80)) return ch;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, '0')}`;
  return `\\U${cp.toString(16).padStart(8, '0')}`;
}

/** Go's strconv.Quote (or QuoteToASCII). */
export function quote(s: string, asciiOnly = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"', asciiOnly);
  return `${out}"`;
}

function formatNumber(x: number, verb: string, spec: Spec): string {
  const integral = Number.isInteger(x);
  switch (verb) {
    case 'v':
      return integral ? formatInteger(x, 'd', spec) : formatFloat(x, 'g', spec, true);
    case 'd':
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X':
    case 'c':
    case 'q':
    case 'U':
      return integral ? formatInteger(x, verb, spec) : badVerb(x, verb);
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return formatFloat(x, verb, spec, false);
    default:
      return badVerb(x, verb);
  }
}

function formatInteger(x: number, verb: string, spec: Spec): string {
  if (verb === 'c') return pad(String.fromCodePoint(x), spec);
  if (verb === 'q') return pad(`'${escapeRune(String.fromCodePoint(x), "'", spec.plus)}'`, spec);
  if (verb === 'U') {
    const u = `U+${Math.abs(x).toString(16).toUpperCase().padStart(4, '0')}`;
    return pad(spec.sharp ? `${u} '${String.fromCodePoint(x)}'` : u, spec);
  }
  const neg = x < 0;
  const base = verb === 'b' ? 2 : verb === 'o' || verb === 'O' ? 8 : verb === 'x' || verb === 'X' ? 16 : 10;
  let digits = (neg ? -BigInt(x) : BigInt(x)).toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  if (spec.prec !== undefined) {
    if (spec.prec === 0 && x === 0) digits = '';
    digits = digits.padStart(spec.prec, '0');
  }
  let prefix = '';
  if (verb === 'O') prefix = '0o';
  else if (spec.sharp) {
    if (verb === 'x') prefix = '0x';
    else if (verb === 'X') prefix = '0X';
    else if (verb === 'b') prefix = '0b';
    else if (verb === 'o' && !digits.startsWith('0')) prefix = '0';
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  // Zero padding goes between the sign/prefix and the digits, and only without a precision.
  if (spec.zero && !spec.minus && spec.width !== undefined && spec.prec === undefined) {
    const len = sign.length + prefix.length + digits.length;
    if (len < spec.width) digits = '0'.repeat(spec.width - len) + digits;
  }
  return pad(sign + prefix + digits, spec);
}

function expForm(mant: string, exp: number, upper: boolean): string {
  const e = `${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  return mant + e;
}

/** Decimal digits (no dot) and exponent of x, shortest or with n significant digits. */
function digitsOf(x: number, sig?: number): { digits: string; exp: number } {
  const s = sig === undefined ? x.toExponential() : x.toExponential(sig - 1);
  const [m, e] = s.split('e') as [string, string];
  return { digits: m.replace('.', ''), exp: Number(e) };
}

function formatFloat(x: number, verb: string, spec: Spec, isV: boolean): string {
  const upper = verb === 'E' || verb === 'G';
  let body: string;
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  if (!Number.isFinite(x)) {
    body = Number.isNaN(x) ? 'NaN' : 'Inf';
    const sign = Number.isNaN(x) ? (spec.plus ? '+' : '') : neg ? '-' : spec.plus ? '+' : '';
    return pad(sign + body, { ...spec, zero: false });
  }
  switch (verb) {
    case 'f':
    case 'F':
      body = toFixedEven(a, spec.prec ?? 6);
      break;
    case 'e':
    case 'E': {
      const { digits, exp } = digitsOf(a, (spec.prec ?? 6) + 1);
      const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
      body = expForm(mant, exp, upper);
      break;
    }
    default: {
      // %g (and %v): shortest digits unless a precision is given; exponent form when the
      // exponent is below -4 or at least the precision (6 for shortest), as Go decides.
      const shortest = spec.prec === undefined || isV;
      const sig = shortest ? undefined : Math.max(spec.prec ?? 1, 1);
      let { digits, exp } = a === 0 ? { digits: '0', exp: 0 } : digitsOf(a, sig);
      if (!spec.sharp) digits = digits.replace(/(?<=.)0+$/, '');
      let eprec = shortest ? 6 : (sig as number);
      if (!shortest && eprec > digits.length && digits.length >= exp + 1) eprec = digits.length;
      if (exp < -4 || exp >= eprec) {
        const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
        body = expForm(mant, exp, upper);
      } else if (exp < 0) {
        body = `0.${'0'.repeat(-exp - 1)}${digits}`;
      } else if (digits.length <= exp + 1) {
        body = digits + '0'.repeat(exp + 1 - digits.length);
      } else {
        body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
      }
    }
  }
  const sign = neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
  return pad(sign + body, spec, true);
}

/** toFixed with Go's rounding: an exact tie rounds to even (JS rounds ties up). */
function toFixedEven(a: number, prec: number): string {
  const plain = a.toFixed(prec);
  if (prec + 25 > 100 || a >= 1e21) return plain;
  const exact = a.toFixed(Math.min(100, prec + 60));
  const dot = exact.indexOf('.');
  const cut = prec === 0 ? dot : dot + 1 + prec;
  const rest = exact.slice(cut + (prec === 0 ? 1 : 0));
  if (!/^50*$/.test(rest)) return plain;
  // Exact tie: truncate, then round up only if the last kept digit is odd.
  const truncated = exact.slice(0, cut);
  const last = Number(truncated[truncated.length - 1]);
  if (last % 2 === 0) return truncated;
  return plain;
}
