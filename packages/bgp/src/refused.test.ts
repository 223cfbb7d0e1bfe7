import { describe, expect, it } from 'vitest';
import { ManualClock } from './clock.js';
import { parseConfig } from './config/load.js';
import type { Logger } from './logger.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { MemoryNetwork } from './transport.js';

/** A logger that keeps every line. */
function capture(): Logger & { lines: { level: string; obj: Record<string, unknown>; msg: string }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
  const at =
    (level: string) =>
    (obj: object, msg = '') =>
      lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

describe('connections from unknown peers', () => {
  it('are refused and logged once per address per interval, with a count', async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const log = capture();
    const s = new Speaker(
      parseConfig('routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 198.18.0.1, port: 179 }\npeers: []\n'),
      { transport: net.transport('198.18.0.1'), clock, logger: log },
    );
    await s.start();
    const refusals = () => log.lines.filter((l) => l.msg.includes('unknown peer'));
    const storm = async (from: string, n: number) => {
      const t = net.transport(from);
      const closed: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const c = await t.connect({ host: '198.18.0.1', port: 179 });
        closed.push(new Promise((r) => c.onClose(() => r())));
      }
      await Promise.all(closed); // every one of them was refused (closed by the speaker)
    };
    await storm('198.18.0.99', 5000);
    await storm('198.18.0.98', 3);
    // One line per address at once, whatever the number of attempts.
    expect(refusals().map((l) => l.obj.remote)).toEqual(['198.18.0.99', '198.18.0.98']);
    // The interval ends: one line per address with what was not logged.
    clock.advance(60_000);
    expect(
      refusals()
        .slice(2)
        .map((l) => [l.obj.remote, l.obj.refused]),
    ).toEqual([
      ['198.18.0.99', 4999],
      ['198.18.0.98', 2],
    ]);
    // A quiet interval ends the count; the next attempt is logged at once again.
    clock.advance(60_000);
    expect(refusals()).toHaveLength(4);
    await storm('198.18.0.99', 1);
    await until('logged again', () => refusals().length === 5);
    expect(refusals()[4]?.obj).toMatchObject({ remote: '198.18.0.99' });
    await s.stop();
    expect(clock.pendingCount).toBe(0);
  });
});
