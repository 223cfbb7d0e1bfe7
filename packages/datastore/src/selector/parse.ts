import { DatastoreError, ErrorCode } from '../errors.js';
import type { SelectorAst } from './ast.js';

/** A selector did not parse. `column` is 1-based and points at the offending character. */
export class SelectorParseError extends DatastoreError {
  constructor(
    readonly selector: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super(
      ErrorCode.SelectorParse,
      `selector ${JSON.stringify(selector)}: ${reason} at column ${column}\n  ${selector}\n  ${' '.repeat(column - 1)}^`,
    );
  }
}

const LABEL = /[A-Za-z0-9_./-]/;

/** Parses Calico's selector language. An empty or blank selector means `all()`. */
export function parseSelector(text: string): SelectorAst {
  return new Parser(text).parseAll();
}

class Parser {
  private pos = 0;
  constructor(private readonly s: string) {}

  parseAll(): SelectorAst {
    this.ws();
    if (this.pos >= this.s.length) return { op: 'all' };
    const e = this.or();
    this.ws();
    if (this.pos < this.s.length) this.fail(`unexpected ${JSON.stringify(this.s[this.pos])}`);
    return e;
  }

  private fail(reason: string, at = this.pos): never {
    throw new SelectorParseError(this.s, at + 1, reason);
  }

  private ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos] as string)) this.pos++;
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

  private or(): SelectorAst {
    let left = this.and();
    while (this.eat('||')) left = { op: '||', left, right: this.and() };
    return left;
  }

  private and(): SelectorAst {
    let left = this.unary();
    while (this.eat('&&')) left = { op: '&&', left, right: this.unary() };
    return left;
  }

  private unary(): SelectorAst {
    this.ws();
    if (this.eat('!')) {
      // `!=` cannot start an expression, so `!` here is always negation.
      return { op: '!', expr: this.unary() };
    }
    if (this.eat('(')) {
      const e = this.or();
      this.expect(')');
      return e;
    }
    if (this.keywordCall('all')) return { op: 'all' };
    if (this.keywordCall('global')) return { op: 'global' };
    if (
      this.peekWord('has') &&
      this.s
        .slice(this.pos + 3)
        .trimStart()
        .startsWith('(')
    ) {
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
      `expected an operator (==, !=, in, not in, contains, starts with, ends with) after label ${JSON.stringify(label)}${this.found()}`,
    );
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
