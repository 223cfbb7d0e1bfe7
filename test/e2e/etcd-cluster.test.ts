import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type EtcdCluster,
  exec,
  freePort,
  haveCommands,
  isRoot,
  NetLab,
  type NsProcess,
  startEtcdCluster,
  waitFor,
} from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Node agents on a real three-member etcd cluster, through member loss, quorum loss and recovery.
// The agents run as real processes on loopback (127.0.0.11 and .12, a BGP port of the test's
// own) with the memory FIB: etcd, BGP and the control sockets never leave loopback, and nothing
// is written to a kernel routing table.
const TABBY = fileURLToPath(new URL('../../packages/cli/bin/tabby.js', import.meta.url));
const BGPCTL = fileURLToPath(new URL('../../packages/bgpctl/bin/bgpctl.js', import.meta.url));

interface NodeStatus {
  ready: boolean;
  reason?: string;
  peers: { peer_address: string; info: string }[];
}

describe.skipIf(!(isRoot() && haveCommands('etcd')))('e2e: node agents on a three-member etcd cluster', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-etcd-e2e-'));
  // Only for its process tracking (the agents die with the test); it makes no namespace here.
  const lab = new NetLab();
  let etcd: EtcdCluster;
  const agents: { name: string; address: string; socket: string; proc?: NsProcess }[] = [
    { name: 'n1', address: '127.0.0.11', socket: join(dir, 'n1.sock') },
    { name: 'n2', address: '127.0.0.12', socket: join(dir, 'n2.sock') },
  ];

  const tabby = (args: string[], allowFailure = false) =>
    exec([process.execPath, TABBY, ...args, '--datastore', etcd.url], { allowFailure, timeoutMs: 60_000 });
  const apply = async (yaml: string) => {
    const file = join(dir, `apply-${Date.now()}-${Math.random()}.yaml`);
    writeFileSync(file, yaml);
    return tabby(['apply', '-f', file], true);
  };
  const status = async (a: (typeof agents)[number]): Promise<NodeStatus> =>
    JSON.parse((await exec([process.execPath, BGPCTL, '-s', a.socket, '--json', 'node', 'status'])).stdout);
  const rib = async (a: (typeof agents)[number]): Promise<string> =>
    (await exec([process.execPath, BGPCTL, '-s', a.socket, 'show', 'rib'])).stdout;
  const bgpPeer = (name: string, ip: string) =>
    `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: ${name} }\nspec: { peerIP: ${ip}, asNumber: 65001 }\n`;
  const peersOf = async (a: (typeof agents)[number]) => (await status(a)).peers.map((p) => p.peer_address);

  beforeAll(async () => {
    etcd = await startEtcdCluster(3);
    const port = await freePort();
    const docs = [
      `apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { nodeToNodeMeshEnabled: true, asNumber: 64512, listenPort: ${port}, bindMode: NodeIP }`,
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: pods }\nspec: { cidr: 198.19.0.0/16, blockSize: 26 }',
      ...agents.map(
        (a) =>
          `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: ${a.name} }\nspec: { bgp: { ipv4Address: ${a.address}/8 } }`,
      ),
    ];
    const r = await apply(docs.join('\n---\n'));
    expect(r.exitCode, r.stderr).toBe(0);
    for (const a of agents) {
      a.proc = lab.spawnHere([
        process.execPath,
        TABBY,
        'node',
        '--name',
        a.name,
        '--datastore',
        etcd.url,
        '--fib',
        'memory',
        '--uplink',
        'lo',
        '--hold-time',
        '9',
        '-s',
        a.socket,
      ]);
    }
    for (const a of agents) {
      await waitFor(`${a.name} ready`, async () => (await status(a)).ready, 60_000).catch((err) => {
        throw new Error(`${(err as Error).message}\n${a.proc?.output}\n${etcd.output}`);
      });
    }
  }, 180_000);

  afterAll(async () => {
    await lab.destroy();
    await etcd?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('one member down: apply and get keep working, and the agents see the change', async () => {
    await etcd.members[0]!.kill();
    const r = await apply(bgpPeer('one-down', '127.0.0.91'));
    expect(r.exitCode, r.stderr).toBe(0);
    const get = await tabby(['get', 'bgppeers'], true);
    expect(get.exitCode, get.stderr).toBe(0);
    expect(get.stdout).toContain('one-down');
    for (const a of agents)
      await waitFor(`${a.name} to peer with the new BGPPeer`, async () => (await peersOf(a)).includes('127.0.0.91'));
    await apply(''); // nothing: a no-op apply still works
    expect((await tabby(['delete', 'bgppeer', 'one-down'], true)).exitCode).toBe(0);
  }, 90_000);

  it('quorum lost: every command fails with a clear one-line message in time; the agents keep routes and sessions', async () => {
    const before = await Promise.all(agents.map((a) => rib(a)));
    for (const text of before) expect(text).toMatch(/198\.19\.\d+\.\d+\/26/g);
    await etcd.members[1]!.kill();
    for (const args of [
      ['get', 'nodes'],
      ['ipam', 'show'],
    ]) {
      const t0 = performance.now();
      const r = await tabby(args, true);
      const seconds = (performance.now() - t0) / 1000;
      expect(r.exitCode, `${args.join(' ')}: ${r.stdout}${r.stderr}`).not.toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/quorum|leader|unreachable/i);
      expect(lines[0]).not.toMatch(/^\s+at /);
      // Its own timeout, not the test's.
      expect(seconds).toBeLessThan(30);
    }
    const failed = await apply(bgpPeer('no-quorum', '127.0.0.92'));
    expect(failed.exitCode).not.toBe(0);
    expect(failed.stdout + failed.stderr).toMatch(/quorum|leader|unreachable/i);
    for (const a of agents) {
      const st = await waitFor(`${a.name} not ready`, async () => {
        const s = await status(a);
        return s.ready ? undefined : s;
      });
      expect(st.reason).toMatch(/^datastore etcd .* unreachable: .*(quorum|leader)/i);
      // Sessions and routes stay as they were.
      expect(st.peers.map((p) => p.info)).toEqual(['Established']);
    }
    const during = await Promise.all(agents.map((a) => rib(a)));
    expect(during).toEqual(before);
  }, 120_000);

  it('quorum back: the agents resync and see what is applied next', async () => {
    await Promise.all([etcd.members[0]!.start(), etcd.members[1]!.start()]);
    for (const a of agents) await waitFor(`${a.name} ready again`, async () => (await status(a)).ready, 60_000);
    const r = await apply(bgpPeer('after', '127.0.0.93'));
    expect(r.exitCode, r.stderr).toBe(0);
    for (const a of agents)
      await waitFor(`${a.name} to peer with a BGPPeer applied after recovery`, async () =>
        (await peersOf(a)).includes('127.0.0.93'),
      );
    // The outage is in each agent's log, once at its start and once at its end.
    for (const a of agents) {
      expect(a.proc!.output.split('"msg":"datastore unreachable"').length - 1).toBe(1);
      expect(a.proc!.output).toContain('"msg":"datastore reachable again"');
    }
  }, 120_000);
});
