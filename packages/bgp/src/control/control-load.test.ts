import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlLoadLab, flood, Pipeliner, percentile, Sampler } from '../bench/control-load-lab.js';
import { until } from '../test-support.js';

// Issue 15: a client that pipelines 2,000 `show rib` requests (limit 10,000) on a 65k-route table
// and disconnects made `tabby bgpd` deaf for 89 s; its BGP session dropped on the hold timer. Here
// the daemon (dist/, its own process) holds a 65,536-route table from a peer on loopback with
// hold time 3 s, and must keep the session and answer `show summary` within 100 ms while such
// clients come and go, and while others pipeline and read everything, pipeline and never read, or
// send 60 MB of requests. Needs `npx tsc --build` first.

describe('bgpd under control-socket load', () => {
  const lab = new ControlLoadLab({ routes: 65_536, holdTime: 3 });

  beforeAll(async () => {
    await lab.start();
  }, 120_000);
  afterAll(async () => {
    await lab.stop();
  });

  it('keeps its BGP session and answers show summary within 100 ms', async () => {
    const before = await lab.neighbor();
    expect(before).toMatchObject({ state: 'Established', established_transitions: 1 });
    const cpu0 = lab.stats()!.cpuSeconds;
    const sampler = new Sampler(lab.socket, 50);
    await new Promise((r) => setTimeout(r, 500)); // the sampler thread is up and answered
    // The client, again and again: 2,000 requests, then gone.
    const gone: Pipeliner[] = [];
    const repeat = setInterval(() => gone.push(new Pipeliner(lab.socket, 'disconnect')), 1000);
    gone.push(new Pipeliner(lab.socket, 'disconnect'));
    const reader = new Pipeliner(lab.socket, 'read');
    const deaf = new Pipeliner(lab.socket, 'never');
    const flooded = flood(lab.socket, 60);
    // Three hold times of load.
    await new Promise((r) => setTimeout(r, 9000));
    clearInterval(repeat);
    const { samples, selfLate } = await sampler.stop();
    reader.stop();
    deaf.stop();
    await Promise.race([flooded, new Promise((r) => setTimeout(r, 20_000))]);
    const cpu = lab.stats()!;

    // The session never dropped, on either side.
    expect(await lab.neighbor()).toMatchObject({ state: 'Established', established_transitions: 1 });
    expect(lab.feeder!.findPeer('bgpd')!.establishedTransitions).toBe(1);
    // The reader got whole answers, then the refusal of its 65th request.
    expect(reader.lines).toBeGreaterThan(0);
    // Memory stayed bounded (the 60 MB of requests were not kept).
    expect(cpu.vmHwmKb).toBeLessThan(512 * 1024);
    // show summary answers within 100 ms: the median and the 95th percentile of the window. Not
    // every sample: on a loaded 2-core machine the sampling thread itself is sometimes not run for
    // 100-200 ms (its own 10 ms timer fires that late), whatever the daemon does. No answer may
    // take a third of the hold time (1 s): that would be the daemon stalling.
    const report = `${samples.length} samples: median ${percentile(samples, 50).toFixed(1)} ms, p95 ${percentile(samples, 95).toFixed(1)} ms, max ${Math.max(...samples).toFixed(1)} ms (the sampling thread itself up to ${Math.max(...selfLate).toFixed(0)} ms late); daemon CPU ${(cpu.cpuSeconds - cpu0).toFixed(1)} s; peak RSS ${Math.round(cpu.vmHwmKb / 1024)} MB`;
    console.log(`control load: ${report}`);
    expect(samples.length, report).toBeGreaterThan(50);
    expect(percentile(samples, 50), report).toBeLessThan(100);
    expect(percentile(samples, 95), report).toBeLessThan(100);
    expect(Math.max(...samples), report).toBeLessThan(1000);

    // Work for the clients that left stops: the daemon goes back to idle.
    let busy = Number.POSITIVE_INFINITY;
    for (const end = Date.now() + 10_000; busy >= 0.1 && Date.now() < end; ) {
      const a = lab.stats()!.cpuSeconds;
      await new Promise((r) => setTimeout(r, 500));
      busy = lab.stats()!.cpuSeconds - a; // CPU seconds the daemon used in half a second
    }
    expect(busy).toBeLessThan(0.1);
  }, 60_000);

  it('ends within 2 s of SIGTERM while clients pipeline', async () => {
    const load = [new Pipeliner(lab.socket, 'read'), new Pipeliner(lab.socket, 'never')];
    await until('loaded', () => load[0]!.bytes > 0);
    const { code, ms } = await lab.signal('SIGTERM');
    for (const p of load) p.stop();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(2000);
  }, 30_000);
});
