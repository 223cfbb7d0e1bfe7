import { ControlHandler, MemoryNetwork, parseConfig, Speaker } from '@tabby/bgp';
import {
  type Datastore,
  kindPrefix,
  MemoryDatastore,
  type NodeResource,
  ResourceStore,
  resourceKey,
  type WatchEvent,
  type Watcher,
} from '@tabby/datastore';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRrConfig } from './config.js';
import { RouteReflector } from './reflector.js';

const RR = '198.18.0.10';
const CLUSTER = '198.18.0.100';
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function nodeDoc(name: string, ip: string, extra: Partial<NonNullable<NodeResource['spec']['bgp']>> = {}) {
  return {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name, labels: { role: 'worker' } },
    spec: { bgp: { ipv4Address: `${ip}/24`, ...extra } },
  } satisfies NodeResource;
}

/** A client speaker peered with the reflector, originating `prefix` if given. */
async function client(net: MemoryNetwork, id: string, prefix?: string): Promise<Speaker> {
  const s = new Speaker(
    parseConfig(
      `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\nconnectRetryTime: 1\n` +
        `${prefix ? `originate:\n  - { prefix: ${prefix} }\n` : ''}peers:\n  - { name: rr, address: ${RR}, asn: 64512 }\n`,
    ),
    { transport: net.transport(id) },
  );
  stops.push(() => s.stop());
  await s.start();
  return s;
}

/** The best route for `prefix` as bgpctl shows it (null ORIGINATOR_ID when absent). */
function best(s: Speaker, prefix: string) {
  const r = new ControlHandler(s, { version: 'test' }).rib({ prefix });
  const b = r.routes.find((x) => x.best);
  return b ? { originatorId: b.originator_id, clusterList: b.cluster_list } : undefined;
}

function rrConfig(extra = '', selector = "role == 'worker'") {
  return parseRrConfig(
    `routerId: ${RR}\nasn: 64512\nclusterId: ${CLUSTER}\nlisten: { address: ${RR}, port: 179 }\nconnectRetryTime: 1\n` +
      `datastore: { nodeSelector: "${selector}" }\n${extra}`,
    'rr.yaml',
  );
}

function startRr(net: MemoryNetwork, ds: Datastore, extra = ''): RouteReflector {
  const rr = new RouteReflector(rrConfig(extra), {
    transport: net.transport(RR),
    openDatastore: () => ds,
    datastoreUrl: 'memory',
    settleMs: 10,
    retryMs: 50,
  });
  stops.push(() => rr.stop());
  return rr;
}

const established = (s: Speaker, name: string) => s.peers.get(name)?.state === 'Established';

