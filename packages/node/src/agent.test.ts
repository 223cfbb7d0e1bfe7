import { MemoryNetwork, silentLogger } from '@tabby/bgp';
import {
  MemoryDatastore,
  type Resource,
  ResourceStore,
  type WatchEvent,
  type Watcher,
  type WatchOptions,
} from '@tabby/datastore';
import {
  FibDataplane,
  type LinkApplyResult,
  type LinkDriver,
  type LinkState,
  MemoryDriver,
  RouteTable,
} from '@tabby/fib';
import { afterEach, describe, expect, it } from 'vitest';
import { NodeAgent } from './agent.js';

// The agent reconciles only for datastore changes that concern its node and hands the FIB only
// what changed; these tests check that it still comes back by itself when the FIB could not
// finish (an interface missing, a failure), without any further datastore change.

/** A link driver whose first answers are scripted: `pending` counts, or an Error to throw. */
class ScriptedLinks implements LinkDriver {
  applies = 0;
  constructor(private readonly script: (number | Error)[]) {}
  async apply(_state: LinkState): Promise<LinkApplyResult> {
    const next = this.script[this.applies++];
    if (next instanceof Error) throw next;
    return { pending: next ?? 0 };
  }
}

const agents: NodeAgent[] = [];
afterEach(async () => {
  for (const a of agents.splice(0)) await a.stop();
});

async function start(links: ScriptedLinks): Promise<{ agent: NodeAgent; routes: MemoryDriver }> {
  const ds = new MemoryDatastore();
  const store = new ResourceStore(ds);
  const docs = [
    {
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: '198.18.0.1/24' } },
    },
    { apiVersion: 'projectcalico.org/v3', kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '198.19.0.0/16' } },
  ];
  for (const d of docs) await store.apply(d as Resource);
  const routes = new MemoryDriver(['eth0']);
  const agent = new NodeAgent({
    nodeName: 'n1',
    datastore: ds,
    transport: new MemoryNetwork().transport('198.18.0.1'),
    dataplane: (local) => new FibDataplane({ localNode: local, routeTable: new RouteTable({ driver: routes }), links }),
  });
  agents.push(agent);
  await agent.start();
  return { agent, routes };
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('NodeAgent and its FIB', () => {
  it('applies the FIB again while an interface is still missing, until nothing is pending', async () => {
    const links = new ScriptedLinks([1, 1, 0]);
    const { agent } = await start(links);
    await until('three link passes', () => links.applies >= 3);
    expect(agent.dataplane?.pending).toBe(0);
    const settled = links.applies;
    await new Promise((r) => setTimeout(r, 700));
    expect(links.applies).toBe(settled); // nothing pending: no more passes
  });

  it('retries after a failed FIB apply, and the block blackhole gets programmed', async () => {
    const links = new ScriptedLinks([new Error('ip: Cannot find device "vxlan.tabby"')]);
    const { agent, routes } = await start(links);
    await until('the block claimed', () => agent.blocks.length === 1);
    const block = agent.blocks[0]!;
    await until('the blackhole in the FIB', async () =>
      (await routes.read()).routes.some((r) => r.dst === block && r.type === 'blackhole'),
    );
    // The routes can be written before the failing link step of the first apply: wait for the retry.
    await until('the failed apply retried', () => links.applies >= 2);
  });
});

/**
 * A datastore whose watchers the test can reset, as a backend does after it finds the store reset
 * or compacted: `resync()` sends `resync` and a fresh snapshot of the keys `keep` accepts, and
 * holds back the rest of the snapshot (and `in-sync`) until `finish()`.
 */
class ResettableDatastore extends MemoryDatastore {
  private readonly streams: {
    prefix: string;
    push: (ev: WatchEvent) => void;
  }[] = [];

