import { isIP } from 'node:net';
import { parseYamlFile, preview, type YamlDocument } from '@tabby/yaml';
import { isMap, isScalar, type Node } from 'yaml';

/** One problem in a config file, located by file, line, column and field path. */
export interface ConfigIssue {
  file: string;
  line: number;
  column: number;
  field: string;
  message: string;
}

/** A config file that did not validate; `issues` lists every problem found, not just the first. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly issues: ConfigIssue[]) {
    super(
      issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.field ? `${i.field}: ` : ''}${i.message}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

export type Path = readonly (string | number)[];

/** `peers[1].holdTime`; a key longer than 40 characters is cut (`aaaa…`). */
export function pathString(path: Path): string {
  let s = '';
  for (const p of path) {
    const k = typeof p === 'string' && p.length > 40 ? `${p.slice(0, 40)}…` : p;
    s += typeof k === 'number' ? `[${k}]` : s ? `.${k}` : k;
  }
  return s;
}

/**
 * Reads typed values out of a YAML document, recording every problem with its position. Each
 * getter returns `undefined` (and records an issue) when the value is missing or wrong, so a
 * caller can keep going and report all problems at once.
 */
export class ConfigReader {
  readonly issues: ConfigIssue[] = [];
  private readonly document: YamlDocument | undefined;
  private readonly position: (offset: number) => { line: number; column: number };
  readonly root: unknown;

  /**
   * Parses `text` with the shared safe loader: YAML errors, undefined aliases, alias bombs and
   * excessive nesting become issues; an empty file (or one ending in `---`) reads as empty.
   */
  constructor(
    readonly file: string,
    text: string,
  ) {
    const { document, errors } = parseYamlFile(text);
    for (const e of errors) this.issues.push({ file, line: e.line, column: e.column, field: '', message: e.message });
    this.document = document;
    this.position = document ? (offset) => document.position(offset) : () => ({ line: 1, column: 1 });
    this.root = document?.value ?? null;
  }

  /** Records a problem at `path` (located at the value, or the nearest enclosing node present). */
  fail(path: Path, message: string, at?: Node | null): undefined {
    let node: Node | null = at ?? null;
    // The yaml library's nodes locate the problem: the file is composed by the library only now.
    const doc = this.document?.doc;
    for (let n = path.length; n >= 0 && !node && doc; n--) {
      const found = doc.getIn(path.slice(0, n), true);
      if (found && typeof found === 'object' && 'range' in (found as object)) node = found as Node;
    }
    const pos = this.position(node?.range?.[0] ?? 0);
    this.issues.push({ file: this.file, line: pos.line, column: pos.column, field: pathString(path), message });
    return undefined;
  }

  /** The key `key` of the mapping at `path`, as the yaml library's node (to locate an unknown field). */
  private keyNode(path: Path, key: string): Node | undefined {
    const doc = this.document?.doc;
    const map = path.length ? doc?.getIn(path, true) : doc?.contents;
    if (!isMap(map)) return undefined;
    return map.items.find((p) => isScalar(p.key) && p.key.value === key)?.key as Node | undefined;
  }

  /** Throws a ConfigError when anything was recorded. */
  check(): void {
    if (this.issues.length) throw new ConfigError(this.issues);
  }

  get(path: Path): unknown {
    let v: unknown = this.root;
    for (const p of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string | number, unknown>)[p];
    }
    return v;
  }

  has(path: Path): boolean {
    return this.get(path) !== undefined && this.get(path) !== null;
  }

  /** A mapping at `path`; rejects keys not in `allowed`, naming them. */
  object(path: Path, allowed: readonly string[], required = false): Record<string, unknown> | undefined {
    const v = this.get(path);
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    if (typeof v !== 'object' || Array.isArray(v)) return this.fail(path, 'must be a mapping');
    for (const key of Object.keys(v)) {
      if (!allowed.includes(key)) {
        const hint = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
        const keyNode = this.keyNode(path, key);
        this.fail(
          [...path, key],
          `unknown field${hint ? ` (did you mean "${hint}"?)` : `; expected one of ${allowed.join(', ')}`}`,
          keyNode,
        );
      }
    }
    return v as Record<string, unknown>;
  }

  /** A sequence at `path` (absent: empty). */
  list(path: Path): unknown[] {
    const v = this.get(path);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.fail(path, 'must be a list');
      return [];
    }
    return v;
  }

  string(path: Path, opts: { required?: boolean; default?: string; pattern?: RegExp; what?: string } = {}) {
    const v = this.get(path);
    if (v === undefined || v === null) return opts.required ? this.fail(path, 'is required') : opts.default;
    if (typeof v !== 'string') return this.fail(path, `must be a string, got ${preview(v)}`);
    if (opts.pattern && !opts.pattern.test(v))
      return this.fail(path, `${preview(v)} is not ${opts.what ?? `like ${opts.pattern}`}`);
    return v;
  }

  integer(path: Path, opts: { required?: boolean; default?: number; min?: number; max?: number } = {}) {
    const v = this.get(path);
    if (v === undefined || v === null) return opts.required ? this.fail(path, 'is required') : opts.default;
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.fail(path, `must be an integer, got ${preview(v)}`);
    if (opts.min !== undefined && v < opts.min) return this.fail(path, `${v} is below the minimum ${opts.min}`);
    if (opts.max !== undefined && v > opts.max) return this.fail(path, `${v} is above the maximum ${opts.max}`);
    return v;
  }

  boolean(path: Path, def: boolean): boolean {
    const v = this.get(path);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'boolean') {
      this.fail(path, `must be true or false, got ${preview(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(path: Path, values: readonly T[], def: T): T {
    const v = this.get(path);
    if (v === undefined || v === null) return def;
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.fail(path, `must be one of ${values.join(', ')}, got ${preview(v)}`);
      return def;
    }
    return v as T;
  }

  /** An IPv4 or IPv6 address (family 4 or 6 restricts it). */
  address(path: Path, opts: { required?: boolean; family?: 4 | 6; default?: string } = {}) {
    const v = this.string(path, {
      required: opts.required ?? false,
      ...(opts.default ? { default: opts.default } : {}),
    });
    if (v === undefined) return undefined;
    const fam = isIP(v);
    if (!fam || (opts.family && fam !== opts.family)) {
      return this.fail(path, `${preview(v)} is not an IPv${opts.family ?? '4 or IPv6'} address`);
    }
    return v;
  }

  /** A hold time: 0 (no keepalives) or 3..65535 seconds (RFC 4271 4.2). */
  holdTime(path: Path, def: number): number {
    const v = this.integer(path, { min: 0, max: 65535 });
    if (v === undefined) return def;
    if (v > 0 && v < 3) {
      this.fail(path, `${v} is not allowed: the hold time is 0 or at least 3 seconds (RFC 4271 4.2)`);
      return def;
    }
    return v;
  }

  /** A dotted-quad (router ID, cluster ID). */
  dottedQuad(path: Path, required = false) {
    return this.address(path, { required, family: 4 });
  }

  /** An AS number, 1..4294967295 (asdot `1.10` accepted). */
  asn(path: Path, required = false) {
    const v = this.get(path);
    if (v === undefined || v === null) return required ? this.fail(path, 'is required') : undefined;
    let n: number | undefined;
    if (typeof v === 'number') n = v;
    else if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v)) {
      const [hi, lo] = v.split('.').map(Number);
      n = lo === undefined ? hi : (hi as number) * 65536 + lo;
    }
    if (n === undefined || !Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      return this.fail(path, `${preview(v)} is not an AS number (1 to 4294967295)`);
    }
    return n;
  }
}