describe('RouteReflector with datastore clients (in-process)', () => {
  it('reflects between datastore nodes, adds and removes nodes without resetting other sessions', async () => {
    const net = new MemoryNetwork();
    const ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    await store.create(nodeDoc('n1', '198.18.0.1'));
    await store.create(nodeDoc('n2', '198.18.0.2'));
    await store.create({ ...nodeDoc('db', '198.18.0.9'), metadata: { name: 'db', labels: { role: 'db' } } });
    const c1 = await client(net, '198.18.0.1', '198.19.1.0/24');
    const c2 = await client(net, '198.18.0.2');
    const c3 = await client(net, '198.18.0.3', '198.19.3.0/24');
    const rr = startRr(net, ds);
    await rr.start();
    await rr.whenInSync();
    expect(rr.nodePeers.map((p) => [p.name, p.routeReflectorClient])).toEqual([
      ['Node_198_18_0_1', true],
      ['Node_198_18_0_2', true],
    ]);
    await until(
      'n1, n2 up',
      () => established(rr.speaker, 'Node_198_18_0_1') && established(rr.speaker, 'Node_198_18_0_2'),
    );
    await until('c1 route at c2', () => best(c2, '198.19.1.0/24') !== undefined);
    expect(best(c2, '198.19.1.0/24')).toEqual({ originatorId: '198.18.0.1', clusterList: [CLUSTER] });
    expect(rr.speaker.peers.has('Node_198_18_0_9')).toBe(false);

    // A node joins: it becomes a client; n1 and n2 keep their sessions.
    await new Promise((r) => setTimeout(r, 100));
    const updatesBefore = c2.peers.get('rr')!.counters().received.update;
    await store.create(nodeDoc('n3', '198.18.0.3'));
    await until('n3 up', () => established(rr.speaker, 'Node_198_18_0_3'));
    await until('c3 route at c1 and c2', () => !!best(c1, '198.19.3.0/24') && !!best(c2, '198.19.3.0/24'));
    expect(best(c1, '198.19.3.0/24')).toEqual({ originatorId: '198.18.0.3', clusterList: [CLUSTER] });
    await until('c1 route at c3', () => best(c3, '198.19.1.0/24') !== undefined);
    expect(best(c3, '198.19.1.0/24')).toEqual({ originatorId: '198.18.0.1', clusterList: [CLUSTER] });
    for (const name of ['Node_198_18_0_1', 'Node_198_18_0_2']) {
      expect(rr.speaker.peers.get(name)!.establishedTransitions).toBe(1);
    }
    expect(c1.peers.get('rr')!.establishedTransitions).toBe(1);
    expect(c2.peers.get('rr')!.establishedTransitions).toBe(1);
    // The reload re-sent nothing to c2 but the new client's route (one UPDATE).
    await new Promise((r) => setTimeout(r, 100));
    expect(c2.peers.get('rr')!.counters().received.update - updatesBefore).toBe(1);

    // A node leaves: its session goes, its route is withdrawn from the others; the rest stay up.
    await store.delete('Node', 'n1');
    await until('n1 removed', () => !rr.speaker.peers.has('Node_198_18_0_1'));
    await until('c1 route withdrawn at c2', () => best(c2, '198.19.1.0/24') === undefined);
    expect(rr.speaker.peers.get('Node_198_18_0_2')!.establishedTransitions).toBe(1);
    expect(rr.speaker.peers.get('Node_198_18_0_3')!.establishedTransitions).toBe(1);
    expect(c2.peers.get('rr')!.establishedTransitions).toBe(1);
    expect(best(c2, '198.19.3.0/24')).toBeDefined();

    // A label change takes a node out of the selector.
    await store.update({
      ...(await store.get('Node', 'n2'))!,
      metadata: { ...(await store.get('Node', 'n2'))!.metadata, labels: { role: 'db' } },
    });
    await until('n2 removed', () => !rr.speaker.peers.has('Node_198_18_0_2'));
    expect(rr.speaker.peers.get('Node_198_18_0_3')!.establishedTransitions).toBe(1);
  }, 20_000);

  it('peers with a same-cluster reflector node as a non-client, and keeps sessions on a config reload', async () => {
    const net = new MemoryNetwork();
    const ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    await store.create(nodeDoc('n1', '198.18.0.1'));
    await store.create(nodeDoc('rr2', '198.18.0.11', { routeReflectorClusterID: CLUSTER }));
    await client(net, '198.18.0.1');
    const rr = startRr(net, ds);
    await rr.start();
    await rr.whenInSync();
    expect(rr.speaker.peers.get('Node_198_18_0_11')!.config.routeReflectorClient).toBe(false);
    await until('n1 up', () => established(rr.speaker, 'Node_198_18_0_1'));
    const r = rr.reload(rrConfig('clients:\n  - { address: 198.18.0.5, name: listed }\n'));
    expect(r.peers_added).toEqual(['listed']);
    expect(r.peers_unchanged).toEqual(expect.arrayContaining(['Node_198_18_0_1', 'Node_198_18_0_11']));
    expect(rr.speaker.peers.get('Node_198_18_0_1')!.establishedTransitions).toBe(1);
    // A new selector on reload re-selects from the nodes already read.
    const r2 = rr.reload(rrConfig('', 'has(nothing)'));
    expect(r2.peers_removed.sort()).toEqual(['Node_198_18_0_1', 'Node_198_18_0_11', 'listed']);
    expect(rr.nodePeers).toEqual([]);
  }, 20_000);
});

