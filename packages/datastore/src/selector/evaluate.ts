import { NAMESPACE_LABEL, type SelectorAst } from './ast.js';
import { parseSelector } from './parse.js';

/** Labels of the thing a selector is matched against. */
export type Labels = Readonly<Record<string, string>>;

/** Evaluates a parsed selector against a label set. */
export function evaluateSelector(ast: SelectorAst, labels: Labels): boolean {
  switch (ast.op) {
    case 'all':
      return true;
    case 'global':
      return !Object.hasOwn(labels, NAMESPACE_LABEL);
    case 'has':
      return Object.hasOwn(labels, ast.label);
    case '!':
      return !evaluateSelector(ast.expr, labels);
    case '&&':
      return evaluateSelector(ast.left, labels) && evaluateSelector(ast.right, labels);
    case '||':
      return evaluateSelector(ast.left, labels) || evaluateSelector(ast.right, labels);
  }
  const v = Object.hasOwn(labels, ast.label) ? labels[ast.label] : undefined;
  switch (ast.op) {
    case '==':
      return v === ast.value;
    case '!=':
      return v !== ast.value;
    case 'in':
      return v !== undefined && ast.values.includes(v);
    case 'not in':
      return v === undefined || !ast.values.includes(v);
    case 'contains':
      return v?.includes(ast.value) ?? false;
    case 'starts with':
      return v?.startsWith(ast.value) ?? false;
    case 'ends with':
      return v?.endsWith(ast.value) ?? false;
  }
}

/** A compiled selector: parse once, match many times. */
export class Selector {
  readonly ast: SelectorAst;
  constructor(readonly text: string) {
    this.ast = parseSelector(text);
  }
  matches(labels: Labels): boolean {
    return evaluateSelector(this.ast, labels);
  }
}

/** Parses and evaluates in one call (throws SelectorParseError). */
export function matchesSelector(selector: string, labels: Labels): boolean {
  return evaluateSelector(parseSelector(selector), labels);
}
