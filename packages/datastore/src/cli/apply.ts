import { readFileSync } from 'node:fs';
import { preview, readYamlStream, type YamlDocument } from '@tabby/yaml';
import type { Datastore, KVPair } from '../datastore.js';
import { DatastoreError, ValidationError } from '../errors.js';
import { kindPrefix, resourceKey } from '../keys.js';
import { poolProblems } from '../resources/pools.js';
import { ApplyAction, parseResource, planApply, ResourceStore } from '../resources/store.js';
import type { IPPoolResource, Kind, Resource } from '../resources/types.js';
import { describeDoc, validateResource } from '../resources/validate.js';
import { type CliIo, type DatastoreArgs, withDatastore } from './common.js';

export interface ApplyArgs extends DatastoreArgs {
  /** A file path, or `-` for standard input. */
  file: string;
  /** Validate and show what would change against the datastore; write nothing. */
  dryRun?: boolean;
}

/** One resource document: a YAML document, or an item of a `kind: ...List` document. */
export interface ParsedDoc {
  /** 1-based document of the file. */
  index: number;
  value: unknown;
  /** Line where it starts (found on demand: list items need the yaml library's positions). */
  line(): number;
  /** Line of a field such as `spec.ipipMode` (or of the nearest enclosing field present). */
  lineOf(field: string): number;
  /**
   * The same document without its value and its parsed text, for keeping while thousands of
   * others are read (field lines then give the document's line). Absent for list items.
   */
  release?(): ParsedDoc;
}

/** Writes in flight at once to a server backend (each is a round trip). */
const CONCURRENCY = 64;
/** Kinds with more resources than this in one file are read with one list, not one get each. */
const LIST_ABOVE = 100;