  override watch(prefix: string, opts?: WatchOptions): Watcher {
    const inner = super.watch(prefix, opts);
    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const push = (ev: WatchEvent) => {
      queue.push(ev);
      wake?.();
    };
    this.streams.push({ prefix, push });
    void (async () => {
      for await (const ev of inner) push(ev);
    })();
    return {
      close: () => {
        closed = true;
        inner.close();
        wake?.();
      },
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          const ev = queue.shift();
          if (ev) yield ev;
          else await new Promise<void>((r) => (wake = r));
        }
      },
    };
  }

  /** Resets every watcher; resolves with `finish`, which delivers the rest and `in-sync`. */
  async resync(keep: (key: string) => boolean): Promise<() => void> {
    const held: (() => void)[] = [];
    for (const s of this.streams) {
      const { items, revision } = await this.list(s.prefix);
      s.push({ type: 'resync', reason: 'test: store reset' });
      for (const kv of items.filter((kv) => keep(kv.key))) s.push({ type: 'added', ...kv });
      held.push(() => {
        for (const kv of items.filter((kv) => !keep(kv.key))) s.push({ type: 'added', ...kv });
        s.push({ type: 'in-sync', revision });
      });
    }
    return () => {
      for (const h of held) h();
    };
  }
}

describe('NodeAgent through a datastore resync', () => {
  it('keeps its routes and sessions, and reports not ready, until the fresh snapshot is complete', async () => {
    const ds = new ResettableDatastore();
    const store = new ResourceStore(ds);
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: '198.18.0.1/24' } },
    } as Resource);
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'p' },
      spec: { cidr: '198.19.0.0/16' },
    } as Resource);
    const routes = new MemoryDriver(['eth0']);
    const agent = new NodeAgent({
      nodeName: 'n1',
      datastore: ds,
      transport: new MemoryNetwork().transport('198.18.0.1'),
      dataplane: (local) =>
        new FibDataplane({
          localNode: local,
          routeTable: new RouteTable({ driver: routes }),
          links: new ScriptedLinks([]),
        }),
    });
    agents.push(agent);
    await agent.start();
    await until('the block claimed', () => agent.blocks.length === 1);
    const block = agent.blocks[0]!;
    const blackhole = async () => (await routes.read()).routes.some((r) => r.dst === block && r.type === 'blackhole');
    await until('the blackhole in the FIB', blackhole);
    await until('ready', () => agent.status().ready);
    const originated = () => agent.speaker?.config.originate.map((o) => o.prefix) ?? [];
    expect(originated()).toEqual([block]);

    // The store comes back and the fresh snapshot arrives in parts: first only the Node.
    const finish = await ds.resync((key) => key.includes('/nodes/'));
    await until('not ready while resyncing', () => !agent.status().ready);
    await new Promise((r) => setTimeout(r, 300));
    // A half-read snapshot (no pool, no block affinity) must not withdraw anything.
    expect(await blackhole()).toBe(true);
    expect(originated()).toEqual([block]);
    expect(agent.status().ready).toBe(false);

    finish();
    await until('ready again', () => agent.status().ready);
    await agent.idle();
    expect(await blackhole()).toBe(true);
    expect(originated()).toEqual([block]);
  });
});

