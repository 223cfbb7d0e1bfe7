// Lexer for Go text/template syntax. Produces the whole token list up front: templates are
// small and the parser needs arbitrary look-ahead (Go's parser backs up three tokens).

export const Tok = {
  Text: 'text',
  LeftDelim: 'left delim',
  RightDelim: 'right delim',
  Space: 'space',
  Identifier: 'identifier',
  Field: 'field',
  Variable: 'variable',
  Dot: 'dot',
  String: 'string',
  RawString: 'raw string',
  Char: 'character constant',
  Number: 'number',
  Bool: 'bool',
  Nil: 'nil',
  LeftParen: '(',
  RightParen: ')',
  Pipe: '|',
  Declare: ':=',
  Assign: '=',
  Comma: ',',
  Keyword: 'keyword',
  EOF: 'EOF',
} as const;
export type TokType = (typeof Tok)[keyof typeof Tok];

export interface Token {
  readonly type: TokType;
  readonly value: string;
  /** Offset in the template text. */
  readonly pos: number;
}

export const KEYWORDS: ReadonlySet<string> = new Set([
  'block',
  'break',
  'continue',
  'define',
  'else',
  'end',
  'if',
  'range',
  'template',
  'with',
]);

/** A lexing failure at an offset; the parser turns it into a TemplateParseError. */
export class LexError extends Error {
  constructor(
    message: string,
    readonly pos: number,
  ) {
    super(message);
  }
}

const LEFT = '{{';
const RIGHT = '}}';

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlnum(c: string | undefined): boolean {
  if (c === undefined) return false;
  return c === '_' || /[\p{L}\p{Nd}]/u.test(c);
}

