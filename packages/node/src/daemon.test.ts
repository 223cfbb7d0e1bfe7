import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Bad options are refused before anything starts, with a message that names the option.
const BIN = join(import.meta.dirname, '..', 'bin', 'tabby-node.js');
const dir = mkdtempSync(join(tmpdir(), 'tabby-node-args-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('tabby node options', () => {
  it.each(['abc', '2', '70000', '1.5'])('--hold-time %s is refused', (v) => {
    const r = run('--hold-time', v, '--fib', 'memory');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      `--hold-time must be 0 or a whole number of seconds from 3 to 65535 (RFC 4271), not "${v}"`,
    );
  });

  it('a missing speaker template is refused, naming the file', () => {
    const r = run('--speaker-template', join(dir, 'none.tmpl'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--speaker-template .*none\.tmpl: ENOENT/);
  });

  it('a speaker template that does not parse is refused with its file and line', () => {
    const file = join(dir, 'bad.tmpl');
    writeFileSync(file, 'routerId: x\n{{ if }}\n');
    const r = run('--speaker-template', file);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${file}:2:`);
  });
});
