import { main as bgpctl } from '@tabby/bgpctl';
import { routeLine, startMap } from '@tabby/ui';
import { InProcessLab, type InProcessLabOptions, LAB_POOL } from './in-process.js';
import { inProcessLabSource } from './ui-source.js';

export interface DemoIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Orders `a.b.c.d/len` numerically. */
function byPrefix(a: string, b: string): number {
  const key = (p: string) => {
    const [addr, len] = p.split('/') as [string, string];
    return addr.split('.').reduce((n, o) => n * 256 + Number(o), 0) * 64 + Number(len);
  };
  return key(a) - key(b);
}

/**
 * Brings up an in-process lab, waits for convergence, prints each node's `bgpctl show summary`
 * and FIB, and keeps running until `stop` resolves (Ctrl-C). With `ui`, serves the cluster map on
 * 127.0.0.1 at that port (0: any). Resolves with an exit code.
 */
export async function runLab(
  opts: Partial<InProcessLabOptions>,
  io: DemoIo,
  stop: Promise<void>,
  ui?: number,
): Promise<number> {
  const lab = new InProcessLab(opts);
  const o = lab.opts;
  // Another lab on the same addresses or sockets: said at once, not after a 60 s wait.
  try {
    await lab.checkFree();
  } catch (err) {
    io.stderr(`tabby lab: ${(err as Error).message}\n`);
    return 1;
  }
  // The map first: a taken port is said at once, before the lab comes up.
  const map = ui === undefined ? undefined : await startMap(inProcessLabSource(lab), ui, io);
  if (map === null) return 1;
  io.stdout(
    `Bringing up ${o.nodes} Tabby nodes in this process (${o.topology === 'rr' ? `${o.reflectors} route reflectors, mesh off` : 'node-to-node full mesh'}),\n` +
      `BGP over ${o.transport === 'tcp' ? `TCP on loopback (127.0.0.11 and up, port ${o.port})` : 'in-memory pipes'}, ` +
      `the memory datastore, pods from IPPool ${LAB_POOL}, ${o.pods} per node ...\n`,
  );
  try {
    await lab.up();
    const ms = await lab.waitConverged(60_000);
    io.stdout(`Converged in ${(ms / 1000).toFixed(1)} s.\n\n`);
  } catch (err) {
    io.stderr(`tabby lab: ${(err as Error).message}\n`);
    for (const n of lab.nodes) {
      const st = n.agent.status();
      io.stderr(
        `  ${n.name}: ${st.error || st.peers.map((p) => `${p.peer_address} ${p.info}`).join(', ') || 'no peers yet'}\n`,
      );
    }
    await map?.stop();
    await lab.down();
    return 1;
  }
  for (const n of lab.nodes) {
    io.stdout(`== ${n.name} (${n.address}): bgpctl -s ${n.socket} show summary\n`);
    await bgpctl(['-s', n.socket, 'show', 'summary'], { stdout: io.stdout, stderr: io.stderr });
    const routes = (await n.routes.read()).routes.sort((a, b) => byPrefix(a.dst, b.dst));
    io.stdout(
      `\n   FIB (memory; what the kernel would get):\n${routes.map((r) => `   ${routeLine(r)}`).join('\n')}\n\n`,
    );
  }
  const first = lab.nodes[0]!;
  io.stdout(
    `The cluster keeps running. Try, in another terminal:\n` +
      `  node packages/bgpctl/bin/bgpctl.js -s ${first.socket} show rib\n` +
      `  node packages/bgpctl/bin/bgpctl.js -s ${first.socket} show neighbor\n` +
      `  node packages/bgpctl/bin/bgpctl.js -s ${first.socket} node status\n` +
      `  node packages/bgpctl/bin/bgpctl.js -s ${first.socket} --json show fib\n` +
      `Press Ctrl-C to stop.\n`,
  );
  await stop;
  io.stdout('\nStopping: every speaker sends Cease to its peers ...\n');
  await map?.stop();
  await lab.down();
  io.stdout('Stopped.\n');
  return 0;
}