/** A datastore whose Node watch the test drives by hand. */
class ScriptedDatastore {
  readonly description = 'scripted';
  private queue: WatchEvent[] = [];
  private wake: (() => void) | null = null;
  push(...evs: WatchEvent[]): void {
    this.queue.push(...evs);
    this.wake?.();
  }
  /** Watches opened so far; `failNext` makes the next event a thrown error (a broken connection). */
  watches = 0;
  failNext = false;
  watch(): Watcher {
    this.watches += 1;
    let closed = false;
    const self = this;
    return {
      close() {
        closed = true;
        self.wake?.();
      },
      async *[Symbol.asyncIterator]() {
        while (!closed) {
          if (self.failNext) {
            self.failNext = false;
            throw new Error('connection lost');
          }
          const ev = self.queue.shift();
          if (ev) yield ev;
          else await new Promise<void>((r) => (self.wake = r));
        }
      },
    };
  }
  async close(): Promise<void> {}
}

describe('RouteReflector and the datastore watch protocol', () => {
  const added = (name: string, ip: string, revision: number): WatchEvent => ({
    type: 'added',
    key: resourceKey('Node', name),
    value: JSON.stringify(nodeDoc(name, ip)),
    revision,
  });

  it('acts on nothing before in-sync, and keeps its peers through a resync until the next in-sync', async () => {
    const net = new MemoryNetwork();
    const sds = new ScriptedDatastore();
    const rr = startRr(net, sds as unknown as Datastore);
    await rr.start();
    sds.push(added('n1', '198.18.0.1', 1), added('n2', '198.18.0.2', 2));
    await new Promise((r) => setTimeout(r, 100));
    expect([...rr.speaker.peers.keys()]).toEqual([]);
    expect(rr.inSync).toBe(false);
    sds.push({ type: 'in-sync', revision: 2 });
    await rr.whenInSync();
    expect([...rr.speaker.peers.keys()].sort()).toEqual(['Node_198_18_0_1', 'Node_198_18_0_2']);
    // A resync drops the state, then a partial snapshot arrives: nothing is removed yet.
    sds.push({ type: 'resync', reason: 'test' }, added('n2', '198.18.0.2', 5));
    await new Promise((r) => setTimeout(r, 100));
    expect([...rr.speaker.peers.keys()].sort()).toEqual(['Node_198_18_0_1', 'Node_198_18_0_2']);
    sds.push({ type: 'in-sync', revision: 5 });
    await until('n1 gone after in-sync', () => !rr.speaker.peers.has('Node_198_18_0_1'));
    expect([...rr.speaker.peers.keys()]).toEqual(['Node_198_18_0_2']);
    expect(kindPrefix('Node')).toBe('/calico/resources/v3/projectcalico.org/nodes/');
  });

  it('re-opens a failed watch, keeping its peers until the new one is in sync', async () => {
    const net = new MemoryNetwork();
    const sds = new ScriptedDatastore();
    const rr = startRr(net, sds as unknown as Datastore);
    await rr.start();
    sds.push(added('n1', '198.18.0.1', 1), { type: 'in-sync', revision: 1 });
    await rr.whenInSync();
    expect([...rr.speaker.peers.keys()]).toEqual(['Node_198_18_0_1']);
    sds.failNext = true;
    sds.push(added('n2', '198.18.0.2', 2)); // wakes the watcher, which fails before reading it
    await until('watch re-opened', () => sds.watches === 2);
    await new Promise((r) => setTimeout(r, 50));
    expect([...rr.speaker.peers.keys()]).toEqual(['Node_198_18_0_1']);
    // The new watch starts with a fresh snapshot; n1 is gone from it.
    sds.push({ type: 'in-sync', revision: 2 });
    await until(
      'n2 replaces n1',
      () => rr.speaker.peers.has('Node_198_18_0_2') && !rr.speaker.peers.has('Node_198_18_0_1'),
    );
  });
});
