import type { KeyValue } from '../kv/key-value-source.js';

/** A key and its value as templates see them (`.Key`, `.Value`), like confd's memkv.KVPair. */
export class KVPair {
  constructor(
    readonly Key: string,
    readonly Value: string,
  ) {}
}

/** A key that `get` or `getv` asked for is absent. */
export class KeyNotFoundError extends Error {
  readonly code = 'CONFD_KEY_NOT_FOUND';
  constructor(readonly key: string) {
    super(`key does not exist: ${key}`);
    this.name = 'KeyNotFoundError';
  }
}

/** Converts a Go path.Match pattern to a regular expression (`*` and `?` stay within one segment). */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 1);
      if (close < 0) throw new Error(`syntax error in pattern: ${pattern}`);
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else if (c === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${re}$`);
}

/**
 * The snapshot a template renders from: keys relative to the resource's prefix, sorted. Plays
 * the part of confd's memkv store. Held as two parallel sorted arrays with binary search,
 * which builds several times faster than a Map for the ten thousand keys of a large cluster.
 */
export class KeyStore {
  private readonly keys: string[];
  private readonly values: string[];

  constructor(pairs: Iterable<KeyValue> = []) {
    const list = [...pairs].sort(byKey);
    this.keys = [];
    this.values = [];
    for (const { key, value } of list) this.append(key, value);
  }

  /** Builds a store from absolute pairs, stripping `prefix` from each key. */
  static fromPrefixed(pairs: Iterable<KeyValue>, prefix: string): KeyStore {
    const p = prefix === '/' ? '' : prefix.replace(/\/$/, '');
    const under: KeyValue[] = [];
    for (const kv of pairs) {
      const key = kv.key;
      if (p === '' || (key.startsWith(p) && (key.length === p.length || key.charCodeAt(p.length) === 47)))
        under.push(kv);
    }
    under.sort(byKey);
    const store = new KeyStore();
    for (const { key, value } of under) {
      const rel = key.slice(p.length);
      store.append(rel === '' ? '/' : rel.startsWith('/') ? rel : `/${rel}`, value);
    }
    return store;
  }

  /** Appends in sorted order; a repeated key keeps the last value. */
  private append(key: string, value: string): void {
    const n = this.keys.length;
    if (n > 0 && this.keys[n - 1] === key) this.values[n - 1] = value;
    else {
      this.keys.push(key);
      this.values.push(value);
    }
  }

  get size(): number {
    return this.keys.length;
  }

  /** Index of the first key not less than `key`. */
  private lowerBound(key: string): number {
    const keys = this.keys;
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(key: string): number {
    const i = this.lowerBound(key);
    return this.keys[i] === key ? i : -1;
  }

  exists(key: string): boolean {
    return this.indexOf(key) >= 0;
  }

  getValue(key: string): string | undefined {
    const i = this.indexOf(key);
    return i < 0 ? undefined : this.values[i];
  }

  get(key: string): KVPair {
    const i = this.indexOf(key);
    if (i < 0) throw new KeyNotFoundError(key);
    return new KVPair(key, this.values[i]!);
  }

  /** Indexes of the sorted keys starting with `prefix`. */
  private rangeWithPrefix(prefix: string): [number, number] {
    const lo = this.lowerBound(prefix);
    let end = lo;
    while (end < this.keys.length && this.keys[end]!.startsWith(prefix)) end++;
    return [lo, end];
  }

  /** Pairs whose key matches a glob pattern, sorted by key. */
  getAll(pattern: string): KVPair[] {
    const re = globToRegExp(pattern);
    const literal = /^[^*?[\\]*/.exec(pattern)![0];
    const [lo, hi] = this.rangeWithPrefix(literal);
    const out: KVPair[] = [];
    for (let i = lo; i < hi; i++) {
      const k = this.keys[i]!;
      if (re.test(k)) out.push(new KVPair(k, this.values[i]!));
    }
    return out;
  }

  /** Values whose key matches a glob pattern, sorted by value (as confd does). */
  getAllValues(pattern: string): string[] {
    return this.getAll(pattern)
      .map((p) => p.Value)
      .sort();
  }

  /** Names directly under `dir`, sorted, unique. */
  list(dir: string, onlyDirs = false): string[] {
    const d = dir.endsWith('/') ? dir : `${dir}/`;
    const names = new Set<string>();
    if (!onlyDirs && this.exists(dir)) {
      const base = dir.slice(dir.lastIndexOf('/') + 1);
      if (base) names.add(base);
    }
    const [lo, hi] = this.rangeWithPrefix(d);
    for (let i = lo; i < hi; i++) {
      const rest = this.keys[i]!.slice(d.length);
      const slash = rest.indexOf('/');
      if (onlyDirs && slash < 0) continue;
      names.add(slash < 0 ? rest : rest.slice(0, slash));
    }
    return [...names].sort();
  }
}

function byKey(a: KeyValue, b: KeyValue): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}
