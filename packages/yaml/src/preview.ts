/**
 * A value as JSON for an error message, cut to about `max` characters: a string longer than
 * that shows its first `max` characters, `…` and its length (`"aaaa…" (10485760 characters)`),
 * a list or mapping stops at `…`. Never slower than the part it shows.
 */
export function preview(value: unknown, max = 40): string {
  if (typeof value === 'string') {
    if (value.length <= max) return JSON.stringify(value);
    return `${JSON.stringify(value.slice(0, max)).slice(0, -1)}…" (${value.length} characters)`;
  }
  let out = '';
  const write = (v: unknown, depth: number): boolean => {
    if (out.length > max) return false;
    if (typeof v === 'string') out += JSON.stringify(v.length > max ? `${v.slice(0, max)}…` : v);
    else if (typeof v === 'number' || typeof v === 'boolean' || v === null) out += String(v);
    else if (v === undefined) out += 'undefined';
    else if (typeof v === 'bigint') out += `${v}`;
    else if (typeof v === 'object' && depth < 8) {
      const list = Array.isArray(v);
      out += list ? '[' : '{';
      let first = true;
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        if (!first) out += ',';
        first = false;
        if (!list) out += `${JSON.stringify(k)}:`;
        if (!write((v as Record<string, unknown>)[k], depth + 1)) return false;
      }
      out += list ? ']' : '}';
    } else out += `[${typeof v}]`;
    return out.length <= max;
  };
  return write(value, 0) ? out : `${out.slice(0, max)}…`;
}
