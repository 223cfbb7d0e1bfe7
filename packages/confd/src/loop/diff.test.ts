import { describe, expect, it } from 'vitest';
import { lineDiff } from './diff.js';

describe('lineDiff', () => {
  it('is empty for equal text', () => {
    expect(lineDiff('a\nb\n', 'a\nb\n', 'x', 'y')).toBe('');
  });
  it('shows the changed middle with context', () => {
    const a = ['1', '2', '3', '4', '5', '6', '7', '8', ''].join('\n');
    const b = ['1', '2', '3', '4', 'five', '6', '7', '8', ''].join('\n');
    expect(lineDiff(a, b, 'old', 'new')).toBe('--- old\n+++ new\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n');
  });
  it('handles a new file', () => {
    expect(lineDiff('', 'a\n', 'old', 'new')).toContain('+a');
  });
});
