import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runConfdCommand } from './command.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabby-confd-cmd-'));
  await mkdir(join(dir, 'conf.d'));
  await mkdir(join(dir, 'templates'));
  await writeFile(join(dir, 'templates', 'app.tmpl'), 'as {{getv "/global/as_num"}} on {{getenv "NODENAME"}}\n');
  await writeFile(
    join(dir, 'conf.d', 'app.toml'),
    `[template]\nsrc = "app.tmpl"\ndest = "${join(dir, 'app.conf')}"\nprefix = "/calico/bgp/v1"\nkeys = ["/global"]\ncheck_cmd = "test -s {{.src}}"\nreload_cmd = "echo reload >> ${join(dir, 'reload.log')}"\n`,
  );
  await writeFile(join(dir, 'keys.yaml'), '/calico/bgp/v1/global/as_num: "64512"\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function io(env: Record<string, string> = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('tabby confd', () => {
  it('--help teaches the command', async () => {
    const t = io();
    expect(await runConfdCommand(['--help'], t.io)).toBe(0);
    expect(t.out()).toContain('Usage: tabby confd');
    expect(t.out()).toContain('check_cmd');
  });
  it('rejects unknown options and a missing key source', async () => {
    const t = io();
    expect(await runConfdCommand(['--bogus'], t.io)).toBe(2);
    expect(t.err()).toContain("Unknown option '--bogus'");
    expect(await runConfdCommand(['--onetime'], t.io)).toBe(2);
    expect(t.err()).toContain('give --datastore URL (or set TABBY_DATASTORE), or --keys FILE');
  });
  it('--onetime renders, checks, swaps and reloads once', async () => {
    const t = io();
    const args = ['--onetime', '--confdir', dir, '--keys', join(dir, 'keys.yaml'), '--node', 'node-a'];
    expect(await runConfdCommand(args, t.io)).toBe(0);
    expect(await readFile(join(dir, 'app.conf'), 'utf8')).toBe('as 64512 on node-a\n');
    expect(await runConfdCommand(args, t.io)).toBe(0);
    expect(await readFile(join(dir, 'reload.log'), 'utf8')).toBe('reload\n');
  });
  it('--noop prints the diff and writes nothing', async () => {
    await writeFile(join(dir, 'app.conf'), 'as 1 on node-a\n');
    const t = io({ NODENAME: 'node-a' });
    const args = ['--onetime', '--noop', '--confdir', dir, '--keys', join(dir, 'keys.yaml')];
    expect(await runConfdCommand(args, t.io)).toBe(0);
    expect(t.out()).toContain('-as 1 on node-a\n+as 64512 on node-a');
    expect(await readFile(join(dir, 'app.conf'), 'utf8')).toBe('as 1 on node-a\n');
  });
  it('exits 1 when a resource fails', async () => {
    await writeFile(join(dir, 'keys.yaml'), '{}\n');
    const t = io();
    const args = ['--onetime', '--confdir', dir, '--keys', join(dir, 'keys.yaml'), '--node', 'n'];
    expect(await runConfdCommand(args, t.io)).toBe(1);
    expect(t.err()).toContain('key does not exist: /global/as_num');
  });
  it('watch mode re-renders when the keys file changes, and stops on abort', async () => {
    const ac = new AbortController();
    const t = io();
    const args = ['--confdir', dir, '--keys', join(dir, 'keys.yaml'), '--node', 'node-a', '--debounce', '10'];
    const done = runConfdCommand(args, { ...t.io, signal: ac.signal });
    const waitFor = async (want: string) => {
      for (let i = 0; i < 200; i++) {
        const got = await readFile(join(dir, 'app.conf'), 'utf8').catch(() => '');
        if (got === want) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      throw new Error(`timed out waiting for ${JSON.stringify(want)}`);
    };
    await waitFor('as 64512 on node-a\n');
    await writeFile(join(dir, 'keys.yaml'), '/calico/bgp/v1/global/as_num: "64999"\n');
    await waitFor('as 64999 on node-a\n');
    // Replaced by rename, as editors do.
    await writeFile(join(dir, 'keys.yaml.new'), '/calico/bgp/v1/global/as_num: "65000"\n');
    await rename(join(dir, 'keys.yaml.new'), join(dir, 'keys.yaml'));
    await waitFor('as 65000 on node-a\n');
    ac.abort();
    expect(await done).toBe(0);
    expect(await readFile(join(dir, 'reload.log'), 'utf8')).toBe('reload\nreload\nreload\n');
  });
});
