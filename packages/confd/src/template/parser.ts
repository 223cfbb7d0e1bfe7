import type {
  CommandNode,
  IfNode,
  ListNode,
  Node,
  PipeNode,
  RangeNode,
  TemplateNode,
  Tree,
  VariableNode,
  WithNode,
} from './ast.js';
import { lineCol } from './ast.js';
import { TemplateParseError } from './errors.js';
import { LexError, lex, Tok, type Token } from './lexer.js';
import { unquoteChar, unquoteString } from './unquote.js';

/** Result of parsing one text: the named tree plus every `define` and `block` found in it. */
export interface ParseResult {
  readonly trees: Map<string, Tree>;
}

type EndMark = { kind: 'end'; pos: number } | { kind: 'else'; pos: number };

/**
 * Deepest nesting the parser accepts: parenthesised pipelines, and `if`/`range`/`with`/`block`
 * (each `else if` counts as one more). Go allows 10,000 parentheses; a JavaScript stack is
 * smaller, and the executor recurses as deep.
 */
export const MAX_PARSE_DEPTH = 200;

/** A token's text for a message: quoted, and cut after 40 characters. */
function quoteShort(s: string): string {
  return s.length > 40 ? `${JSON.stringify(s.slice(0, 40))}…` : JSON.stringify(s);
}

/**
 * Parses template text into trees. `hasFunc` says whether a function name is defined: as in
 * Go, calling an unknown function is a parse error.
 */
export function parseTemplate(name: string, text: string, hasFunc: (fn: string) => boolean): ParseResult {
  let tokens: Token[];
  try {
    tokens = lex(text);
  } catch (e) {
    if (e instanceof LexError) {
      const { line } = lineCol(text, e.pos);
      throw new TemplateParseError(`template: ${name}:${line}: ${e.message}`, name, line);
    }
    throw e;
  }
  return new Parser(name, text, tokens, hasFunc).parse();
}

