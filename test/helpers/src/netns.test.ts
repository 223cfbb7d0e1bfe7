import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { canUseNetns, exec, listNamespaces, NetLab, sweepStaleNamespaces, waitFor } from './index.js';

/** Dead, or a zombie waiting for a reaper that is not ours. */
function pidGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe.skipIf(!canUseNetns())('NetLab', () => {
  const lab = new NetLab();
  afterAll(() => lab.destroy());

  it('links two namespaces with a veth pair and carries real traffic', async () => {
    const a = await lab.netns('a');
    const b = await lab.netns('b');
    await lab.link(a, 'eth0', '198.18.0.1/24', b, 'eth0', '198.18.0.2/24');
    const ping = await a.exec(['ping', '-c', '1', '-W', '2', '198.18.0.2']);
    expect(ping.stdout).toMatch(/1 received/);
    // Nothing was added to the root namespace.
    const root = await exec(['ip', '-json', 'addr', 'show']);
    expect(root.stdout).not.toContain('198.18.0.');
  });

  it('connects several hosts through a bridge inside a switch namespace', async () => {
    const sw = await lab.bridge();
    const hosts = await Promise.all([lab.netns('h1'), lab.netns('h2'), lab.netns('h3')]);
    for (const [i, h] of hosts.entries()) await sw.plug(h, 'eth0', `198.18.1.${i + 1}/24`);
    const r = await hosts[0]!.exec(['ping', '-c', '1', '-W', '2', '198.18.1.3']);
    expect(r.stdout).toMatch(/1 received/);
  });

  it('runs processes inside a namespace and kills them on destroy', async () => {
    const own = new NetLab();
    const ns = await own.netns('p');
    const proc = ns.spawn(['sleep', '300']);
    const pid = proc.pid as number;
    expect(proc.running).toBe(true);
    const names = own.names;
    await own.destroy();
    expect(proc.running).toBe(false);
    expect(pidGone(pid)).toBe(true);
    const left = await listNamespaces();
    for (const n of names) expect(left).not.toContain(n);
  });

  it('reports a failing command with its command line and stderr', async () => {
    const ns = await lab.netns('err');
    await expect(ns.ip(['route', 'add', '198.18.5.0/24', 'dev', 'nosuchdev'])).rejects.toThrow(/nosuchdev/);
  });

  it('removes every namespace after a suite whose tests fail and time out', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tabby-fixture-')), 'names');
    const child = spawn('npx', ['vitest', 'run', '--config', 'vitest.fixture.config.ts', '--reporter=dot'], {
      cwd: join(repoRoot, 'test/helpers'),
      env: { ...process.env, TABBY_FIXTURE_OUT: out, VITEST_FIXTURE: '1' },
      stdio: 'pipe',
    });
    let output = '';
    child.stdout.on('data', (d) => {
      output += d;
    });
    child.stderr.on('data', (d) => {
      output += d;
    });
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code, output).not.toBe(0);
    const made = readFileSync(out, 'utf8').trim().split('\n');
    expect(made).toHaveLength(3);
    const left = await listNamespaces();
    for (const n of made) expect(left).not.toContain(n);
  }, 60_000);

  /** Starts the holder fixture: a process with a lab whose namespace holds a `sleep`. */
  async function startHolder(env: Record<string, string> = {}) {
    const script = fileURLToPath(new URL('./fixtures/killed-holder.mjs', import.meta.url));
    const child = spawn(process.execPath, [script], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...env },
    });
    const line = await new Promise<string>((resolve) => {
      let buf = '';
      child.stdout.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) resolve(buf.trim());
      });
      child.on('exit', (code) => resolve(`exited ${code}`));
    });
    const [name, pid] = line.split(' ');
    expect(name).toMatch(/^tby-/);
    return { child, name: name!, pid: Number(pid) };
  }

  it.each(['SIGTERM', 'SIGINT'] as const)(
    'removes its namespaces and processes when ended by %s',
    async (sig) => {
      const { child, name, pid } = await startHolder();
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
      child.kill(sig);
      try {
        expect(await exited).toBe(sig);
        expect(await listNamespaces()).not.toContain(name);
        await waitFor('the process inside the namespace to die', () => pidGone(pid), 5000);
      } finally {
        await sweepStaleNamespaces((n) => n === name); // what a failing run left
      }
    },
    30_000,
  );

  it('leaves a process that handles SIGTERM itself to its own teardown', async () => {
    const { child, name, pid } = await startHolder({ HOLDER_HANDLES_SIGTERM: '1' });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    try {
      expect(await exited).toBe(0); // its handler ran to the end: not ended by the signal
      expect(await listNamespaces()).not.toContain(name);
      await waitFor('the process inside the namespace to die', () => pidGone(pid), 5000);
    } finally {
      await sweepStaleNamespaces((n) => n === name);
    }
  }, 30_000);

  it('sweeps namespaces and processes left by a SIGKILLed run', async () => {
    const { child, name, pid } = await startHolder();
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    expect(await listNamespaces()).toContain(name);
    const removed = await sweepStaleNamespaces((n) => n === name);
    expect(removed).toContain(name);
    expect(await listNamespaces()).not.toContain(name);
    await waitFor('the process inside the swept namespace to die', () => pidGone(pid), 5000);
  }, 30_000);
});
