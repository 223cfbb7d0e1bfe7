import { CST, Lexer } from 'yaml';

/** Where a text first nests deeper than allowed. `offset` is into the text. */
export interface NestingExcess {
  offset: number;
  depth: number;
  /** 1-based document of the stream the place is in. */
  document: number;
}

interface Level {
  column: number;
  /** A block sequence (`- `), which may sit at the same column as the mapping holding it. */
  seq: boolean;
}

/**
 * Finds where a YAML text nests deeper than `limit`, from its tokens alone (the yaml library's
 * lexer, which does not recurse), before anything is composed. The yaml library composes nodes
 * recursively: a few hundred levels exhaust the stack, and V8 may then abort the whole process
 * while compiling a regular expression (a fatal out-of-memory, not a catchable error). So
 * nesting is bounded here first.
 *
 * The depth counted is an upper bound of the collection nesting: every open flow collection
 * (`[`, `{`, exact, since quoted scalars are single tokens) plus every block level, which is a
 * column where a line's content starts more indented than its parent's, a sequence at the
 * column of the mapping that holds it, or content after a compact indicator (`- - x`, `- a: b`).
 */
export function findExcessiveNesting(text: string, limit: number): NestingExcess | undefined {
  const levels: Level[] = [];
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  /** Only spaces since the last line break: the next content token is a line's first. */
  let atLineStart = true;
  /** The previous token was a compact indicator: the next content token opens a level. */
  let afterIndicator = false;
  /** The next token is a scalar's text (it follows the SCALAR marker). */
  let scalarSource = false;
  /** The next scalar text is a block scalar's content (`|`, `>`): never structure. */
  let blockContent = false;
  let document = 1;
  let docContent = false;
  let docStarted = false;

  for (const token of new Lexer().lex(text)) {
    const isSource = scalarSource;
    scalarSource = false;
    // A scalar's text is only text, whatever it looks like (`-`, `[`).
    const type = isSource ? undefined : CST.tokenType(token);
    // Synthetic markers are not source text.
    if (type === 'doc-mode' || type === 'flow-error-end') continue;
    if (type === 'scalar') {
      scalarSource = true;
      continue;
    }
    const start = offset;
    offset += token.length;
    const column = start - lineStart;
    const nl = token.lastIndexOf('\n');
    const endLine = () => {
      if (nl < 0) return;
      lineStart = start + nl + 1;
      atLineStart = token.slice(nl + 1).trim() === '';
      afterIndicator = false;
    };
    if (!isSource) {
      switch (type) {
        case 'newline':
        case 'space':
        case 'comment':
        case 'byte-order-mark':
        case 'directive-line':
          endLine();
          continue;
        case 'doc-start':
        case 'doc-end':
          if (type === 'doc-start' && (docStarted || docContent)) document++;
          docStarted = type === 'doc-start';
          docContent = type === 'doc-end';
          levels.length = 0;
          flow = 0;
          atLineStart = false;
          afterIndicator = false;
          continue;
      }
    }
    docContent = true;
    if (isSource && blockContent) {
      blockContent = false;
      endLine();
      continue;
    }
    if (flow === 0 && atLineStart) {
      // A line's first token: close deeper levels, open one when more indented.
      const seq = type === 'seq-item-ind';
      while (levels.length && levels[levels.length - 1]!.column > column) levels.pop();
      let top = levels[levels.length - 1];
      if (top && top.column === column && top.seq && !seq) {
        levels.pop();
        top = levels[levels.length - 1];
      }
      if (!top || top.column < column || (top.column === column && seq && !top.seq)) levels.push({ column, seq });
    } else if (flow === 0 && afterIndicator) levels.push({ column, seq: type === 'seq-item-ind' });
    atLineStart = false;
    afterIndicator = flow === 0 && (type === 'seq-item-ind' || type === 'explicit-key-ind' || type === 'map-value-ind');
    if (type === 'block-scalar-header') blockContent = true;
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    else if ((type === 'flow-seq-end' || type === 'flow-map-end') && flow > 0) flow--;
    if (levels.length + flow > limit) return { offset: start, depth: levels.length + flow, document };
    endLine();
  }
  return undefined;
}
