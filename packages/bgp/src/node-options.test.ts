// A daemon started without its Node options on the command line (`node bin/bgpd.js`) sets them
// itself as it starts; checked on V8: how soon a fresh function is optimized follows the interrupt
// budget, whether the budget came from the command line or from `applyDaemonNodeOptions`.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_OPTIONS, missingDaemonOptions, RUNTIME_DAEMON_OPTIONS } from './node-options.js';

const built = new URL('../dist/node-options.js', import.meta.url).href;

/** In a fresh Node with `nodeArgs`: what `applyDaemonNodeOptions` set (when `apply`), and the calls a new function took to be optimized. */
function probe(nodeArgs: string[], apply: boolean): { applied: string[]; calls: number } {
  const script = `
    const { applyDaemonNodeOptions } = await import(${JSON.stringify(built)});
    const applied = ${apply} ? applyDaemonNodeOptions() : [];
    if (${apply} && applyDaemonNodeOptions() !== applied) throw new Error('set twice'); // once per process
    const f = new Function('a', 'let s = 0; for (let i = 0; i < 10; i++) s += a * i; return s;');
    const status = new Function('f', 'return %GetOptimizationStatus(f);');
    let calls = 0;
    while (calls < 1e6 && (status(f) & 16) === 0) f(calls++); // 16: optimized
    console.log(JSON.stringify({ applied, calls }));`;
  // Compiled on the main thread, so the count does not depend on a helper thread's timing.
  const args = ['--no-concurrent-recompilation', '--allow-natives-syntax', ...nodeArgs];
  const out = execFileSync(process.execPath, [...args, '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  return JSON.parse(out);
}

describe('daemon Node options', () => {
  it('are found missing unless Node was given them, in either sense or with a value of its own', () => {
    expect(missingDaemonOptions([])).toEqual([...DAEMON_NODE_OPTIONS]);
    expect(missingDaemonOptions([...DAEMON_NODE_OPTIONS])).toEqual([]);
    expect(
      missingDaemonOptions(
        ['--interrupt-budget=1000', '--incremental-marking-task', '--memory_reducer', '--max_semi_space_size=32'],
        '--concurrent_marking_max_worker_num=2',
      ),
    ).toEqual([]);
    expect(missingDaemonOptions(['--inspect'], '--max-old-space-size=512')).toEqual([...DAEMON_NODE_OPTIONS]);
  });

  it('are set as the daemon starts when Node was started without them, with the same effect', () => {
    const without = probe([], false);
    const fromCommandLine = probe([...DAEMON_NODE_OPTIONS], true);
    const atStart = probe([], true);
    expect(fromCommandLine.applied).toEqual([]);
    // All but the memory reducer's and the young generation's, which V8 takes only on the command line.
    expect(atStart.applied).toEqual([
      '--concurrent-marking-max-worker-num=1',
      '--no-incremental-marking-task',
      '--interrupt-budget=270336',
    ]);
    expect(RUNTIME_DAEMON_OPTIONS).toEqual(atStart.applied);
    expect(atStart.calls).toBe(fromCommandLine.calls);
    expect(atStart.calls).toBeGreaterThan(without.calls);
  }, 20_000);

  it("cap V8's young generation at 16 MB (two 8 MB semi-spaces), which it fills while objects keep surviving", async () => {
    // Objects that all survive, as each session's while 10,000 clients come up: V8 grows the young
    // generation to its largest, and each scavenge copies all of it.
    const script = `
      const v8 = await import('node:v8');
      const keep = [];
      let max = 0;
      for (let i = 0; i < 2e6; i++) {
        keep.push({ a: i, b: [i] });
        if (i % 10000 === 0) max = Math.max(max, v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size);
      }
      console.log(max / 2 ** 20);`;
    const youngMb = async (nodeArgs: readonly string[]) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        [...nodeArgs, '--input-type=module', '-e', script],
        {
          env: { ...process.env, NODE_OPTIONS: '' },
        },
      );
      return Number(stdout);
    };
    const [without, withOptions] = await Promise.all([youngMb([]), youngMb(DAEMON_NODE_OPTIONS)]);
    expect(without).toBeGreaterThan(16);
    expect(withOptions).toBeGreaterThan(0);
    expect(withOptions).toBeLessThanOrEqual(16);
  }, 20_000);

  it('keep V8 from compacting the heap once the process goes quiet (the memory reducer)', async () => {
    // Allocates 30 MB, drops nine tenths of it, then allocates a little every 100 ms for 20 s: the
    // memory reducer's pattern (it starts about 16 s in), as a reflector's after its clients came up.
    const script = `
      let keep = [];
      for (let i = 0; i < 3000; i++) keep.push({ a: new Array(1000).fill(i), i });
      setTimeout(() => { keep = keep.slice(0, 300); }, 500);
      let n = 0;
      const t = setInterval(() => { const x = []; for (let j = 0; j < 200; j++) x.push({ j }); if (++n > 200) clearInterval(t); }, 100);`;
    const reducing = async (nodeArgs: readonly string[]) => {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--trace-gc', ...nodeArgs, '--input-type=module', '-e', script],
        {
          env: { ...process.env, NODE_OPTIONS: '' },
        },
      );
      return stdout.split('\n').filter((l) => l.includes('Mark-Compact (reduce)')).length;
    };
    const [without, withOptions] = await Promise.all([reducing([]), reducing(DAEMON_NODE_OPTIONS)]);
    expect(without).toBeGreaterThan(0);
    expect(withOptions).toBe(0);
  }, 40_000);
});
