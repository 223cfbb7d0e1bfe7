import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Datastore } from '../datastore.js';
import { DatastoreError, ValidationError } from '../errors.js';
import { ResourceStore } from '../resources/store.js';
import { describeDoc, validateResource } from '../resources/validate.js';
import { type CliIo, type DatastoreArgs, withDatastore } from './common.js';

export interface ApplyArgs extends DatastoreArgs {
  /** A file path, or `-` for standard input. */
  file: string;
}

interface ParsedDoc {
  index: number;
  line: number;
  value: unknown;
  lineOf(path: string): number | undefined;
}

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

/** Parses multi-document YAML (and `kind: List` documents) with line numbers for every field. */
export function parseManifests(
  text: string,
  source: string,
): { docs: ParsedDoc[]; errors: string[]; warnings: string[] } {
  const lc = new LineCounter();
  const all = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true });
  const docs: ParsedDoc[] = [];
  const errors: string[] = [];
  const warnings: string[] = [];
  const list = Array.isArray(all) ? all : [all];
  list.forEach((doc, i) => {
    const index = i + 1;
    const start = doc.contents?.range?.[0] ?? doc.range[0];
    const line = lc.linePos(start).line;
    for (const e of doc.errors)
      errors.push(
        `${source}: document ${index}: YAML error at line ${e.linePos?.[0]?.line ?? line}: ${e.message.split('\n')[0]}`,
      );
    for (const w of doc.warnings) {
      // Unresolved tags (`!has(x)`) are how an unquoted selector vanishes; the validator warns on the field too.
      warnings.push(`${source}: document ${index}: line ${w.linePos?.[0]?.line ?? line}: ${w.message.split('\n')[0]}`);
    }
    if (doc.errors.length || doc.contents === null) return;
    const value = doc.toJS() as unknown;
    const lineOf = (base: (string | number)[]) => (path: string) => {
      const node = doc.getIn([...base, ...pathParts(path)], true) as { range?: [number, number, number] } | undefined;
      const pos = node && typeof node === 'object' && node.range ? node.range[0] : undefined;
      return pos === undefined ? undefined : lc.linePos(pos).line;
    };
    const items = doc.get('items', true);
    if (
      typeof value === 'object' &&
      value !== null &&
      /List$/.test(String((value as { kind?: unknown }).kind)) &&
      isSeq(items)
    ) {
      items.items.forEach((item, j) => {
        if (!isMap(item)) return;
        const start = item.range?.[0] ?? 0;
        docs.push({ index, line: lc.linePos(start).line, value: item.toJSON(), lineOf: lineOf(['items', j]) });
      });
      return;
    }
    docs.push({ index, line, value, lineOf: lineOf([]) });
  });
  return { docs, errors, warnings };
}

/** `tabby apply -f FILE|-`: validates every document first, then creates or updates each; prints `Kind/name created|configured|unchanged`. */
export async function runApply(args: ApplyArgs, io: CliIo, ds?: Datastore): Promise<number> {
  let text: string;
  const source = args.file === '-' ? '<stdin>' : args.file;
  try {
    text = args.file === '-' ? await (io.readStdin ?? (() => Promise.resolve('')))() : readFileSync(args.file, 'utf8');
  } catch (err) {
    io.stderr(`tabby apply: cannot read ${source}: ${(err as Error).message}\n`);
    return 1;
  }
  const { docs, errors, warnings } = parseManifests(text, source);
  const validated: { doc: ParsedDoc; value: unknown }[] = [];
  for (const d of docs) {
    const name = `${source}: document ${d.index} (line ${d.line}): ${describeDoc(d.value)}`;
    try {
      const v = validateResource(d.value, describeDoc(d.value));
      for (const w of v.warnings) warnings.push(`${source}: document ${d.index}: ${w}`);
      validated.push({ doc: d, value: d.value });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      for (const p of err.problems) {
        const line = d.lineOf(p.field);
        errors.push(
          `${name}: ${p.field}${line ? ` (line ${line})` : ''}: ${p.message} (value: ${p.value === undefined ? 'missing' : JSON.stringify(p.value)})`,
        );
      }
    }
  }
  for (const w of warnings) io.stderr(`warning: ${w}\n`);
  if (errors.length) {
    for (const e of errors) io.stderr(`error: ${e}\n`);
    io.stderr(`tabby apply: nothing applied (${errors.length} error${errors.length > 1 ? 's' : ''})\n`);
    return 1;
  }
  if (!validated.length) {
    io.stderr(`tabby apply: ${source} holds no resources\n`);
    return 1;
  }
  return withDatastore(
    args,
    io,
    async (store) => {
      const rs = new ResourceStore(store);
      let failed = 0;
      for (const { doc, value } of validated) {
        try {
          const r = await rs.apply(value);
          io.stdout(
            `${r.resource.kind}/${r.resource.metadata.namespace ? `${r.resource.metadata.namespace}/` : ''}${r.resource.metadata.name} ${r.action}\n`,
          );
        } catch (err) {
          if (!(err instanceof DatastoreError)) throw err;
          failed++;
          io.stderr(
            `error: ${source}: document ${doc.index} (line ${doc.line}): ${describeDoc(value)}: ${err.message}\n`,
          );
        }
      }
      return failed ? 1 : 0;
    },
    ds,
  );
}
