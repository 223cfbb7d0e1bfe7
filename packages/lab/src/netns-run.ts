import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as bgpctl } from '@tabby/bgpctl';
import { deleteNamespaceSync, isRoot, listNamespaces, NetLab, waitFor } from '@tabby/test-helpers';
import type { DemoIo } from './demo.js';
import { clusterYaml, NetnsLab, type Pod } from './netns-lab.js';

/** Where a running `tabby lab up --netns` records what it made, for `lab status` and `lab down`. */
export const LAB_STATE = '/run/tabby-lab/state.json';

export interface LabState {
  pid: number;
  namespaces: string[];
  nodes: { name: string; address: string; socket: string }[];
  pods: { name: string; node: string; ip: string }[];
}

export interface NetnsLabOptions {
  nodes: number;
  topology: 'mesh' | 'rr';
  reflectors: number;
  pods: number;
}

function topologyYaml(o: NetnsLabOptions): string {
  if (o.topology === 'mesh') return clusterYaml(o.nodes);
  const rr = (i: number) =>
    `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: n${i}, labels: { route-reflector: "true" } }\nspec: { bgp: { ipv4Address: 198.18.0.${i}/24, routeReflectorClusterID: 224.0.0.${i} } }`;
  const extra = [
    ...Array.from({ length: o.reflectors }, (_, i) => rr(i + 1)),
    "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: peer-with-route-reflectors }\nspec: { nodeSelector: all(), peerSelector: route-reflector == 'true' }",
    'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }',
  ];
  return `${clusterYaml(o.nodes)}---\n${extra.join('\n---\n')}\n`;
}

/**
 * `tabby lab up --netns`: every node a network namespace on a shared bridge running `tabby node`
 * with the kernel FIB, a real Redis as the datastore, pods as namespaces plugged in by the CNI
 * plugin. Waits until every node is ready, prints status, routes and a ping matrix, then runs
 * until `stop` (Ctrl-C or `tabby lab down`) and removes everything it made.
 */
export async function runNetnsLab(o: NetnsLabOptions, io: DemoIo, stop: Promise<void>): Promise<number> {
  if (!isRoot()) {
    io.stderr('tabby lab up --netns: needs root (network namespaces and kernel routes); the in-process lab does not\n');
    return 2;
  }
  if (existsSync(LAB_STATE)) {
    const prev = JSON.parse(readFileSync(LAB_STATE, 'utf8')) as LabState;
    if (alive(prev.pid)) {
      io.stderr(`tabby lab up --netns: a lab is already running (pid ${prev.pid}); stop it with tabby lab down\n`);
      return 2;
    }
  }
  const net = new NetLab();
  const lab = new NetnsLab(net);
  const pods: Pod[] = [];
  try {
    io.stdout(`Creating ${o.nodes} node namespaces on a bridge (198.18.0.1 and up), Redis at 198.18.0.254 ...\n`);
    await lab.start(o.nodes);
    await lab.apply(topologyYaml(o));
    await Promise.all(lab.nodes.map((n) => lab.startNode(n)));
    for (const n of lab.nodes) {
      const isReflector = o.topology === 'rr' && lab.nodes.indexOf(n) < o.reflectors;
      if (isReflector) continue;
      for (let p = 0; p < o.pods; p++) pods.push(await lab.addPodCni(n, `pod-${n.name}-${p + 1}`));
    }
    for (const n of lab.nodes) {
      await waitFor(`${n.name} ready`, async () => (await lab.nodeStatus(n)).ready, 60_000);
    }
    mkdirSync(join(LAB_STATE, '..'), { recursive: true });
    const state: LabState = {
      pid: process.pid,
      namespaces: net.names,
      nodes: lab.nodes.map((n) => ({ name: n.name, address: n.address, socket: n.socket })),
      pods: pods.map((p) => ({ name: p.name, node: p.node.name, ip: p.ip })),
    };
    writeFileSync(LAB_STATE, JSON.stringify(state, null, 2));
    for (const n of lab.nodes) {
      io.stdout(`\n== ${n.name} (${n.address}): bgpctl -s ${n.socket} node status\n`);
      await bgpctl(['-s', n.socket, 'node', 'status'], io);
      const routes = (await n.ns.ip(['route', 'show'])).stdout;
      io.stdout(`\n   kernel routes (ip -n ${n.ns.name} route):\n${routes.trimEnd().replace(/^/gm, '   ')}\n`);
    }
    let ok = 0;
    let total = 0;
    for (const from of pods) {
      for (const to of pods) {
        if (from === to) continue;
        total += 1;
        if (await waitFor(`${from.name} -> ${to.name}`, () => lab.ping(from, to.ip), 10_000).catch(() => false))
          ok += 1;
      }
    }
    io.stdout(`\nPod to pod: ${ok} of ${total} pairs answer ping.\n`);
    io.stdout(
      'The lab keeps running. Try: tabby lab status, or bgpctl -s SOCKET show rib; stop with Ctrl-C or tabby lab down.\n',
    );
    await stop;
    io.stdout('\nStopping the lab ...\n');
    return 0;
  } catch (err) {
    io.stderr(`tabby lab up --netns: ${(err as Error).message}\n`);
    return 1;
  } finally {
    await lab.stop().catch(() => {});
    await net.destroy();
    rmSync(LAB_STATE, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `tabby lab status`: each node's `node status` from the running netns lab. */
export async function labStatus(io: DemoIo, json: boolean): Promise<number> {
  if (!existsSync(LAB_STATE)) {
    io.stderr('tabby lab status: no netns lab is running (the in-process lab prints its own status)\n');
    return 1;
  }
  const state = JSON.parse(readFileSync(LAB_STATE, 'utf8')) as LabState;
  if (json) {
    io.stdout(`${JSON.stringify(state, null, 2)}\n`);
    return 0;
  }
  io.stdout(
    `netns lab (pid ${state.pid}${alive(state.pid) ? '' : ', not running'}): ${state.nodes.length} nodes, ${state.pods.length} pods\n`,
  );
  for (const p of state.pods) io.stdout(`  pod ${p.name} on ${p.node}: ${p.ip}\n`);
  let code = 0;
  for (const n of state.nodes) {
    io.stdout(`\n== ${n.name} (${n.address})\n`);
    code ||= await bgpctl(['-s', n.socket, 'node', 'status'], io);
  }
  return code;
}

/** `tabby lab down`: stops the running netns lab and removes whatever it left. */
export async function labDown(io: DemoIo): Promise<number> {
  if (!existsSync(LAB_STATE)) {
    io.stdout('no netns lab is running\n');
    return 0;
  }
  const state = JSON.parse(readFileSync(LAB_STATE, 'utf8')) as LabState;
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGTERM');
    await waitFor('the lab to stop', () => !alive(state.pid), 30_000).catch(() => process.kill(state.pid, 'SIGKILL'));
  }
  const left = (await listNamespaces()).filter((n) => state.namespaces.includes(n));
  for (const n of left) deleteNamespaceSync(n);
  rmSync(LAB_STATE, { force: true });
  io.stdout(`lab stopped${left.length ? `; removed ${left.length} leftover namespaces` : ''}\n`);
  return 0;
}
