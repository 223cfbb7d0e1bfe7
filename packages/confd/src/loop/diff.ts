/**
 * A short line diff for `--noop`: the common head and tail are skipped and the changed middle
 * is shown as removed and added lines, with up to three lines of context.
 */
export function lineDiff(oldText: string, newText: string, oldName: string, newName: string): string {
  if (oldText === newText) return '';
  const a = oldText.split('\n');
  const b = newText.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ctx = 3;
  const from = Math.max(0, head - ctx);
  const out = [`--- ${oldName}`, `+++ ${newName}`];
  const aEnd = a.length - tail;
  const bEnd = b.length - tail;
  out.push(`@@ -${from + 1},${aEnd - from + Math.min(ctx, tail)} +${from + 1},${bEnd - from + Math.min(ctx, tail)} @@`);
  for (let i = from; i < head; i++) out.push(` ${a[i]}`);
  for (let i = head; i < aEnd; i++) out.push(`-${a[i]}`);
  for (let i = head; i < bEnd; i++) out.push(`+${b[i]}`);
  for (let i = aEnd; i < Math.min(a.length, aEnd + ctx); i++) out.push(` ${a[i]}`);
  return `${out.join('\n')}\n`;
}
