import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { RR_HELP, runRr } from './daemon.js';

const dir = mkdtempSync(join(tmpdir(), 'tabby-rr-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** Runs `tabby rr ARGS` in-process; collects what it printed. */
async function run(args: string[], env: Record<string, string | undefined> = {}) {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    stdout += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    stderr += String(s);
    return true;
  });
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    const code = await runRr(args);
    return { code, stdout, stderr };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('tabby rr (runRr)', () => {
  it('--help prints the usage, options and an example config', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(RR_HELP);
    for (const s of ['--config', '--check', '--socket', '--datastore', '--log-level', 'clusterId:', 'nodeSelector']) {
      expect(RR_HELP).toContain(s);
    }
  });

  it('refuses a missing --config and unknown options, pointing at --help', async () => {
    expect(await run([])).toMatchObject({ code: 1, stderr: expect.stringContaining('--config FILE is required') });
    expect(await run(['--bogus'])).toMatchObject({ code: 1, stderr: expect.stringContaining('tabby rr --help') });
  });

  it('--check: OK with a summary, or every problem with file:line:column', async () => {
    const good = file(
      'good.yaml',
      'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\nclients:\n  - { address: 198.18.0.1 }\n' +
        'datastore: { nodeSelector: "all()" }\n',
    );
    const ok = await run(['--check', '-c', good]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK (router ID 198.18.0.10, AS 64512, cluster ID 198.18.0.100, 1 listed clients');
    const bad = file('bad.yaml', 'routerId: 198.18.0.10\nasn: 64512\nclusterID: 198.18.0.100\n');
    const r = await run(['--check', '-c', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}:3:1: clusterID: unknown field (did you mean "clusterId"?)`);
    expect(r.stderr).toContain(`${bad}:1:1: clusterId: is required`);
    expect(r.stderr).toContain(`${bad}: 2 problems`);
  });

  it('refuses a bad --metrics-port in one line, before starting anything', async () => {
    const good = file('metrics.yaml', 'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\n');
    const r = await run(['--check', '-c', good, '--metrics-port', '70000']);
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe('tabby rr: --metrics-port must be a port number from 1 to 65535, not "70000"\n');
  });

  it('will not start with a datastore section but no URL anywhere', async () => {
    const f = file('nourl.yaml', 'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\ndatastore: {}\n');
    const r = await run(['-c', f], { TABBY_DATASTORE: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('has a datastore section but no URL');
  });

  it('refuses a bad datastore URL before starting anything', async () => {
    const f = file('badurl.yaml', 'routerId: 198.18.0.10\nasn: 64512\nclusterId: 198.18.0.100\ndatastore: {}\n');
    const r = await run(['-c', f, '--datastore', 'gopher://x'], { TABBY_DATASTORE: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('unknown scheme gopher:');
  });
});
