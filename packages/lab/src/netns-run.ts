import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main as bgpctl } from '@tabby/bgpctl';
import { deleteNamespaceSync, isRoot, listNamespaces, NetLab, waitFor } from '@tabby/test-helpers';
import { startMap } from '@tabby/ui';
import type { DemoIo } from './demo.js';
import { clusterYaml, NetnsLab, type Pod, V6_UNDERLAY } from './netns-lab.js';
import { netnsLabSource } from './ui-source.js';

/** Where a running `tabby lab up --netns` records what it made, for `lab status` and `lab down`. */
export const LAB_STATE = '/run/tabby-lab/state.json';

export interface LabState {
  pid: number;
  namespaces: string[];
  nodes: { name: string; address: string; socket: string }[];
  pods: { name: string; node: string; ip: string; ip6?: string }[];
}

export interface NetnsLabOptions {
  nodes: number;
  topology: 'mesh' | 'rr';
  reflectors: number;
  pods: number;
  /** Dual stack: IPv6 node addresses, sessions, pool and pod addresses beside IPv4. */
  ipv6?: boolean;
  /** Serve the cluster map on 127.0.0.1 at this port (0: any). */
  ui?: number;
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
    // A lab that was killed (its processes died with it) left its namespaces: remove them.
    const left = await removeLeftovers(prev);
    if (left) io.stdout(`Removed ${left} namespaces left by a lab that was killed (pid ${prev.pid}).\n`);
  }
  const net = new NetLab();
  const lab = new NetnsLab(net, o.ipv6 ?? false);
  const pods: Pod[] = [];
  // The map first: a taken port is said at once, before any namespace is made.
  const map =
    o.ui === undefined
      ? undefined
      : await startMap(netnsLabSource(lab, pods, o.topology === 'rr' ? o.reflectors : 0), o.ui, io);
  if (map === null) {
    rmSync(lab.dir, { recursive: true, force: true });
    return 1;
  }
  try {
    io.stdout(
      `Creating ${o.nodes} node namespaces on a bridge (198.18.0.1 and up${o.ipv6 ? `, ${V6_UNDERLAY}1 and up` : ''}), Redis at 198.18.0.254 ...\n`,
    );
    await lab.start(o.nodes);
    await lab.apply(
      clusterYaml(o.nodes, '', { dualStack: o.ipv6 ?? false, reflectors: o.topology === 'rr' ? o.reflectors : 0 }),
    );
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
      pods: pods.map((p) => ({ name: p.name, node: p.node.name, ip: p.ip, ...(p.ip6 ? { ip6: p.ip6 } : {}) })),
    };
    writeFileSync(LAB_STATE, JSON.stringify(state, null, 2));
    for (const n of lab.nodes) {
      io.stdout(`\n== ${n.name} (${n.address}): bgpctl -s ${n.socket} node status\n`);
      await bgpctl(['-s', n.socket, 'node', 'status'], io);
      for (const family of o.ipv6 ? ['-4', '-6'] : ['-4']) {
        const routes = (await n.ns.ip([family, 'route', 'show'])).stdout;
        const cmd = `ip -n ${n.ns.name}${family === '-6' ? ' -6' : ''} route`;
        io.stdout(`\n   kernel routes (${cmd}):\n${routes.trimEnd().replace(/^/gm, '   ')}\n`);
      }
    }
    for (const family of o.ipv6 ? [4, 6] : [4]) {
      let ok = 0;
      let total = 0;
      for (const from of pods) {
        for (const to of pods) {
          const dst = family === 4 ? to.ip : to.ip6;
          if (from === to || !dst) continue;
          total += 1;
          if (await waitFor(`${from.name} -> ${dst}`, () => lab.ping(from, dst), 10_000).catch(() => false)) ok += 1;
        }
      }
      io.stdout(`\nPod to pod${o.ipv6 ? ` (IPv${family})` : ''}: ${ok} of ${total} pairs answer ping.\n`);
    }
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
    await map?.stop();
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
  for (const p of state.pods) io.stdout(`  pod ${p.name} on ${p.node}: ${p.ip}${p.ip6 ? ` ${p.ip6}` : ''}\n`);
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
  const left = await removeLeftovers(state);
  io.stdout(`lab stopped${left ? `; removed ${left} leftover namespaces` : ''}\n`);
  return 0;
}

/** Deletes what a lab recorded and left (namespaces, state file); how many namespaces went. */
async function removeLeftovers(state: LabState): Promise<number> {
  const existing = new Set(await listNamespaces());
  const left = state.namespaces.filter((n) => existing.has(n));
  for (const n of left) deleteNamespaceSync(n);
  rmSync(LAB_STATE, { force: true });
  return left.length;
}
