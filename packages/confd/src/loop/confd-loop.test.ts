import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueSource } from '../kv/memory-source.js';
import type { CommandResult, CommandRunner } from './command-runner.js';
import { ConfdLoop } from './confd-loop.js';
import { CheckFailedError, ReloadFailedError } from './errors.js';
import { FakeClock } from './fake-clock.test-util.js';
import { Outcome } from './resource-processor.js';
import type { TemplateResource } from './template-resource.js';

class RecordingRunner implements CommandRunner {
  readonly commands: string[] = [];
  failChecks = false;
  async run(command: string): Promise<CommandResult> {
    this.commands.push(command);
    if (command.startsWith('check') && this.failChecks) return { code: 1, output: 'syntax error, line 3' };
    return { code: 0, output: '' };
  }
  count(prefix: string): number {
    return this.commands.filter((c) => c.startsWith(prefix)).length;
  }
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabby-confd-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function resource(template: string, extra: Partial<TemplateResource> = {}): Promise<TemplateResource> {
  const src = join(dir, 'app.tmpl');
  await writeFile(src, template);
  return {
    name: 'app.toml',
    src,
    dest: join(dir, 'app.conf'),
    mode: 0o640,
    prefix: '/app',
    keys: ['/app/cfg'],
    checkCmd: 'check {{.src}}',
    reloadCmd: 'reload',
    ...extra,
  };
}

const TEMPLATE = 'port {{getv "/cfg/port"}}\n{{range gets "/cfg/peers/*"}}peer {{base .Key}} {{.Value}}\n{{end}}';

function source(): MemoryKeyValueSource {
  return new MemoryKeyValueSource(
    {
      '/app/cfg/port': '179',
      '/app/cfg/peers/b': '2',
      '/app/cfg/peers/a': '1',
      '/app/other/x': 'not watched',
    },
    { inSync: true },
  );
}

async function startLoop(src: MemoryKeyValueSource, runner: RecordingRunner, clock: FakeClock, res: TemplateResource) {
  const loop = new ConfdLoop({
    resources: [res],
    source: src,
    runner,
    clock,
    env: {},
    debounceMs: 50,
    initialBackoffMs: 1000,
  });
  const running = loop.run();
  await Promise.resolve();
  await new Promise((r) => setImmediate(r));
  clock.advance(0);
  await loop.idle();
  return { loop, running };
}

describe('ConfdLoop', () => {
  it('renders once at start, then exactly once per change, and never when nothing changed', async () => {
    const src = source();
    const runner = new RecordingRunner();
    const clock = new FakeClock();
    const res = await resource(TEMPLATE);
    const { loop, running } = await startLoop(src, runner, clock, res);
    expect(await readFile(res.dest, 'utf8')).toBe('port 179\npeer a 1\npeer b 2\n');
    expect((await stat(res.dest)).mode & 0o777).toBe(0o640);
    expect(loop.stats).toMatchObject({ renders: 1, updates: 1 });
    expect(runner.count('reload')).toBe(1);
    expect(runner.commands[0]).toBe(`check ${join(dir, '.app.conf.tabby-staged')}`);

    // A burst of changes to one watched key: one render, one reload.
    src.set('/app/cfg/port', '1179');
    src.set('/app/cfg/port', '1180');
    clock.advance(50);
    await loop.idle();
    expect(await readFile(res.dest, 'utf8')).toBe('port 1180\npeer a 1\npeer b 2\n');
    expect(loop.stats).toMatchObject({ renders: 2, updates: 2 });
    expect(runner.count('reload')).toBe(2);

    // Setting the same value, or changing an unwatched key: no render at all.
    src.set('/app/cfg/port', '1180');
    src.set('/app/other/x', 'changed');
    clock.advance(1000);
    await loop.idle();
    expect(loop.stats.renders).toBe(2);

    // A watched key the template ignores: a render, but identical output, so no reload.
    src.set('/app/cfg/unused', 'x');
    clock.advance(50);
    await loop.idle();
    expect(loop.stats).toMatchObject({ renders: 3, updates: 2, unchanged: 1 });
    expect(runner.count('reload')).toBe(2);

    loop.stop();
    await running;
  });

  it('a failing check keeps the old file, reports, and retries with back-off', async () => {
    const src = source();
    const runner = new RecordingRunner();
    const clock = new FakeClock();
    const res = await resource(TEMPLATE);
    const results: unknown[] = [];
    const loop = new ConfdLoop({
      resources: [res],
      source: src,
      runner,
      clock,
      env: {},
      debounceMs: 50,
      initialBackoffMs: 1000,
      onResult: (r) => results.push(r),
    });
    const running = loop.run();
    await new Promise((r) => setImmediate(r));
    clock.advance(0);
    await loop.idle();
    const good = await readFile(res.dest, 'utf8');

    runner.failChecks = true;
    src.set('/app/cfg/port', '9999');
    clock.advance(50);
    await loop.idle();
    expect(await readFile(res.dest, 'utf8')).toBe(good);
    const last = results.at(-1) as { error: Error };
    expect(last.error).toBeInstanceOf(CheckFailedError);
    expect(last.error.message).toContain('syntax error, line 3');
    await expect(stat(join(dir, '.app.conf.tabby-staged'))).rejects.toThrow();
    expect(runner.count('reload')).toBe(1);

    // Back-off: 1 s, then 2 s.
    const checks = runner.count('check');
    clock.advance(999);
    await loop.idle();
    expect(runner.count('check')).toBe(checks);
    clock.advance(1);
    await loop.idle();
    expect(runner.count('check')).toBe(checks + 1);
    clock.advance(1999);
    await loop.idle();
    expect(runner.count('check')).toBe(checks + 1);
    runner.failChecks = false;
    clock.advance(1);
    await loop.idle();
    expect(await readFile(res.dest, 'utf8')).toContain('port 9999');
    expect(runner.count('reload')).toBe(2);

    // During a long back-off, a new change retries after the debounce, not the back-off.
    runner.failChecks = true;
    src.set('/app/cfg/port', '1');
    clock.advance(50);
    await loop.idle();
    src.set('/app/cfg/port', '2');
    clock.advance(50);
    await loop.idle();
    expect(runner.count('check')).toBe(checks + 4);
    runner.failChecks = false;
    src.set('/app/cfg/port', '3');
    clock.advance(50);
    await loop.idle();
    expect(await readFile(res.dest, 'utf8')).toContain('port 3');
    loop.stop();
    await running;
  });

  it('a failed reload is reported and retried on the next pass, though the file is current', async () => {
    const res = await resource(TEMPLATE);
    let failReload = true;
    const commands: string[] = [];
    const runner: CommandRunner = {
      run: async (command) => {
        commands.push(command);
        return { code: command === 'reload' && failReload ? 3 : 0, output: command === 'reload' ? 'daemon down' : '' };
      },
    };
    const loop = new ConfdLoop({ resources: [res], source: source(), runner, env: {} });
    const [first] = await loop.runOnce();
    expect((first as { error: Error }).error).toBeInstanceOf(ReloadFailedError);
    expect((first as { error: Error }).error.message).toContain('daemon down');
    expect(await readFile(res.dest, 'utf8')).toContain('port 179');
    failReload = false;
    const [second] = await loop.runOnce();
    expect(second).toMatchObject({ outcome: Outcome.Unchanged });
    expect(commands.filter((c) => c === 'reload')).toHaveLength(2);
    const [third] = await loop.runOnce();
    expect(third).toMatchObject({ outcome: Outcome.Unchanged });
    expect(commands.filter((c) => c === 'reload')).toHaveLength(2);
  });

  it('renders nothing before the source is in sync', async () => {
    const src = new MemoryKeyValueSource({ '/app/cfg/port': '1' });
    const runner = new RecordingRunner();
    const res = await resource(TEMPLATE);
    const loop = new ConfdLoop({ resources: [res], source: src, runner, env: {} });
    const once = loop.runOnce();
    await new Promise((r) => setTimeout(r, 20));
    expect(loop.stats.renders).toBe(0);
    src.markInSync();
    const [r] = await once;
    expect(r).toMatchObject({ outcome: Outcome.Updated });
    expect(loop.stats.renders).toBe(1);
  });

  it('noop reports the diff and writes nothing', async () => {
    const res = await resource(TEMPLATE);
    await writeFile(res.dest, 'port 179\npeer a 1\n');
    const runner = new RecordingRunner();
    const loop = new ConfdLoop({ resources: [res], source: source(), runner, env: {}, noop: true });
    const [r] = await loop.runOnce();
    expect(r).toMatchObject({ outcome: Outcome.WouldUpdate });
    expect((r as { diff: string }).diff).toContain('+peer b 2');
    expect(await readFile(res.dest, 'utf8')).toBe('port 179\npeer a 1\n');
    expect(runner.commands).toEqual([]);
  });

  it('a render error is returned with the template position', async () => {
    const res = await resource('x\n{{getv "/cfg/missing"}}');
    const loop = new ConfdLoop({ resources: [res], source: source(), runner: new RecordingRunner(), env: {} });
    const [r] = await loop.runOnce();
    expect((r as { error: Error }).error.message).toBe(
      'template: app.tmpl:2:2: executing "app.tmpl" at <getv "/cfg/missing">: error calling getv: key does not exist: /cfg/missing',
    );
  });

  it('works with real files and real shell commands', async () => {
    const res = await resource(TEMPLATE, {
      checkCmd: `grep -q '^port ' {{.src}}`,
      reloadCmd: `echo reloaded >> ${join(dir, 'reloads.log')}`,
    });
    const { ShellCommandRunner } = await import('./command-runner.js');
    const src = source();
    const loop = new ConfdLoop({ resources: [res], source: src, runner: new ShellCommandRunner(), env: {} });
    expect((await loop.runOnce())[0]).toMatchObject({ outcome: Outcome.Updated });
    expect((await loop.runOnce())[0]).toMatchObject({ outcome: Outcome.Unchanged });
    expect(await readFile(join(dir, 'reloads.log'), 'utf8')).toBe('reloaded\n');
    // The check rejects a file without a port line: the old file stays.
    await writeFile(res.src, 'no port here\n');
    const [bad] = await loop.runOnce();
    expect((bad as { error: Error }).error).toBeInstanceOf(CheckFailedError);
    expect(await readFile(res.dest, 'utf8')).toBe('port 179\npeer a 1\npeer b 2\n');
    expect(await readFile(join(dir, 'reloads.log'), 'utf8')).toBe('reloaded\n');
  });
});
