import { waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InProcessLab } from './in-process.js';
import { inProcessLabSource } from './ui-source.js';

describe('the cluster map over the in-process lab (reflectors, in-memory BGP)', () => {
  const lab = new InProcessLab({
    nodes: 4,
    topology: 'rr',
    reflectors: 1,
    pods: 1,
    transport: 'memory',
    socketDir: `/tmp/tabby-lab-map-test-${process.pid}`,
  });
  const source = inProcessLabSource(lab);
  beforeAll(async () => {
    await lab.up();
    await lab.waitConverged(30_000);
  }, 40_000);
  afterAll(() => lab.down());

  it('shows the reflector, each client session to it, blocks and memory-FIB routes', async () => {
    const view = await source.view();
    expect(view.routesFrom).toMatch(/memory FIB/);
    expect(view.nodes.map((n) => `${n.name} ${n.role} ${n.up}`)).toEqual([
      'node-1 reflector true',
      'node-2 node true',
      'node-3 node true',
      'node-4 node true',
    ]);
    expect(view.sessions.map((s) => `${s.a}-${s.b} ${s.class}`)).toEqual([
      'node-1-node-2 established',
      'node-1-node-3 established',
      'node-1-node-4 established',
    ]);
    for (const n of view.nodes) {
      expect(n.blocks).toEqual(lab.nodes.find((x) => x.name === n.name)!.agent.blocks);
      expect(n.routes).toContain(`blackhole ${n.blocks[0]} proto 80`);
    }
    expect(view.pods.map((p) => p.node)).toEqual(['node-1', 'node-2', 'node-3', 'node-4']);
  });

  it('traces client to client through the FIBs, saying the pod hop is the CNI route', async () => {
    const hops = await source.trace('pod-node-2-1', 'pod-node-4-1');
    expect(hops.map((h) => `${h.at} ${h.kind}`)).toEqual([
      'pod-node-2-1 pod',
      'node-2 veth',
      'node-2 host-route',
      'node-2 next-hop',
      'node-4 cali-route',
      'pod-node-4-1 pod',
    ]);
    expect(hops[0]!.from).toMatch(/no pod namespaces: the route the CNI plugin gives every pod/);
    expect(hops[3]!.text).toMatch(/ to 198\.18\.0\.14 \(node-4\)$/);
    await expect(source.trace('pod-node-2-1', 'nobody')).rejects.toThrow('no pod nobody');
  });

  it('a stopped agent: its sessions go red and the node does not answer', async () => {
    await lab.nodes[3]!.agent.stop();
    const view = await waitFor(
      'node-4 down on the map',
      async () => {
        const v = await source.view();
        return v.sessions.find((s) => s.b === 'node-4')?.class === 'down' ? v : null;
      },
      10_000,
    );
    expect(view.nodes.find((n) => n.name === 'node-4')!.up).toBe(false);
    expect(view.sessions.filter((s) => s.class === 'established')).toHaveLength(2);
  });
});
