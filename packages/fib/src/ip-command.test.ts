import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run } from './ip-command.js';

describe('run', () => {
  it('hands over standard output in pieces that join to the whole, through a pipe or a spool file', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'binary', maxLength: 3000 }), fc.boolean(), async (text, spool) => {
        const pieces: string[] = [];
        const res = await run(['cat'], { input: text, spool, onStdout: (t) => pieces.push(t) });
        expect(res.stdout).toBe('');
        expect(pieces.join('')).toBe(text);
        expect((await run(['cat'], { input: text, spool })).stdout).toBe(text);
      }),
      { numRuns: 40 },
    );
  });

  it('reads a spool file while the command still writes, without splitting a character', async () => {
    const pieces: string[] = [];
    // Two writes 100 ms apart, the second starting in the middle of the two-byte `é`.
    await run(['sh', '-c', "printf 'caf\\303'; sleep 0.1; printf '\\251\\nend\\n'"], {
      spool: true,
      onStdout: (t) => pieces.push(t),
    });
    expect(pieces.join('')).toBe('café\nend\n');
    expect(pieces.every((p) => !p.includes('\ufffd'))).toBe(true);
  });

  it('rejects with what the consumer threw', async () => {
    await expect(
      run(['echo', 'x'], {
        spool: true,
        onStdout: () => {
          throw new Error('consumer failed');
        },
      }),
    ).rejects.toThrow('consumer failed');
  });
});
