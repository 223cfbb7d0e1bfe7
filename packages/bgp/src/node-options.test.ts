// A daemon started without its Node options on the command line (`node bin/bgpd.js`) sets them
// itself as it starts; checked on V8: how soon a fresh function is optimized follows the interrupt
// budget, whether the budget came from the command line or from `applyDaemonNodeOptions`.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DAEMON_NODE_OPTIONS, missingDaemonOptions } from './node-options.js';

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
        ['--interrupt-budget=1000', '--incremental-marking-task'],
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
    expect(atStart.applied).toEqual([...DAEMON_NODE_OPTIONS]);
    expect(atStart.calls).toBe(fromCommandLine.calls);
    expect(atStart.calls).toBeGreaterThan(without.calls);
  }, 20_000);
});