class Parser {
  private i = 0;
  private depth = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private readonly trees = new Map<string, Tree>();

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly tokens: Token[],
    private readonly hasFunc: (fn: string) => boolean,
  ) {}

  parse(): ParseResult {
    const root: ListNode = { kind: 'list', pos: 0, nodes: [] };
    for (;;) {
      const t = this.peek();
      if (t.type === Tok.EOF) break;
      if (t.type === Tok.LeftDelim) {
        const save = this.i;
        this.next();
        const k = this.nextNonSpace();
        if (k.type === Tok.Keyword && k.value === 'define') {
          this.parseDefinition();
          continue;
        }
        this.i = save;
      }
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') this.fail(`unexpected {{${n.kind}}}`, n.pos);
      root.nodes.push(n as Node);
    }
    this.addTree(this.name, root);
    return { trees: this.trees };
  }

  // ---- token helpers ----

  private peek(): Token {
    return this.tokens[this.i] ?? this.tokens[this.tokens.length - 1]!;
  }
  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }
  private nextNonSpace(): Token {
    let t = this.next();
    while (t.type === Tok.Space) t = this.next();
    return t;
  }
  private peekNonSpace(): Token {
    const save = this.i;
    const t = this.nextNonSpace();
    this.i = save;
    return t;
  }
  private fail(msg: string, pos: number): never {
    const { line } = lineCol(this.text, pos);
    throw new TemplateParseError(`template: ${this.name}:${line}: ${msg}`, this.name, line);
  }
  /** Runs `f` one nesting level deeper. */
  private nested<T>(pos: number, what: string, f: () => T): T {
    if (++this.depth > MAX_PARSE_DEPTH) this.fail(`max ${what} depth exceeded (${MAX_PARSE_DEPTH})`, pos);
    try {
      return f();
    } finally {
      this.depth--;
    }
  }
  private describe(t: Token): string {
    switch (t.type) {
      case Tok.EOF:
        return 'EOF';
      case Tok.RightDelim:
        return '"}}"';
      case Tok.LeftDelim:
        return '"{{"';
      case Tok.Keyword:
        return `<${t.value}>`;
      default:
        return quoteShort(t.value);
    }
  }
  private unexpected(t: Token, context: string): never {
    if (t.type === Tok.EOF) this.fail(`unexpected EOF in ${context}`, t.pos);
    this.fail(`unexpected ${this.describe(t)} in ${context}`, t.pos);
  }
  private expect(type: string, context: string): Token {
    const t = this.nextNonSpace();
    if (t.type !== type) this.unexpected(t, context);
    return t;
  }

  private addTree(name: string, root: ListNode): void {
    const existing = this.trees.get(name);
    // As in Go, an empty redefinition does not replace a non-empty one.
    if (existing && isEmptyList(root) && !isEmptyList(existing.root)) return;
    this.trees.set(name, { name, parseName: this.name, text: this.text, root });
  }

  // ---- structure ----

  private parseDefinition(): void {
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== Tok.String && nameTok.type !== Tok.RawString) this.unexpected(nameTok, 'define clause');
    const name = this.unquote(nameTok);
    this.expect(Tok.RightDelim, 'define clause');
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    if (end.kind !== 'end') this.fail('unexpected {{else}} in define clause', end.pos);
    this.vars = savedVars;
    this.addTree(name, list);
  }

  /** Parses text and actions up to an {{end}} or {{else}}. */
  private itemList(): [ListNode, EndMark] {
    const list: ListNode = { kind: 'list', pos: this.peekNonSpace().pos, nodes: [] };
    for (;;) {
      if (this.peekNonSpace().type === Tok.EOF) this.fail('unexpected EOF', this.peek().pos);
      const n = this.textOrAction();
      if (n.kind === 'end' || n.kind === 'else') return [list, n as EndMark];
      list.nodes.push(n as Node);
    }
  }

  private textOrAction(): Node | EndMark {
    const t = this.nextNonSpace();
    if (t.type === Tok.Text) return { kind: 'text', pos: t.pos, text: t.value };
    if (t.type === Tok.LeftDelim) return this.action();
    this.unexpected(t, 'input');
  }

  private action(): Node | EndMark {
    const t = this.nextNonSpace();
    if (t.type === Tok.Keyword) {
      switch (t.value) {
        case 'block':
          return this.blockControl();
        case 'break':
        case 'continue': {
          if (this.rangeDepth === 0) this.fail(`{{${t.value}}} outside {{range}}`, t.pos);
          const close = this.nextNonSpace();
          if (close.type !== Tok.RightDelim) this.unexpected(close, `{{${t.value}}}`);
          return { kind: t.value, pos: t.pos };
        }
        case 'else':
          return this.elseControl(t);
        case 'end':
          this.expect(Tok.RightDelim, 'end');
          return { kind: 'end', pos: t.pos };
        case 'if':
        case 'range':
        case 'with':
          return this.branch(t.value);
        case 'template':
          return this.templateControl();
        case 'define':
          this.fail('unexpected <define> in command', t.pos);
      }
    }
    this.i--;
    const pipe = this.pipeline('command', Tok.RightDelim);
    return { kind: 'action', pos: t.pos, pipe };
  }

  private elseControl(t: Token): EndMark {
    const p = this.peekNonSpace();
    // "{{else if" and "{{else with": leave the keyword for the enclosing branch to read.
    if (p.type === Tok.Keyword && (p.value === 'if' || p.value === 'with')) return { kind: 'else', pos: t.pos };
    this.expect(Tok.RightDelim, 'else');
    return { kind: 'else', pos: t.pos };
  }

  private branch(kind: 'if' | 'range' | 'with'): IfNode | RangeNode | WithNode {
    return this.nested(this.peek().pos, 'nesting', () => this.branchBody(kind));
  }

  private branchBody(kind: 'if' | 'range' | 'with'): IfNode | RangeNode | WithNode {
    const savedVars = this.vars.length;
    const pipe = this.pipeline(kind, Tok.RightDelim);
    if (kind === 'range') this.rangeDepth++;
    const [list, firstEnd] = this.itemList();
    if (kind === 'range') this.rangeDepth--;
    let elseList: ListNode | undefined;
    if (firstEnd.kind === 'else') {
      const p = this.peekNonSpace();
      if (p.type === Tok.Keyword && (p.value === 'if' || p.value === 'with')) {
        if (p.value !== kind) this.fail(`unexpected {{else ${p.value}}} in ${kind}`, p.pos);
        this.nextNonSpace();
        // {{else if x}} is {{else}}{{if x}}...{{end}}{{end}} with the inner {{end}} shared.
        elseList = { kind: 'list', pos: p.pos, nodes: [this.branch(kind)] };
      } else {
        const [els, end] = this.itemList();
        if (end.kind !== 'end') this.fail('expected end; found {{else}}', end.pos);
        elseList = els;
      }
    }
    this.vars.length = savedVars;
    // Go positions a branch at its pipeline.
    return { kind, pos: pipe.pos, pipe, list, elseList } as IfNode | RangeNode | WithNode;
  }

  private templateControl(): TemplateNode {
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== Tok.String && nameTok.type !== Tok.RawString) this.unexpected(nameTok, 'template clause');
    const name = this.unquote(nameTok);
    let pipe: PipeNode | undefined;
    if (this.peekNonSpace().type !== Tok.RightDelim) pipe = this.pipeline('template clause', Tok.RightDelim);
    else this.nextNonSpace();
    return { kind: 'template', pos: nameTok.pos, name, pipe };
  }

  private blockControl(): TemplateNode {
    return this.nested(this.peek().pos, 'nesting', () => this.blockBody());
  }

  private blockBody(): TemplateNode {
    const nameTok = this.nextNonSpace();
    if (nameTok.type !== Tok.String && nameTok.type !== Tok.RawString) this.unexpected(nameTok, 'block clause');
    const name = this.unquote(nameTok);
    const pipe = this.pipeline('block clause', Tok.RightDelim);
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    if (end.kind !== 'end') this.fail('unexpected {{else}} in block clause', end.pos);
    this.vars = savedVars;
    this.addTree(name, list);
    return { kind: 'template', pos: nameTok.pos, name, pipe };
  }

  // ---- pipelines ----

  private pipeline(context: string, end: string): PipeNode {
    const start = this.peekNonSpace();
    const pipe: PipeNode = { kind: 'pipe', pos: start.pos, isAssign: false, decl: [], cmds: [] };
    // Declarations: $x := / $x = / $i, $v := (range only).
    const save = this.i;
    let v = this.nextNonSpace();
    if (v.type === Tok.Variable) {
      for (;;) {
        const after = this.nextNonSpace();
        if (after.type === Tok.Declare || after.type === Tok.Assign) {
          pipe.isAssign = after.type === Tok.Assign;
          pipe.decl.push(this.variable(v.pos, v.value));
          break;
        }
        if (after.type === Tok.Comma) {
          pipe.decl.push(this.variable(v.pos, v.value));
          if (context !== 'range' || pipe.decl.length >= 2) this.fail(`too many declarations in ${context}`, after.pos);
          const n = this.nextNonSpace();
          if (n.type !== Tok.Variable) this.fail('range can only initialize variables', n.pos);
          v = n;
          continue;
        }
        if (pipe.decl.length > 0) this.unexpected(after, context);
        this.i = save;
        break;
      }
      for (const d of pipe.decl) this.vars.push(d.ident[0]!);
    } else {
      this.i = save;
    }
    for (;;) {
      const t = this.nextNonSpace();
      if (t.type === end) {
        this.checkPipeline(pipe, context, t.pos);
        return pipe;
      }
      switch (t.type) {
        case Tok.Bool:
        case Tok.Char:
        case Tok.Dot:
        case Tok.Field:
        case Tok.Identifier:
        case Tok.Number:
        case Tok.Nil:
        case Tok.RawString:
        case Tok.String:
        case Tok.Variable:
        case Tok.LeftParen:
          this.i--;
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(t, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string, pos: number): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`, pos);
    pipe.cmds.forEach((c, i) => {
      if (i === 0) return;
      const first = c.args[0]!;
      if (['bool', 'dot', 'nil', 'number', 'string'].includes(first.kind)) {
        this.fail(`non executable command in pipeline stage ${i + 1}`, c.pos);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { kind: 'command', pos: this.peekNonSpace().pos, args: [] };
    for (;;) {
      this.peekNonSpace();
      while (this.peek().type === Tok.Space) this.next();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const t = this.next();
      if (t.type === Tok.Space) continue;
      if (t.type === Tok.RightDelim || t.type === Tok.RightParen) this.i--;
      else if (t.type !== Tok.Pipe) this.unexpected(t, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.fail('empty command', cmd.pos);
    return cmd;
  }

  private operand(): Node | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().type !== Tok.Field) return node;
    const fields: string[] = [];
    while (this.peek().type === Tok.Field) fields.push(this.next().value.slice(1));
    switch (node.kind) {
      case 'field':
        return { kind: 'field', pos: node.pos, ident: [...node.ident, ...fields] };
      case 'variable':
        return { kind: 'variable', pos: node.pos, ident: [...node.ident, ...fields] };
      case 'bool':
      case 'string':
      case 'number':
      case 'nil':
      case 'dot':
        this.fail(`unexpected . after term ${quoteShort(nodeText(node))}`, node.pos);
        break;
      default:
        return { kind: 'chain', pos: node.pos, node, field: fields };
    }
  }

  private term(): Node | undefined {
    const t = this.nextNonSpace();
    switch (t.type) {
      case Tok.Identifier:
        if (!this.hasFunc(t.value)) this.fail(`function ${quoteShort(t.value)} not defined`, t.pos);
        return { kind: 'identifier', pos: t.pos, name: t.value };
      case Tok.Dot:
        return { kind: 'dot', pos: t.pos };
      case Tok.Nil:
        return { kind: 'nil', pos: t.pos };
      case Tok.Variable:
        if (!this.vars.includes(t.value)) this.fail(`undefined variable ${quoteShort(t.value)}`, t.pos);
        return { kind: 'variable', pos: t.pos, ident: [t.value] };
      case Tok.Field:
        return { kind: 'field', pos: t.pos, ident: [t.value.slice(1)] };
      case Tok.Bool:
        return { kind: 'bool', pos: t.pos, value: t.value === 'true' };
      case Tok.Char:
      case Tok.Number:
        return { kind: 'number', pos: t.pos, value: this.number(t), text: t.value, float: isFloatConstant(t) };
      case Tok.LeftParen:
        return this.nested(t.pos, 'expression', () => this.pipeline('parenthesized pipeline', Tok.RightParen));
      case Tok.String:
      case Tok.RawString:
        return { kind: 'string', pos: t.pos, quoted: t.value, text: this.unquote(t) };
    }
    this.i--;
    return undefined;
  }

  private variable(pos: number, name: string): VariableNode {
    return { kind: 'variable', pos, ident: [name] };
  }

  private unquote(t: Token): string {
    if (t.type === Tok.RawString) return t.value.slice(1, -1).replace(/\r/g, '');
    try {
      return unquoteString(t.value);
    } catch (e) {
      this.fail((e as Error).message, t.pos);
    }
  }

  private number(t: Token): number {
    if (t.type === Tok.Char) {
      try {
        return unquoteChar(t.value);
      } catch (e) {
        this.fail((e as Error).message, t.pos);
      }
    }
    let s = t.value.replace(/_/g, '');
    if (s.endsWith('i')) this.fail(`complex numbers are not supported: ${t.value}`, t.pos);
    let sign = 1;
    if (s.startsWith('-')) {
      sign = -1;
      s = s.slice(1);
    } else if (s.startsWith('+')) s = s.slice(1);
    let v: number;
    if (/^0[xX][0-9a-fA-F]+$/.test(s)) v = Number.parseInt(s.slice(2), 16);
    else if (/^0[oO][0-7]+$/.test(s)) v = Number.parseInt(s.slice(2), 8);
    else if (/^0[bB][01]+$/.test(s)) v = Number.parseInt(s.slice(2), 2);
    else if (/^0[0-7]+$/.test(s)) v = Number.parseInt(s.slice(1), 8);
    else if (/^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) v = Number(s);
    else this.fail(`illegal number syntax: ${quoteShort(t.value)}`, t.pos);
    return sign * v;
  }
}

/**
 * Go's rule (text/template idealConstant): a constant written with `.`, `e` or `p` is a float64,
 * except a hexadecimal integer (`0x1e`) or a character constant.
 */
function isFloatConstant(t: Token): boolean {
  const s = t.value;
  if (t.type === Tok.Char) return false;
  const hexInt = s.length > 2 && s[0] === '0' && (s[1] === 'x' || s[1] === 'X') && !/[pP]/.test(s);
  return !hexInt && /[.eEpP]/.test(s);
}

function isEmptyList(l: ListNode): boolean {
  return l.nodes.every((n) => n.kind === 'text' && n.text.trim() === '');
}

function nodeText(n: Node): string {
  switch (n.kind) {
    case 'string':
      return n.quoted;
    case 'number':
      return n.text;
    case 'bool':
      return String(n.value);
    case 'nil':
      return 'nil';
    default:
      return '.';
  }
}
