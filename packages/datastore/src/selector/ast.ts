/** The parsed form of a Calico label selector. `and`/`or` are binary and left-associative. */
export type SelectorAst =
  | { op: 'all' }
  | { op: 'global' }
  | { op: 'has'; label: string }
  | { op: '==' | '!=' | 'contains' | 'starts with' | 'ends with'; label: string; value: string }
  | { op: 'in' | 'not in'; label: string; values: string[] }
  | { op: '!'; expr: SelectorAst }
  | { op: '&&' | '||'; left: SelectorAst; right: SelectorAst };

/** The label Calico sets on namespaced resources; `global()` means "not namespaced". */
export const NAMESPACE_LABEL = 'projectcalico.org/namespace';

function quote(s: string): string {
  return s.includes("'") ? `"${s}"` : `'${s}'`;
}

/** Prints an AST back to selector text; every binary operation is parenthesised, so parse(print(a)) equals a. */
export function printSelector(ast: SelectorAst): string {
  switch (ast.op) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${ast.label})`;
    case 'in':
    case 'not in':
      return `${ast.label} ${ast.op} {${ast.values.map(quote).join(', ')}}`;
    case '!':
      return `!${printSelector(ast.expr)}`;
    case '&&':
    case '||':
      return `(${printSelector(ast.left)} ${ast.op} ${printSelector(ast.right)})`;
    default:
      return `${ast.label} ${ast.op} ${quote(ast.value)}`;
  }
}
