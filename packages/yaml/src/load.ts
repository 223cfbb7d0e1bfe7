import {
  type Document,
  isAlias,
  isCollection,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  parseAllDocuments,
  type YAMLError,
  type YAMLWarning,
} from 'yaml';
import { fastParse } from './fast.js';
import { findExcessiveNesting } from './nesting.js';
import { preview } from './preview.js';

/** Bounds applied to every file; see the package README. */
export interface YamlLimits {
  /** Deepest nesting of collections (an upper bound counted from the tokens). Default 100. */
  maxDepth: number;
  /**
   * Nodes that aliases may add to a document by expansion: at most this many, or
   * `aliasFactor` times the document's own nodes when that is more. Defaults 10,000 and 10.
   */
  maxAliasNodes: number;
  aliasFactor: number;
}

export const DEFAULT_YAML_LIMITS: Readonly<YamlLimits> = { maxDepth: 100, maxAliasNodes: 10_000, aliasFactor: 10 };

/** One problem, at a 1-based line and column; `document` is the 1-based document of the stream. */
export interface YamlIssue {
  document: number;
  line: number;
  column: number;
  message: string;
}

export type Position = { line: number; column: number };

/** One non-empty document of a stream. */
export interface YamlDocument {
  /** 1-based place in the stream, empty documents counted (as an editor shows them). */
  readonly index: number;
  /** Where its content starts. */
  readonly line: number;
  readonly column: number;
  /** The document as plain data (maps are objects with string keys). */
  readonly value: unknown;
  /** The yaml library's document, for node ranges (`getIn(path, true)`). */
  readonly doc: Document.Parsed;
  /** Line and column of a source offset. */
  position(offset: number): Position;
  /** Where the node at `path` starts, or the nearest enclosing node that is present. */
  locate(path: readonly (string | number)[]): Position;
}

export interface YamlStream {
  documents: YamlDocument[];
  errors: YamlIssue[];
  warnings: YamlIssue[];
}

/**
 * Parses a multi-document YAML text from a user's file. Never throws for any input: every
 * problem comes back as an issue with its position. Empty documents (a trailing `---`, a
 * document of comments or `null`) are skipped; documents with errors are left out of
 * `documents`. Undefined aliases, aliases to an enclosing node (cycles), alias expansion beyond
 * the limits and nesting beyond `maxDepth` are errors; mapping keys are strings (a collection
 * as a key is an error); YAML 1.1 types (`!!set`, `!!timestamp`, ...) are not resolved.
 *
 * Time and memory are linear in the text: documents are split at their `---` lines and read one
 * at a time, plain block documents by a fast reader, the rest by the yaml library; no yaml
 * library Document is kept unless a caller asks for positions (`locate`, `doc`).
 */
export function parseYamlStream(text: string, limits: Partial<YamlLimits> = {}): YamlStream {
  const out: YamlStream = { documents: [], errors: [], warnings: [] };
  for (const item of readYamlStream(text, limits)) {
    if ('document' in item) out.documents.push(item.document);
    else if ('error' in item) out.errors.push(item.error);
    else out.warnings.push(item.warning);
  }
  return out;
}

/** What `readYamlStream` yields, in file order. */
export type YamlItem = { document: YamlDocument } | { error: YamlIssue } | { warning: YamlIssue };

/**
 * `parseYamlStream` one document at a time: a caller that keeps only what it makes of each
 * document holds one document's data at a time, not the whole file's.
 */
export function* readYamlStream(text: string, limits: Partial<YamlLimits> = {}): Generator<YamlItem> {
  const lim = { ...DEFAULT_YAML_LIMITS, ...limits };
  // Directives and `...` markers change where documents split: the yaml library reads those whole.
  if (/^(?:%|\.\.\.(?:[ \t\r\n]|$))/m.test(text)) {
    yield* readWithLibrary(new Chunk(text, 0), 1, lim);
    return;
  }
  let index = 0;
  for (const chunk of splitDocuments(text)) {
    if (!chunk.marker && firstContent(chunk.text, 0) < 0) continue; // comments before the first ---
    index++;
    const body = chunk.fastBody();
    const fast = body === undefined ? undefined : fastParse(body, lim.maxDepth);
    if (!fast) yield* readWithLibrary(chunk, index, lim);
    else if (fast.value !== null) yield { document: chunk.document(index, chunk.contentStart(), fast.value) };
  }
}