/** Tokenises a whole template. Throws LexError. */
export function lex(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let trimNextText = false;
  while (i <= text.length) {
    // Text up to the next action.
    let start = i;
    const at = text.indexOf(LEFT, i);
    const end = at < 0 ? text.length : at;
    const trimLeft = at >= 0 && text[at + 2] === '-' && isSpace(text[at + 3]);
    if (trimNextText) {
      while (start < end && isSpace(text[start])) start++;
      trimNextText = false;
    }
    let textEnd = end;
    if (trimLeft) while (textEnd > start && isSpace(text[textEnd - 1])) textEnd--;
    if (textEnd > start) out.push({ type: Tok.Text, value: text.slice(start, textEnd), pos: start });
    if (at < 0) break;
    // Inside an action.
    i = at + 2;
    if (trimLeft) i += 2;
    // Comment: must follow the delimiter (and trim marker) directly.
    if (text.startsWith('/*', i)) {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new LexError('unclosed comment', at);
      i = close + 2;
      if (isSpace(text[i]) && text[i + 1] === '-' && text.startsWith(RIGHT, i + 2)) {
        trimNextText = true;
        i += 4;
      } else if (text.startsWith(RIGHT, i)) {
        i += 2;
      } else {
        throw new LexError('comment ends before closing delimiter', at);
      }
      continue;
    }
    out.push({ type: Tok.LeftDelim, value: LEFT, pos: at });
    let parenDepth = 0;
    for (;;) {
      // Right delimiter, with or without trim marker.
      if (isSpace(text[i]) && text[i + 1] === '-' && text.startsWith(RIGHT, i + 2)) {
        if (parenDepth > 0) throw new LexError('unclosed left paren', i);
        out.push({ type: Tok.RightDelim, value: RIGHT, pos: i + 2 });
        trimNextText = true;
        i += 4;
        break;
      }
      if (text.startsWith(RIGHT, i)) {
        if (parenDepth > 0) throw new LexError('unclosed left paren', i);
        out.push({ type: Tok.RightDelim, value: RIGHT, pos: i });
        i += 2;
        break;
      }
      const c = text[i];
      if (c === undefined) throw new LexError('unclosed action', at);
      if (isSpace(c)) {
        const s = i;
        while (isSpace(text[i]) && !(text[i + 1] === '-' && text.startsWith(RIGHT, i + 2))) i++;
        if (i === s) i++;
        out.push({ type: Tok.Space, value: text.slice(s, i), pos: s });
        continue;
      }
      if (c === '=') {
        out.push({ type: Tok.Assign, value: '=', pos: i++ });
        continue;
      }
      if (c === ':') {
        if (text[i + 1] !== '=') throw new LexError('expected :=', i);
        out.push({ type: Tok.Declare, value: ':=', pos: i });
        i += 2;
        continue;
      }
      if (c === '|') {
        out.push({ type: Tok.Pipe, value: '|', pos: i++ });
        continue;
      }
      if (c === ',') {
        out.push({ type: Tok.Comma, value: ',', pos: i++ });
        continue;
      }
      if (c === '(') {
        parenDepth++;
        out.push({ type: Tok.LeftParen, value: '(', pos: i++ });
        continue;
      }
      if (c === ')') {
        parenDepth--;
        if (parenDepth < 0) throw new LexError(`unexpected right paren ${goRune(')')}`, i);
        out.push({ type: Tok.RightParen, value: ')', pos: i++ });
        continue;
      }
      if (c === '"') {
        const s = i++;
        for (;;) {
          const d = text[i];
          if (d === '\\') {
            if (text[i + 1] === undefined || text[i + 1] === '\n') throw new LexError('unterminated quoted string', s);
            i += 2;
            continue;
          }
          if (d === undefined || d === '\n') throw new LexError('unterminated quoted string', s);
          i++;
          if (d === '"') break;
        }
        out.push({ type: Tok.String, value: text.slice(s, i), pos: s });
        continue;
      }
      if (c === '`') {
        const close = text.indexOf('`', i + 1);
        if (close < 0) throw new LexError('unterminated raw quoted string', i);
        out.push({ type: Tok.RawString, value: text.slice(i, close + 1), pos: i });
        i = close + 1;
        continue;
      }
      if (c === "'") {
        const s = i++;
        for (;;) {
          const d = text[i];
          if (d === '\\') {
            i += 2;
            continue;
          }
          if (d === undefined || d === '\n') throw new LexError('unterminated character constant', s);
          i++;
          if (d === "'") break;
        }
        out.push({ type: Tok.Char, value: text.slice(s, i), pos: s });
        continue;
      }
      if (c === '$') {
        const s = i++;
        while (isAlnum(text[i])) i++;
        out.push({ type: Tok.Variable, value: text.slice(s, i), pos: s });
        checkTerminator(text, i);
        continue;
      }
      if (c === '.') {
        // A '.' followed by a digit is a number such as .5.
        const n = text[i + 1];
        if (n !== undefined && n >= '0' && n <= '9') {
          i = lexNumber(text, i, out);
          continue;
        }
        if (isAlnum(n)) {
          const s = i++;
          while (isAlnum(text[i])) i++;
          out.push({ type: Tok.Field, value: text.slice(s, i), pos: s });
          checkTerminator(text, i);
          continue;
        }
        out.push({ type: Tok.Dot, value: '.', pos: i++ });
        continue;
      }
      if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
        i = lexNumber(text, i, out);
        continue;
      }
      if (isAlnum(c)) {
        const s = i;
        while (isAlnum(text[i])) i++;
        const word = text.slice(s, i);
        checkTerminator(text, i);
        if (KEYWORDS.has(word)) out.push({ type: Tok.Keyword, value: word, pos: s });
        else if (word === 'true' || word === 'false') out.push({ type: Tok.Bool, value: word, pos: s });
        else if (word === 'nil') out.push({ type: Tok.Nil, value: word, pos: s });
        else out.push({ type: Tok.Identifier, value: word, pos: s });
        continue;
      }
      throw new LexError(`unrecognized character in action: ${goRune(c)}`, i);
    }
  }
  out.push({ type: Tok.EOF, value: '', pos: text.length });
  return out;
}

function checkTerminator(text: string, i: number): void {
  const c = text[i];
  if (c === undefined || isSpace(c) || '.,|:)('.includes(c) || c === '=' || text.startsWith(RIGHT, i)) return;
  throw new LexError(`bad character ${goRune(c)}`, i);
}

const NUMBER_RE =
  /^[+-]?(?:0[xX](?:[0-9a-fA-F_]*\.?[0-9a-fA-F_]*)(?:[pP][+-]?[0-9_]+)?|0[oO][0-7_]+|0[bB][01_]+|(?:[0-9_]*\.?[0-9_]*)(?:[eE][+-]?[0-9_]+)?)i?/;

function lexNumber(text: string, i: number, out: Token[]): number {
  const m = NUMBER_RE.exec(text.slice(i, i + 200));
  const s = m?.[0] ?? '';
  const after = text[i + s.length];
  if (s === '' || s === '+' || s === '-' || isAlnum(after)) {
    let e = i + s.length;
    while (isAlnum(text[e]) || text[e] === '.') e++;
    const bad = text.slice(i, Math.max(e, i + 1));
    throw new LexError(`bad number syntax: ${JSON.stringify(bad.slice(0, 40))}${bad.length > 40 ? '…' : ''}`, i);
  }
  out.push({ type: Tok.Number, value: s, pos: i });
  return i + s.length;
}

/** A rune as Go's %#U prints it: U+002F '/'. */
function goRune(c: string): string {
  const cp = c.codePointAt(0) ?? 0;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')} '${c}'`;
}
