// How JavaScript values stand in for Go values inside templates.
//
// null and undefined are Go's nil; numbers are int when integral, else float64; plain objects
// and Maps are maps with string keys (iterated in sorted key order, as Go does); arrays are
// slices; functions are funcs (called as methods when reached through a field). A float
// constant of the template that has an integral value (`1.0`, `1e3`) is a Float64, so that it
// stays a float64 as in Go (`eq 1 1.0` is an error there).

/** A float64 whose value JavaScript would take for an int: a template constant such as `1.0`. */
export class Float64 {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

/** The JavaScript value for code outside the engine: a Float64 as its number. */
export function plain(v: unknown): unknown {
  return v instanceof Float64 ? v.value : v;
}

/** A plain object or Map: what a template treats as a Go map. */
export type MapLike = Record<string, unknown> | Map<unknown, unknown>;

export function isNil(v: unknown): v is null | undefined {
  return v === null || v === undefined;
}

export function isMapLike(v: unknown): v is MapLike {
  if (v instanceof Map) return true;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Map keys in Go's iteration order for templates: sorted (numbers numerically). */
export function sortedKeys(m: MapLike): unknown[] {
  const keys: unknown[] = m instanceof Map ? [...m.keys()] : Object.keys(m);
  return keys.sort(compareKeys);
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function mapGet(m: MapLike, key: unknown): { found: boolean; value: unknown } {
  if (m instanceof Map) return { found: m.has(key), value: m.get(key) };
  const k = String(key);
  if (Object.hasOwn(m, k)) return { found: true, value: m[k] };
  return { found: false, value: undefined };
}

export function mapSize(m: MapLike): number {
  return m instanceof Map ? m.size : Object.keys(m).length;
}

/** Go's truth: false, 0, nil, and empty strings, slices and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'bigint':
      return v !== 0n;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
    default:
      if (v instanceof Float64) return v.value !== 0;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof Uint8Array) return v.length > 0;
      if (isMapLike(v)) return mapSize(v) > 0;
      return true;
  }
}

/** The Go type name used in messages such as `%!d(string=x)`. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float64';
    case 'bigint':
      return 'int64';
    case 'string':
      return 'string';
    case 'function':
      return 'func';
    default:
      if (v instanceof Float64) return 'float64';
      if (Array.isArray(v)) return '[]interface {}';
      if (v instanceof Uint8Array) return '[]uint8';
      if (isMapLike(v)) return 'map[string]interface {}';
      return (v as object).constructor?.name ?? 'object';
  }
}

/** Length in UTF-8 bytes, as Go's len counts strings. */
export function byteLength(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}