/** One document's text: from its `---` line (if any) to the next. */
class Chunk {
  private lines: LineCounter | undefined;
  private parsed: Document.Parsed | undefined;
  constructor(
    readonly text: string,
    /** Lines before it in the file. */
    readonly lineOffset: number,
    readonly marker = false,
  ) {}

  /** The text after a bare `---` line (a comment may follow it), or undefined when the marker line holds more. */
  fastBody(): string | undefined {
    if (!this.marker) return this.text;
    const nl = this.text.indexOf('\n');
    // Only spaces, tabs and a comment may follow (the split made sure one of them comes first).
    if (!/^[ \t]*(?:#.*)?\r?$/.test((nl < 0 ? this.text : this.text.slice(0, nl)).slice(3))) return undefined;
    return nl < 0 ? '' : this.text.slice(nl + 1);
  }

  /** Offset of the first content line's first character. */
  contentStart(): number {
    return Math.max(0, firstContent(this.text, this.marker ? 3 : 0));
  }

  position(offset: number): Position {
    if (!this.lines) {
      this.lines = new LineCounter();
      this.lines.addNewLine(0);
      for (let i = this.text.indexOf('\n'); i >= 0; i = this.text.indexOf('\n', i + 1)) this.lines.addNewLine(i + 1);
    }
    const p = this.lines.linePos(offset);
    return { line: p.line + this.lineOffset, column: p.col };
  }

  /** The yaml library's document for it (parsed on first use). */
  library(): Document.Parsed {
    this.parsed ??= parseDocuments(this.text)[0]!;
    return this.parsed;
  }

  document(index: number, offset: number, value: unknown, parsed?: Document.Parsed): YamlDocument {
    if (parsed) this.parsed = parsed;
    // Content starts near the chunk's start: count line breaks rather than index every line.
    let line = this.lineOffset + 1;
    let lineStart = 0;
    for (let i = this.text.indexOf('\n'); i >= 0 && i < offset; i = this.text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    const start = { line, column: offset - lineStart + 1 };
    return new ChunkDocument(this, index, start.line, start.column, value);
  }
}

class ChunkDocument implements YamlDocument {
  constructor(
    private readonly chunk: Chunk,
    readonly index: number,
    readonly line: number,
    readonly column: number,
    readonly value: unknown,
  ) {}

  get doc(): Document.Parsed {
    return this.chunk.library();
  }

  position(offset: number): Position {
    return this.chunk.position(offset);
  }

  locate(path: readonly (string | number)[]): Position {
    const doc = this.chunk.library();
    for (let n = path.length; n > 0; n--) {
      const node = doc.getIn(path.slice(0, n), true);
      if (node && typeof node === 'object' && 'range' in node && (node as Node).range)
        return this.chunk.position((node as Node).range![0]);
    }
    return { line: this.line, column: this.column };
  }
}

/** Offset of the first character that is not a space, a tab, a line break or in a comment; -1 if none. */
function firstContent(text: string, from: number): number {
  let comment = false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) comment = false;
    else if (!comment && c === 35 && (i === from || text.charCodeAt(i - 1) <= 32)) comment = true;
    else if (!comment && c !== 32 && c !== 9 && c !== 13) return i;
  }
  return -1;
}

/** Splits at lines that start with `---` (a document marker wherever it is, even in a scalar). */
function* splitDocuments(text: string): Generator<Chunk> {
  const marker = /^---(?=[ \t\r\n]|$)/gm;
  let from = 0;
  let line = 0;
  let isMarker = false;
  let counted = 0;
  const lineOf = (offset: number) => {
    for (let i = text.indexOf('\n', counted); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
      line++;
      counted = i + 1;
    }
    return line;
  };
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    if (m.index > from || isMarker) yield new Chunk(text.slice(from, m.index), lineOf(from), isMarker);
    from = m.index;
    isMarker = true;
  }
  if (from < text.length || isMarker) yield new Chunk(text.slice(from), lineOf(from), isMarker);
}

function parseDocuments(text: string): Document.Parsed[] {
  const docs = parseAllDocuments(text, {
    prettyErrors: false,
    stringKeys: true,
    resolveKnownTags: false,
    logLevel: 'error',
  });
  return Array.isArray(docs) ? docs : [];
}

