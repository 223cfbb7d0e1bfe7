// Parse tree for Go text/template. Every node records its offset in the template text so that
// errors can name line and column; `toString` renders the node back the way Go prints context.

export interface Tree {
  /** The template's own name (a `define`d name for nested templates). */
  readonly name: string;
  /** Name of the top-level template the text was parsed under. */
  readonly parseName: string;
  /** Full text the tree was parsed from (for line and column). */
  readonly text: string;
  root: ListNode;
}

export type Node =
  | ListNode
  | TextNode
  | ActionNode
  | PipeNode
  | CommandNode
  | IdentifierNode
  | FieldNode
  | VariableNode
  | ChainNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | IfNode
  | RangeNode
  | WithNode
  | TemplateNode
  | BreakNode
  | ContinueNode;

export interface ListNode {
  readonly kind: 'list';
  readonly pos: number;
  readonly nodes: Node[];
}
export interface TextNode {
  readonly kind: 'text';
  readonly pos: number;
  readonly text: string;
}
export interface ActionNode {
  readonly kind: 'action';
  readonly pos: number;
  readonly pipe: PipeNode;
}
export interface PipeNode {
  readonly kind: 'pipe';
  readonly pos: number;
  isAssign: boolean;
  readonly decl: VariableNode[];
  readonly cmds: CommandNode[];
}
export interface CommandNode {
  readonly kind: 'command';
  readonly pos: number;
  readonly args: Node[];
}
export interface IdentifierNode {
  readonly kind: 'identifier';
  readonly pos: number;
  readonly name: string;
}
export interface FieldNode {
  readonly kind: 'field';
  readonly pos: number;
  /** Field names without dots: `.a.b` is ['a', 'b']. */
  readonly ident: string[];
}
export interface VariableNode {
  readonly kind: 'variable';
  readonly pos: number;
  /** Variable name then fields: `$x.a` is ['$x', 'a']. */
  readonly ident: string[];
}
export interface ChainNode {
  readonly kind: 'chain';
  readonly pos: number;
  readonly node: Node;
  readonly field: string[];
}
export interface DotNode {
  readonly kind: 'dot';
  readonly pos: number;
}
export interface NilNode {
  readonly kind: 'nil';
  readonly pos: number;
}
export interface BoolNode {
  readonly kind: 'bool';
  readonly pos: number;
  readonly value: boolean;
}
export interface NumberNode {
  readonly kind: 'number';
  readonly pos: number;
  readonly value: number;
  readonly text: string;
  /** A float64 constant by Go's rules (`1.0`, `1e3`, `0x1p4`), even when its value is integral. */
  readonly float: boolean;
}
export interface StringNode {
  readonly kind: 'string';
  readonly pos: number;
  readonly quoted: string;
  readonly text: string;
}
export interface BranchNode<K extends 'if' | 'range' | 'with'> {
  readonly kind: K;
  readonly pos: number;
  readonly pipe: PipeNode;
  readonly list: ListNode;
  readonly elseList: ListNode | undefined;
}
export type IfNode = BranchNode<'if'>;
export type RangeNode = BranchNode<'range'>;
export type WithNode = BranchNode<'with'>;
export interface TemplateNode {
  readonly kind: 'template';
  readonly pos: number;
  readonly name: string;
  readonly pipe: PipeNode | undefined;
}
export interface BreakNode {
  readonly kind: 'break';
  readonly pos: number;
}
export interface ContinueNode {
  readonly kind: 'continue';
  readonly pos: number;
}

/** Renders a node back to template syntax, as Go's `Node.String()` does. */
export function nodeToString(n: Node): string {
  switch (n.kind) {
    case 'list':
      return n.nodes.map(nodeToString).join('');
    case 'text':
      return n.text;
    case 'action':
      return `{{${nodeToString(n.pipe)}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = `${n.decl.map(nodeToString).join(', ')} ${n.isAssign ? '=' : ':='} `;
      return s + n.cmds.map(nodeToString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.kind === 'pipe' ? `(${nodeToString(a)})` : nodeToString(a))).join(' ');
    case 'identifier':
      return n.name;
    case 'field':
      return n.ident.map((f) => `.${f}`).join('');
    case 'variable':
      return n.ident.join('.');
    case 'chain': {
      const base = n.node.kind === 'pipe' ? `(${nodeToString(n.node)})` : nodeToString(n.node);
      return base + n.field.map((f) => `.${f}`).join('');
    }
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(n.value);
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'if':
    case 'range':
    case 'with': {
      const els = n.elseList ? `{{else}}${nodeToString(n.elseList)}` : '';
      return `{{${n.kind} ${nodeToString(n.pipe)}}}${nodeToString(n.list)}${els}{{end}}`;
    }
    case 'template':
      return n.pipe
        ? `{{template ${JSON.stringify(n.name)} ${nodeToString(n.pipe)}}}`
        : `{{template ${JSON.stringify(n.name)}}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
  }
}

/** 1-based line and 0-based column of an offset, as Go's ErrorContext computes them. */
export function lineCol(text: string, pos: number): { line: number; col: number } {
  let line = 1;
  let lastNl = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lastNl = i;
    }
  }
  return { line, col: lastNl < 0 ? pos : pos - lastNl - 1 };
}