describe('NodeAgent: BGPFilters and service ranges (Calico parity)', () => {
  const doc = (kind: string, name: string, spec: unknown, labels?: Record<string, string>) =>
    ({ apiVersion: 'projectcalico.org/v3', kind, metadata: { name, ...(labels ? { labels } : {}) }, spec }) as Resource;

  it("puts its peers' BGPFilters before Tabby's rules and warns once about rules on interface", async () => {
    const ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    await store.apply(doc('Node', 'n1', { bgp: { ipv4Address: '198.18.0.1/24' } }));
    await store.apply(doc('BGPFilter', 'f', { exportV4: [{ action: 'Reject', interface: 'eth9*' }] }));
    await store.apply(
      doc('BGPFilter', 'g', { importV4: [{ action: 'Accept', matchOperator: 'In', cidr: '10.0.0.0/8' }] }),
    );
    await store.apply(
      doc('BGPPeer', 'tor', { peerIP: '198.18.0.254', asNumber: 65001, filters: ['f', 'missing', 'g'] }),
    );
    await store.apply(
      doc('BGPPeer', 'elsewhere', { node: 'n9', peerIP: '198.18.0.253', asNumber: 65001, filters: ['f'] }),
    );
    const warnings: { obj: object; msg: string }[] = [];
    const logger = { ...silentLogger, warn: (obj: object, msg?: string) => warnings.push({ obj, msg: msg ?? '' }) };
    const agent = new NodeAgent({
      nodeName: 'n1',
      datastore: ds,
      transport: new MemoryNetwork().transport('198.18.0.1'),
      logger,
    });
    agents.push(agent);
    await agent.start();
    const tor = agent.speaker?.config.peers.find((p) => p.address === '198.18.0.254');
    expect(tor?.export).toEqual(['bgp_f_exportFilterV4', 'tabby-export']);
    expect(tor?.import).toEqual(['bgp_g_importFilterV4', 'tabby-import']);
    expect(agent.speaker?.config.policies.get('bgp_f_exportFilterV4')).toEqual({
      name: 'bgp_f_exportFilterV4',
      rules: [],
      default: 'next',
    });
    const about = () => warnings.filter((w) => /interface/.test(w.msg));
    expect(about()).toEqual([{ obj: { rules: ['f exportV4[0] (interface eth9*)'] }, msg: expect.any(String) }]);
    await store.apply(doc('BGPConfiguration', 'default', { serviceClusterIPs: [{ cidr: '198.19.128.0/20' }] }));
    await until('the service range originated', () =>
      (agent.speaker?.config.originate ?? []).some((o) => o.prefix === '198.19.128.0/20' && !o.blackhole),
    );
    expect(about()).toHaveLength(1);
    expect(warnings.filter((w) => /not (applied|announced)/.test(w.msg))).toEqual([]);
  });

  it('programs no learned route within a service range, also when the range comes after the route', async () => {
    const ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    const exclude = { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' };
    await store.apply(doc('Node', 'n1', { bgp: { ipv4Address: '198.18.0.1/24' } }));
    await store.apply(doc('Node', 'n2', { bgp: { ipv4Address: '198.18.0.2/24' } }, exclude));
    await store.apply(doc('IPPool', 'p', { cidr: '198.19.0.0/16' }));
    await store.apply(doc('BGPConfiguration', 'default', { serviceClusterIPs: [{ cidr: '198.18.96.0/20' }] }));
    const net = new MemoryNetwork();
    const fib = new Map<string, MemoryDriver>();
    for (const [name, ip] of [
      ['n1', '198.18.0.1'],
      ['n2', '198.18.0.2'],
    ] as const) {
      const routes = new MemoryDriver(['eth0']);
      fib.set(name, routes);
      const agent = new NodeAgent({
        nodeName: name,
        datastore: ds,
        transport: net.transport(ip),
        connectRetryTime: 1,
        dataplane: (local) =>
          new FibDataplane({
            localNode: local,
            routeTable: new RouteTable({ driver: routes }),
            links: new ScriptedLinks([]),
          }),
      });
      agents.push(agent);
      await agent.start();
    }
    const [a1, a2] = agents as [NodeAgent, NodeAgent];
    await until('blocks', () => a1.blocks.length === 1 && a2.blocks.length === 1);
    /** A learned best route for `prefix` (the speaker replays its FIB feed to a new subscriber). */
    const best = (a: NodeAgent, prefix: string) => {
      let found = false;
      a.speaker?.subscribe((e) => {
        if (e.prefix === prefix && e.nextHops.length) found = true;
      })();
      return found;
    };
    const programmed = async (name: string) => (await fib.get(name)!.read()).routes.map((r) => r.dst);
    // n2 is excluded: it learns n1's service route, and keeps it out of its FIB; n1's block goes in.
    await until('n1 block programmed at n2', async () => (await programmed('n2')).includes(a1.blocks[0]!));
    await until('the service route learned by n2', () => best(a2, '198.18.96.0/20'));
    await a2.idle();
    expect(await programmed('n2')).not.toContain('198.18.96.0/20');
    // A range that now covers n1's block (a load balancer range): its route leaves n2's FIB.
    await store.apply(
      doc('BGPConfiguration', 'default', {
        serviceClusterIPs: [{ cidr: '198.18.96.0/20' }],
        serviceLoadBalancerIPs: [{ cidr: a1.blocks[0]! }],
      }),
    );
    await until('n1 block unprogrammed at n2', async () => !(await programmed('n2')).includes(a1.blocks[0]!));
  });
});