/** Reads a chunk (or a whole text) with the yaml library: documents from `first` on. */
function* readWithLibrary(chunk: Chunk, first: number, lim: YamlLimits): Generator<YamlItem> {
  const excess = findExcessiveNesting(chunk.text, lim.maxDepth);
  if (excess) {
    yield {
      error: {
        document: first + excess.document - 1,
        ...chunk.position(excess.offset),
        message: `nested more than ${lim.maxDepth} levels deep`,
      },
    };
    return;
  }
  const docs = parseDocuments(chunk.text);
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    const document = first + i;
    const issue = (offset: number, message: string): YamlIssue => ({ document, ...chunk.position(offset), message });
    for (const e of doc.errors) yield { error: issue(e.pos[0], libraryMessage(e)) };
    for (const w of doc.warnings) yield { warning: issue(w.pos[0], libraryMessage(w)) };
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null && !contents.anchor)) continue;
    if (doc.errors.length) continue;
    const aliasErrors: YamlIssue[] = [];
    checkAliases(contents, lim, (node, message) => aliasErrors.push(issue(node.range?.[0] ?? 0, message)));
    if (aliasErrors.length) {
      for (const error of aliasErrors) yield { error };
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (err) {
      yield { error: issue(contents.range?.[0] ?? 0, preview(err instanceof Error ? err.message : err, 200)) };
      continue;
    }
    // Several documents (directives, `...`) share one text: each keeps its own parsed Document.
    const own = i === 0 ? chunk : new Chunk(chunk.text, chunk.lineOffset);
    yield { document: own.document(document, contents.range?.[0] ?? doc.range[0], value, doc) };
  }
}

/** A config file: at most one non-empty document (more is an error at the second). */
export function parseYamlFile(
  text: string,
  limits: Partial<YamlLimits> = {},
): { document: YamlDocument | undefined; errors: YamlIssue[]; warnings: YamlIssue[] } {
  const s = parseYamlStream(text, limits);
  const [first, second] = s.documents;
  if (second && !s.errors.length) {
    s.errors.push({
      document: second.index,
      line: second.line,
      column: second.column,
      message: `a second document (after "---"): this file holds one`,
    });
  }
  return { document: s.errors.length ? undefined : first, errors: s.errors, warnings: s.warnings };
}

/** The first line of a yaml library message, without its own " at line L, column C:" tail. */
function libraryMessage(e: YAMLError | YAMLWarning): string {
  const first = e.message.split('\n')[0] ?? e.message;
  const msg = first.replace(/ at line \d+, column \d+:?$/, '');
  return msg.length > 200 ? `${msg.slice(0, 200)}…` : msg;
}

/**
 * Rejects aliases that name no earlier anchor and aliases inside the node they name, and bounds
 * what aliases add: each alias stands for a copy of its anchor's subtree, so a few lines can
 * stand for billions of nodes ("billion laughs"). The yaml library shares one object per anchor,
 * but everything that walks the data afterwards (validation, JSON) pays for every copy.
 */
function checkAliases(root: Node, lim: YamlLimits, fail: (node: Node, message: string) => void): void {
  let own = 0;
  const count = (node: unknown): void => {
    if (isPair(node)) {
      count(node.key);
      count(node.value);
    } else if (isCollection(node)) {
      own++;
      for (const item of node.items) count(item);
    } else if (node) own++;
  };
  count(root);
  const budget = Math.max(lim.maxAliasNodes, lim.aliasFactor * own);
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  const open = new Set<Node>();
  let added = 0;
  let stopped = false;
  const walk = (node: unknown): number => {
    if (stopped || !node) return 1;
    if (isPair(node)) return walk(node.key) + walk(node.value);
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      if (!target) {
        fail(node, `undefined alias *${node.source}: an anchor &${node.source} must come before it`);
        return 1;
      }
      if (open.has(target)) {
        fail(node, `alias *${node.source} is inside the node it names (a cycle)`);
        return 1;
      }
      const size = sizes.get(target) ?? 1;
      added += size;
      if (added > budget) {
        stopped = true;
        fail(
          node,
          `alias *${node.source} expands the document beyond ${budget} nodes from aliases (a possible alias bomb); expand fewer aliases`,
        );
      }
      return size;
    }
    const n = node as Node;
    if (n.anchor) anchors.set(n.anchor, n);
    let size = 1;
    if (isCollection(n)) {
      open.add(n);
      for (const item of n.items) size += walk(item);
      open.delete(n);
    }
    if (n.anchor) sizes.set(n, size);
    return size;
  };
  walk(root);
}
