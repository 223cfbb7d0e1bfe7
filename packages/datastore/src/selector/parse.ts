import { preview } from '@tabby/yaml';
import { DatastoreError, ErrorCode } from '../errors.js';
import type { SelectorAst } from './ast.js';

/**
 * A selector did not parse. `column` is 1-based and points at the offending character. The
 * message is one line and quotes at most the selector's first 60 characters.
 */
export class SelectorParseError extends DatastoreError {
  constructor(
    readonly selector: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super(ErrorCode.SelectorParse, `selector ${preview(selector, 60)}: ${reason} at column ${column}`);
  }
}

/**
 * Deepest selector accepted: parentheses, `!` and each further `&&`/`||` term count a level (a
 * chain of n terms is n deep: the operators are left-associative). Evaluation recurses as deep.
 */
export const MAX_SELECTOR_DEPTH = 500;

const LABEL = /[A-Za-z0-9_./-]/;

/** Parses Calico's selector language. An empty or blank selector means `all()`. */
export function parseSelector(text: string): SelectorAst {
  return new Parser(text).parseAll();
}

/** A subexpression and how deep its tree is. */
type Sub = [SelectorAst, number];

class Parser {
  private pos = 0;
  constructor(private readonly s: string) {}

  private deep(depth: number, at: number): number {
    if (depth > MAX_SELECTOR_DEPTH) this.fail(`nested more than ${MAX_SELECTOR_DEPTH} levels deep`, at);
    return depth;
  }

  parseAll(): SelectorAst {
    this.ws();
    if (this.pos >= this.s.length) return { op: 'all' };
    const [e] = this.or(0);
    this.ws();
    if (this.pos < this.s.length) this.fail(`unexpected ${JSON.stringify(this.s[this.pos])}`);
    return e;
  }

  private fail(reason: string, at = this.pos): never {
    throw new SelectorParseError(this.s, at + 1, reason);
  }

  private ws(): void {
    this.pos = this.skipWs(this.pos);
  }

  private peek(tok: string): boolean {
    this.ws();
    return this.s.startsWith(tok, this.pos);
  }

  private eat(tok: string): boolean {
    if (!this.peek(tok)) return false;
    this.pos += tok.length;
    return true;
  }

  private expect(tok: string): void {
    if (!this.eat(tok)) this.fail(`expected ${JSON.stringify(tok)}${this.found()}`);
  }

  private found(): string {
    return this.pos >= this.s.length ? ' but the selector ended' : ` but found ${JSON.stringify(this.s[this.pos])}`;
  }

  /** `depth`: the levels above this subexpression; each returns the depth of its deepest node. */
  private or(depth: number): Sub {
    let [left, d] = this.and(depth);
    for (let at = this.pos; this.eat('||'); at = this.pos) {
      const [right, rd] = this.and(depth);
      left = { op: '||', left, right };
      d = this.deep(Math.max(d, rd) + 1, at);
    }
    return [left, d];
  }

  private and(depth: number): Sub {
    let [left, d] = this.unary(depth);
    for (let at = this.pos; this.eat('&&'); at = this.pos) {
      const [right, rd] = this.unary(depth);
      left = { op: '&&', left, right };
      d = this.deep(Math.max(d, rd) + 1, at);
    }
    return [left, d];
  }

  private unary(depth: number): Sub {
    this.ws();
    const at = this.pos;
    if (this.eat('!')) {
      // `!=` cannot start an expression, so `!` here is always negation.
      const [expr, d] = this.unary(this.deep(depth + 1, at));
      return [{ op: '!', expr }, d];
    }
    if (this.eat('(')) {
      const e = this.or(this.deep(depth + 1, at));
      this.expect(')');
      return e;
    }
    return [this.term(), depth + 1];
  }

  private term(): SelectorAst {
    if (this.keywordCall('all')) return { op: 'all' };
    if (this.keywordCall('global')) return { op: 'global' };
    if (this.peekWord('has') && this.s[this.skipWs(this.pos + 3)] === '(') {
      this.pos += 3;
      this.expect('(');
      const label = this.label();
      this.expect(')');
      return { op: 'has', label };
    }
    const label = this.label();
    this.ws();
    if (this.eat('==')) return { op: '==', label, value: this.string() };
    if (this.eat('!=')) return { op: '!=', label, value: this.string() };
    if (this.eatWords('not', 'in')) return { op: 'not in', label, values: this.set() };
    if (this.eatWords('in')) return { op: 'in', label, values: this.set() };
    if (this.eatWords('contains')) return { op: 'contains', label, value: this.string() };
    if (this.eatWords('starts', 'with')) return { op: 'starts with', label, value: this.string() };
    if (this.eatWords('ends', 'with')) return { op: 'ends with', label, value: this.string() };
    return this.fail(
      `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label ${preview(label)}${this.found()}`,
    );
  }

  /** The first position at or after `i` that is not white space. */
  private skipWs(i: number): number {
    while (i < this.s.length && /\s/.test(this.s[i] as string)) i++;
    return i;
  }

  private peekWord(w: string): boolean {
    this.ws();
    if (!this.s.startsWith(w, this.pos)) return false;
    const next = this.s[this.pos + w.length];
    return next === undefined || !LABEL.test(next);
  }

  private keywordCall(w: string): boolean {
    const save = this.pos;
    if (!this.peekWord(w)) return false;
    this.pos += w.length;
    if (this.eat('(') && this.eat(')')) return true;
    this.pos = save;
    return false;
  }

  private eatWords(...words: string[]): boolean {
    const save = this.pos;
    for (const w of words) {
      if (!this.peekWord(w)) {
        this.pos = save;
        return false;
      }
      this.pos += w.length;
    }
    return true;
  }

  private label(): string {
    this.ws();
    const start = this.pos;
    while (this.pos < this.s.length && LABEL.test(this.s[this.pos] as string)) this.pos++;
    if (this.pos === start) this.fail(`expected a label or expression${this.found()}`);
    return this.s.slice(start, this.pos);
  }

  private string(): string {
    this.ws();
    const q = this.s[this.pos];
    if (q !== "'" && q !== '"') return this.fail(`expected a quoted string${this.found()}`);
    const end = this.s.indexOf(q, this.pos + 1);
    if (end < 0) return this.fail(`unterminated string (missing closing ${q})`);
    const v = this.s.slice(this.pos + 1, end);
    this.pos = end + 1;
    return v;
  }

  private set(): string[] {
    this.expect('{');
    const values: string[] = [];
    if (this.eat('}')) return values;
    do values.push(this.string());
    while (this.eat(','));
    this.expect('}');
    return values;
  }
}
