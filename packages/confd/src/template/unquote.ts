// Go string and character literal unquoting (strconv.Unquote's escapes).

const SIMPLE: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

function unescapeGo(body: string, quote: string): string {
  let out = '';
  const bytes: number[] = [];
  const flush = () => {
    if (bytes.length) {
      out += Buffer.from(bytes).toString('utf8');
      bytes.length = 0;
    }
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== '\\') {
      flush();
      out += c;
      continue;
    }
    const e = body[++i];
    if (e === undefined) throw new Error('invalid syntax');
    const simple = SIMPLE[e];
    if (simple !== undefined) {
      if ((e === '"' || e === "'") && e !== quote) throw new Error('invalid syntax');
      flush();
      out += simple;
      continue;
    }
    if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = body.slice(i + 1, i + 1 + n);
      if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) throw new Error('invalid syntax');
      i += n;
      const v = Number.parseInt(hex, 16);
      if (e === 'x') bytes.push(v);
      else {
        flush();
        out += String.fromCodePoint(v);
      }
      continue;
    }
    if (e >= '0' && e <= '7') {
      const oct = body.slice(i, i + 3);
      if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
      i += 2;
      bytes.push(Number.parseInt(oct, 8));
      continue;
    }
    throw new Error('invalid syntax');
  }
  flush();
  return out;
}

/** Unquotes a Go interpreted string literal including its quotes. */
export function unquoteString(quoted: string): string {
  return unescapeGo(quoted.slice(1, -1), '"');
}

/** Value of a Go character literal ('a', '\n', '\u00e9') as a code point. */
export function unquoteChar(quoted: string): number {
  const s = unescapeGo(quoted.slice(1, -1), "'");
  const cp = s.codePointAt(0);
  if (cp === undefined || String.fromCodePoint(cp) !== s) throw new Error(`malformed character constant: ${quoted}`);
  return cp;
}