function pathParts(field: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of field.split('.')) {
    const m = /^([^[]*)((\[\d+\])*)$/.exec(part);
    if (!m) return out;
    if (m[1]) out.push(m[1]);
    for (const i of (m[2] ?? '').matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

/** What `readManifests` yields, in file order. */
type ManifestItem = { doc: ParsedDoc } | { error: string } | { warning: string };

/**
 * Reads multi-document YAML (and `kind: List` documents) one document at a time, with line
 * numbers for every field. Empty documents are skipped; YAML problems (syntax, undefined
 * aliases, alias bombs, too deep nesting) are errors with their line and column.
 */
function* readManifests(text: string, source: string): Generator<ManifestItem> {
  for (const item of readYamlStream(text)) {
    if ('error' in item) {
      const e = item.error;
      yield {
        error: `${source}: document ${e.document}: YAML error at line ${e.line}, column ${e.column}: ${e.message}`,
      };
      continue;
    }
    if ('warning' in item) {
      // Unresolved tags (`!has(x)`) are how an unquoted selector vanishes; the validator warns on the field too.
      const w = item.warning;
      yield { warning: `${source}: document ${w.document}: line ${w.line}: ${w.message}` };
      continue;
    }
    const d = item.document;
    const v = d.value as { kind?: unknown; items?: unknown } | null;
    if (typeof v === 'object' && v !== null && /List$/.test(String(v.kind)) && Array.isArray(v.items)) {
      for (let j = 0; j < v.items.length; j++) {
        yield {
          doc: {
            index: d.index,
            value: v.items[j],
            line: () => d.locate(['items', j]).line,
            lineOf: (field) => d.locate(['items', j, ...pathParts(field)]).line,
          },
        };
      }
      continue;
    }
    yield { doc: new WholeDoc(d) };
  }
}

/** A document as kept after validation: its number and first line only (no value, no text). */
class KeptDoc implements ParsedDoc {
  readonly value = undefined;
  constructor(
    readonly index: number,
    private readonly first: number,
  ) {}
  line(): number {
    return this.first;
  }
  lineOf(): number {
    return this.first;
  }
}

/** A whole YAML document as a resource document. (A class, not closures: closures would keep every document's text alive.) */
class WholeDoc implements ParsedDoc {
  constructor(private readonly d: YamlDocument) {}
  get index(): number {
    return this.d.index;
  }
  get value(): unknown {
    return this.d.value;
  }
  line(): number {
    return this.d.line;
  }
  lineOf(field: string): number {
    return this.d.locate(pathParts(field)).line;
  }
  release(): ParsedDoc {
    return new KeptDoc(this.d.index, this.d.line);
  }
}

/** Parses multi-document YAML (and `kind: List` documents) with line numbers for every field. */
export function parseManifests(
  text: string,
  source: string,
): { docs: ParsedDoc[]; errors: string[]; warnings: string[] } {
  const out = { docs: [] as ParsedDoc[], errors: [] as string[], warnings: [] as string[] };
  for (const item of readManifests(text, source)) {
    if ('doc' in item) out.docs.push(item.doc);
    else if ('error' in item) out.errors.push(item.error);
    else out.warnings.push(item.warning);
  }
  return out;
}

interface Entry {
  doc: ParsedDoc;
  resource: Resource;
  key: string;
}

const where = (source: string, d: ParsedDoc, name: string) =>
  `${source}: document ${d.index} (line ${d.line()}): ${name}`;

/** Field problems of one document as error lines. */
function problemLines(source: string, d: ParsedDoc, name: string, problems: ValidationError['problems']): string[] {
  return problems.map(
    (p) =>
      `${where(source, d, name)}: ${p.field} (line ${d.lineOf(p.field)}): ${p.message} (value: ${p.value === undefined ? 'missing' : preview(p.value)})`,
  );
}

/** Top-level fields that differ: `metadata.labels`, `spec.natOutgoing`. */
function changedFields(old: Resource, next: Resource): string[] {
  const out: string[] = [];
  for (const f of ['labels', 'annotations'] as const) {
    if (JSON.stringify(old.metadata[f] ?? {}) !== JSON.stringify(next.metadata[f] ?? {})) out.push(`metadata.${f}`);
  }
  const a = old.spec as Record<string, unknown>;
  const b = next.spec as Record<string, unknown>;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`spec.${k}`);
  }
  return out;
}

/** Collects output lines and writes them in large pieces (75,000 lines are 75,000 writes otherwise). */
class Output {
  private out: string[] = [];
  private size = 0;
  constructor(private readonly write: (s: string) => void) {}
  line(s: string): void {
    this.out.push(s);
    this.size += s.length;
    if (this.size > 65536) this.flush();
  }
  flush(): void {
    if (this.out.length) this.write(`${this.out.join('\n')}\n`);
    this.out = [];
    this.size = 0;
  }
}

/** Items between turns of the event loop (a memory store answers without ever yielding). */
const SLICE = 256;

/**
 * Runs `f` over what `items` yields, in order, with at most `limit` in flight, letting the event
 * loop turn every `SLICE` items (timers, signals, and the garbage collector's tasks get a turn).
 */
async function forEachBounded<T>(items: Iterable<T>, limit: number, f: (item: T, i: number) => Promise<void>) {
  const it = items[Symbol.iterator]();
  let next = 0;
  const worker = async () => {
    for (let r = it.next(); !r.done; r = it.next()) {
      const i = next++;
      if (i % SLICE === SLICE - 1) await new Promise((resolve) => setImmediate(resolve));
      await f(r.value, i);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

/** The stored pairs of the file's keys: one list for a kind with many resources, single gets otherwise. */
async function readCurrent(store: Datastore, keys: Map<Kind, string[]>): Promise<Map<string, KVPair>> {
  const current = new Map<string, KVPair>();
  for (const [kind, list] of keys) {
    if (list.length > LIST_ABOVE) {
      const wanted = new Set(list);
      for (const kv of (await store.list(kindPrefix(kind))).items) if (wanted.has(kv.key)) current.set(kv.key, kv);
    } else {
      await forEachBounded(list, CONCURRENCY, async (key) => {
        const kv = await store.get(key);
        if (kv) current.set(key, kv);
      });
    }
  }
  return current;
}

/** A validated resource of the file, with its document. */
function* validResources(text: string, source: string): Generator<Entry | { errors: string[] } | { warning: string }> {
  for (const item of readManifests(text, source)) {
    if ('error' in item) yield { errors: [item.error] };
    if ('warning' in item) yield item;
    if (!('doc' in item)) continue;
    const d = item.doc;
    const described = describeDoc(d.value);
    try {
      const v = validateResource(d.value, described);
      for (const w of v.warnings) yield { warning: `${source}: document ${d.index}: ${w}` };
      const { kind, metadata } = v.resource;
      yield { doc: d, resource: v.resource, key: resourceKey(kind, metadata.name, metadata.namespace) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      yield { errors: problemLines(source, d, described, err.problems) };
    }
  }
}

/** A BGPPeer's `spec.filters` entry, kept to warn when no BGPFilter has that name. */
interface FilterRef {
  where: string;
  field: string;
  line: number;
  filter: string;
}

/** What the first pass over a file keeps: keys by kind (and the pools, for the pool rules), or every problem. */
interface Checked {
  keys: Map<Kind, string[]>;
  count: number;
  pools: Entry[];
  /** BGPFilter names a peer refers to that the file does not define. */
  filterRefs: FilterRef[];
  errors: string[];
  warnings: string[];
}

/**
 * First pass: reads and validates the whole file and keeps only each resource's key (and the IP
 * pools). Keeping 75,000 validated resources until the writes would double the peak memory; the
 * second pass (`validResources` again) reads each resource as it is written.
 */
function checkFile(text: string, source: string): Checked {
  const c: Checked = { keys: new Map(), count: 0, pools: [], filterRefs: [], errors: [], warnings: [] };
  const seen = new Map<string, ParsedDoc>();
  const filtersInFile = new Set<string>();
  for (const item of validResources(text, source)) {
    if ('errors' in item) c.errors.push(...item.errors);
    if ('warning' in item) c.warnings.push(item.warning);
    if (!('key' in item)) continue;
    const first = seen.get(item.key);
    if (first) {
      c.errors.push(
        `${where(source, item.doc, describeDoc(item.resource))}: also defined by document ${first.index} (line ${first.line()}); a file may define each resource once`,
      );
      continue;
    }
    // Pools keep their document for field lines (pool rules are checked after reading them all).
    const kind = item.resource.kind;
    if (kind === 'BGPFilter') filtersInFile.add(item.resource.metadata.name);
    if (kind === 'BGPPeer') {
      (item.resource.spec.filters ?? []).forEach((filter, i) => {
        const field = `spec.filters[${i}]`;
        const where1 = where(source, item.doc, describeDoc(item.resource));
        c.filterRefs.push({ where: where1, field, line: item.doc.lineOf(field), filter });
      });
    }
    seen.set(item.key, kind === 'IPPool' ? item.doc : (item.doc.release?.() ?? item.doc));
    if (kind === 'IPPool') c.pools.push(item);
    const list = c.keys.get(kind) ?? [];
    list.push(item.key);
    c.keys.set(kind, list);
    c.count++;
  }
  c.errors.push(...poolErrors(source, c.pools, []));
  c.filterRefs = c.filterRefs.filter((r) => !filtersInFile.has(r.filter));
  return c;
}

/**
 * Warnings for BGPPeer filters that name no BGPFilter, in the file or the store. Calico accepts
 * such a peer and leaves the name out of the peering until a BGPFilter of that name exists; Tabby
 * does the same, and says so.
 */
async function missingFilterWarnings(store: Datastore, refs: readonly FilterRef[]): Promise<string[]> {
  if (!refs.length) return [];
  const stored = new Set((await new ResourceStore(store).list('BGPFilter')).items.map((f) => f.metadata.name));
  return refs
    .filter((r) => !stored.has(r.filter))
    .map(
      (r) =>
        `${r.where}: ${r.field} (line ${r.line}): no BGPFilter named ${JSON.stringify(r.filter)}: until one is applied, this peering works as if it were not listed (as in Calico)`,
    );
}

/**
 * `tabby apply -f FILE|-`: validates every document first (fields, one definition per resource,
 * IP pool rules against the stored pools), then creates or updates each and prints
 * `Kind/name created|configured|unchanged`, then a summary line. With `dryRun`, prints what would
 * happen and writes nothing. Time and memory are linear in the file.
 */
export async function runApply(args: ApplyArgs, io: CliIo, ds?: Datastore): Promise<number> {
  const source = args.file === '-' ? '<stdin>' : args.file;
  let text: string;
  try {
    text = args.file === '-' ? await (io.readStdin ?? (() => Promise.resolve('')))() : readFileSync(args.file, 'utf8');
  } catch (err) {
    io.stderr(`tabby apply: cannot read ${source}: ${(err as Error).message}\n`);
    return 1;
  }
  const checked = checkFile(text, source);
  const err = new Output(io.stderr);
  for (const w of checked.warnings) err.line(`warning: ${w}`);
  if (checked.errors.length) return refuse(err, checked.errors);
  if (!checked.count) {
    err.line(`tabby apply: ${source} holds no resources`);
    err.flush();
    return 1;
  }
  err.flush();
  return withDatastore(
    args,
    io,
    async (store) => {
      const current = await readCurrent(store, checked.keys);
      for (const w of await missingFilterWarnings(store, checked.filterRefs)) err.line(`warning: ${w}`);
      err.flush();
      if (checked.pools.length) {
        const stored = (await new ResourceStore(store).list('IPPool')).items;
        const problems = poolErrors(source, checked.pools, stored);
        if (problems.length) return refuse(err, problems);
      }
      // Second pass: the same resources, each read as it is written.
      const entries = (function* () {
        for (const item of validResources(text, source)) if ('key' in item) yield item;
      })();
      return args.dryRun ? dryRun(entries, current, io) : write(store, entries, checked.count, current, source, io);
    },
    ds,
  );
}

/** Pool rule errors, in file order. */
function poolErrors(source: string, pools: readonly Entry[], stored: readonly IPPoolResource[]): string[] {
  const order = new Map(pools.map((e, i) => [e.resource.metadata.name, i]));
  return poolProblems(
    pools.map((e) => e.resource as IPPoolResource),
    stored,
  )
    .map((p) => ({ p, i: order.get(p.name)! }))
    .sort((a, b) => a.i - b.i)
    .flatMap(({ p, i }) => problemLines(source, pools[i]!.doc, describeDoc(pools[i]!.resource), [p.problem]));
}

function refuse(err: Output, errors: readonly string[]): number {
  for (const e of errors) err.line(`error: ${e}`);
  err.line(`tabby apply: nothing applied (${errors.length} error${errors.length > 1 ? 's' : ''})`);
  err.flush();
  return 1;
}

type Counts = Record<ApplyAction | 'failed', number>;

function summary(c: Counts, dryRun: boolean): string {
  const total = c.created + c.configured + c.unchanged + c.failed;
  return `${dryRun ? 'dry run, nothing written: ' : ''}${total} resource${total === 1 ? '' : 's'}: ${c.created} created, ${c.configured} configured, ${c.unchanged} unchanged, ${c.failed} failed`;
}

function dryRun(entries: Iterable<Entry>, current: Map<string, KVPair>, io: CliIo): number {
  const out = new Output(io.stdout);
  const counts: Counts = { created: 0, configured: 0, unchanged: 0, failed: 0 };
  for (const e of entries) {
    const kv = current.get(e.key);
    const old = kv ? parseResource(kv.key, kv.value, kv.revision) : undefined;
    const action = planApply(e.resource, old);
    counts[action]++;
    const fields = old && action === ApplyAction.Configured ? `: ${changedFields(old, e.resource).join(', ')}` : '';
    out.line(`${describeDoc(e.resource)} ${action} (dry run)${fields}`);
  }
  out.line(summary(counts, true));
  out.flush();
  return 0;
}

async function write(
  store: Datastore,
  entries: Iterable<Entry>,
  count: number,
  current: Map<string, KVPair>,
  source: string,
  io: CliIo,
): Promise<number> {
  const rs = new ResourceStore(store);
  const out = new Output(io.stdout);
  const err = new Output(io.stderr);
  const counts: Counts = { created: 0, configured: 0, unchanged: 0, failed: 0 };
  // Results are printed in file order, whatever order the writes finish in.
  const done: (string | undefined)[] = new Array(count);
  const failed = new Set<number>();
  let printed = 0;
  await forEachBounded(entries, CONCURRENCY, async (e, i) => {
    const name = describeDoc(e.resource);
    try {
      let r: { action: ApplyAction };
      try {
        r = await rs.applyStored(e.resource, current.get(e.key));
      } catch (first) {
        const code = (first as { code?: string }).code;
        // Someone else wrote it since it was read: read again and retry (pool rules included).
        if (code !== 'REVISION_CONFLICT' && code !== 'ALREADY_EXISTS' && code !== 'NOT_FOUND') throw first;
        r = await rs.apply(e.resource);
      }
      counts[r.action]++;
      done[i] = `${name} ${r.action}`;
    } catch (failure) {
      if (!(failure instanceof DatastoreError)) throw failure;
      counts.failed++;
      failed.add(i);
      done[i] = `error: ${where(source, e.doc, name)}: ${failure.message}`;
    }
    current.delete(e.key);
    for (let line = done[printed]; line !== undefined; line = done[printed]) {
      if (failed.has(printed)) {
        out.flush();
        err.line(line);
        err.flush();
      } else out.line(line);
      done[printed++] = undefined;
    }
  });
  out.line(summary(counts, false));
  out.flush();
  return counts.failed ? 1 : 0;
}
