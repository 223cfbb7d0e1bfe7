import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { main } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io() {
  const o = {
    out: '',
    err: '',
    stdout: (s: string) => {
      o.out += s;
    },
    stderr: (s: string) => {
      o.err += s;
    },
  };
  return o;
}

it('tabby apply, get, delete and ipam show through the command line', async () => {
  const store = `file://${join(dir, 's.json')}`;
  const f = join(dir, 'pool.yaml');
  writeFileSync(
    f,
    'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: p\nspec:\n  cidr: 198.18.0.0/24\n  vxlanMode: Always\n',
  );
  const dry = io();
  expect(await main(['apply', '-f', f, '--dry-run', '--datastore', store], dry)).toBe(0);
  expect(dry.out).toBe(
    'IPPool/p created (dry run)\ndry run, nothing written: 1 resource: 1 created, 0 configured, 0 unchanged, 0 failed\n',
  );
  const a = io();
  expect(await main(['apply', '-f', f, '--datastore', store], a)).toBe(0);
  expect(a.out).toBe('IPPool/p created\n1 resource: 1 created, 0 configured, 0 unchanged, 0 failed\n');
  const g = io();
  expect(await main(['get', 'ippool', 'p', '-o', 'json', '--datastore', store], g)).toBe(0);
  expect(JSON.parse(g.out).spec).toMatchObject({ cidr: '198.18.0.0/24', vxlanMode: 'Always', blockSize: 26 });
  const s = io();
  expect(await main(['ipam', 'show', '--datastore', store], s)).toBe(0);
  expect(s.out).toMatch(/^p\s+198\.18\.0\.0\/24/m);
  const d = io();
  expect(await main(['delete', 'ippool', 'p', '--datastore', store], d)).toBe(0);
  expect(d.out).toBe('IPPool/p deleted\n');
  const bad = io();
  expect(await main(['get'], bad)).toBe(1);
  expect(bad.err).toMatch(/Not enough non-option arguments/);
  expect(bad.out).toBe('');
});
