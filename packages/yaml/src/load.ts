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
 */
export function parseYamlStream(text: string, limits: Partial<YamlLimits> = {}): YamlStream {
  const lim = { ...DEFAULT_YAML_LIMITS, ...limits };
  const lines = new LineCounter();
  const out: YamlStream = { documents: [], errors: [], warnings: [] };
  const excess = findExcessiveNesting(text, lim.maxDepth);
  if (excess) {
    // Nothing is composed: the line counter is filled by hand.
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines.addNewLine(i + 1);
    const at = lines.linePos(excess.offset);
    out.errors.push({
      document: excess.document,
      line: at.line,
      column: at.col,
      message: `nested more than ${lim.maxDepth} levels deep`,
    });
    return out;
  }
  const docs = parseAllDocuments(text, {
    lineCounter: lines,
    prettyErrors: true,
    stringKeys: true,
    resolveKnownTags: false,
    logLevel: 'error',
  });
  const position = (offset: number): Position => {
    const p = lines.linePos(offset);
    return { line: p.line, column: p.col };
  };
  // An empty text is an empty list; anything else is an array of documents.
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const index = i + 1;
    const issue = (to: YamlIssue[], offset: number, message: string) =>
      to.push({ document: index, ...position(offset), message });
    for (const e of doc.errors) issue(out.errors, e.pos[0], libraryMessage(e));
    for (const w of doc.warnings) issue(out.warnings, w.pos[0], libraryMessage(w));
    const contents = doc.contents;
    if (contents === null || (isScalar(contents) && contents.value === null && !contents.anchor)) return;
    if (doc.errors.length) return;
    const before = out.errors.length;
    checkAliases(contents, lim, (node, message) => issue(out.errors, node.range?.[0] ?? 0, message));
    if (out.errors.length > before) return;
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: -1 });
    } catch (err) {
      issue(out.errors, contents.range?.[0] ?? 0, preview(err instanceof Error ? err.message : err, 200));
      return;
    }
    const start = position(contents.range?.[0] ?? doc.range[0]);
    out.documents.push({
      index,
      line: start.line,
      column: start.column,
      value,
      doc,
      position,
      locate(path) {
        for (let n = path.length; n > 0; n--) {
          const node = doc.getIn(path.slice(0, n), true);
          if (node && typeof node === 'object' && 'range' in node && (node as Node).range)
            return position((node as Node).range![0]);
        }
        return start;
      },
    });
  });
  return out;
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
