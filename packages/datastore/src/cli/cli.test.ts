import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../backends/memory.js';
import { Ipam } from '../ipam/ipam.js';
import { createFlatKvView } from '../kv/view.js';
import { ResourceStore } from '../resources/store.js';
import { runApply } from './apply.js';
import type { CliIo } from './common.js';
import { runDelete } from './delete.js';
import { runGet } from './get.js';
import { runIpamShow } from './ipam-show.js';

const testdata = (f: string) => fileURLToPath(new URL(`./testdata/${f}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tabby-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function io(env: NodeJS.ProcessEnv = {}, stdin = ''): CliIo & { out: string; err: string } {
  const o = {
    out: '',
    err: '',
    env,
    stdout: (s: string) => {
      o.out += s;
    },
    stderr: (s: string) => {
      o.err += s;
    },
    readStdin: () => Promise.resolve(stdin),
  };
  return o;
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('tabby apply / get / delete with Calico manifests', () => {
  it('applies a BGPConfiguration with the mesh off, peers with selectors and pools with every encapsulation mode', async () => {
    const url = `file://${join(dir, 'store1.json')}`;
    const t = io();
    for (const f of ['bgp-config-mesh-off.yaml', 'bgp-peers.yaml', 'ip-pools.yaml']) {
      expect(await runApply({ file: testdata(f), datastore: url }, t), t.err).toBe(0);
    }
    expect(t.out.trim().split('\n')).toEqual([
      'BGPConfiguration/default created',
      'BGPPeer/rack1-tor created',
      'BGPPeer/peer-with-route-reflectors created',
      'BGPPeer/bgppeer-global-3040 created',
      'BGPPeer/node1-v6 created',
      'IPPool/default-ipv4-ippool created',
      'IPPool/ipip-cross-subnet created',
      'IPPool/vxlan-always created',
      'IPPool/vxlan-cross-subnet created',
      'IPPool/no-encap created',
      'IPPool/default-ipv6-ippool created',
    ]);
    // Applying again changes nothing; a changed document is "configured".
    const again = io();
    expect(await runApply({ file: testdata('ip-pools.yaml'), datastore: url }, again)).toBe(0);
    expect(again.out).toMatch(/^IPPool\/default-ipv4-ippool unchanged$/m);
    const changed = write(
      'pool.yaml',
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: no-encap\nspec:\n  cidr: 10.40.0.0/16\n',
    );
    const c = io();
    expect(await runApply({ file: changed, datastore: url }, c)).toBe(0);
    expect(c.out).toBe('IPPool/no-encap configured\n');

    const g = io();
    expect(await runGet({ kind: 'ippools', datastore: url, output: 'wide' }, g)).toBe(0);
    expect(g.out).toMatch(/^NAME\s+CIDR\s+NAT\s+IPIPMODE\s+VXLANMODE\s+BLOCKSIZE/);
    expect(g.out).toMatch(/default-ipv4-ippool\s+192\.168\.0\.0\/16\s+true\s+Always\s+Never\s+26/);
    expect(g.out).toMatch(/vxlan-cross-subnet\s+10\.30\.0\.0\/16\s+false\s+Never\s+CrossSubnet/);
    expect(g.out).toMatch(/default-ipv6-ippool\s+fd5f:1234::\/48\s+false\s+Never\s+Always\s+122/);
    expect(g.out).toMatch(/vxlan-always .*!has\(edge\)/);

    const y = io();
    expect(await runGet({ kind: 'BGPConfiguration', name: 'default', datastore: url, output: 'yaml' }, y)).toBe(0);
    expect(y.out).toMatch(/nodeToNodeMeshEnabled: false/);
    expect(y.out).toMatch(/asNumber: 63400/);
    const j = io();
    expect(await runGet({ kind: 'bgppeer', datastore: url, output: 'json' }, j)).toBe(0);
    const list = JSON.parse(j.out);
    expect(list.kind).toBe('BGPPeerList');
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort()).toEqual([
      'bgppeer-global-3040',
      'node1-v6',
      'peer-with-route-reflectors',
      'rack1-tor',
    ]);
    const t2 = io();
    expect(await runGet({ kind: 'bgppeers', datastore: url }, t2)).toBe(0);
    expect(t2.out).toMatch(/rack1-tor\s+192\.20\.30\.40\s+\(rack == 'rack-1'\)\s+64567/);

    const d = io();
    expect(await runDelete({ kind: 'bgppeer', name: 'rack1-tor', datastore: url }, d)).toBe(0);
    expect(d.out).toBe('BGPPeer/rack1-tor deleted\n');
    expect(await runDelete({ kind: 'bgppeer', name: 'rack1-tor', datastore: url }, d)).toBe(1);
    expect(d.err).toMatch(/not found/);
  });

  it('reports every bad field with file, document, line, field and value, and applies nothing', async () => {
    const f = write(
      'bad.yaml',
      [
        'apiVersion: projectcalico.org/v3',
        'kind: IPPool',
        'metadata:',
        '  name: good',
        'spec:',
        '  cidr: 10.0.0.0/16',
        '---',
        'apiVersion: projectcalico.org/v3',
        'kind: IPPool',
        'metadata:',
        '  name: both',
        'spec:',
        '  cidr: 10.1.0.0/16',
        '  ipipMode: Always',
        '  vxlanMode: Always',
        '  natOutgoin: true',
        '',
      ].join('\n'),
    );
    const ds = new MemoryDatastore();
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    expect(t.err).toContain(`error: ${f}: document 2 (line 8): IPPool/both: spec.natOutgoin (line 16): unknown field`);
    expect(t.err).toMatch(
      /document 2 \(line 8\): IPPool\/both: spec.vxlanMode \(line 15\): cannot be used with spec.ipipMode Always.*\(value: "Always"\)/,
    );
    expect(t.err).toMatch(/nothing applied \(2 errors\)/);
    expect((await ds.list('/')).items).toEqual([]);
  });

  it('warns about the unquoted !has(x) YAML trap', async () => {
    const f = write(
      'trap.yaml',
      'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  peerIP: 10.0.0.1\n  asNumber: 64512\n  nodeSelector: !has(rr)\n',
    );
    const ds = new MemoryDatastore();
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(0);
    expect(t.err).toMatch(/line 8: Unresolved tag: !has\(rr\)/);
    expect(t.err).toMatch(/spec.nodeSelector is empty: an unquoted selector starting with "!"/);
  });

  it('reads - from stdin, and a YAML syntax error names the line', async () => {
    const ds = new MemoryDatastore();
    const t = io(
      {},
      'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n1\nspec:\n  bgp:\n    ipv4Address: 10.0.0.1/24\n',
    );
    expect(await runApply({ file: '-' }, t, ds)).toBe(0);
    expect(t.out).toBe('Node/n1 created\n');
    const bad = io({}, 'kind: Node\nmetadata: [\n');
    expect(await runApply({ file: '-' }, bad, ds)).toBe(1);
    expect(bad.err).toMatch(/<stdin>: document 1: YAML error at line \d+/);
  });

  it('uses TABBY_DATASTORE, notes that memory does not persist, and rejects bad URLs', async () => {
    const url = `file://${join(dir, 'env.json')}`;
    const f = write('n.yaml', 'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: n2\n');
    expect(await runApply({ file: f }, io({ TABBY_DATASTORE: url }))).toBe(0);
    const g = io({ TABBY_DATASTORE: url });
    expect(await runGet({ kind: 'nodes' }, g)).toBe(0);
    expect(g.out).toMatch(/^n2\s/m);
    const m = io();
    expect(await runGet({ kind: 'nodes' }, m)).toBe(0);
    expect(m.err).toMatch(/memory datastore lives only as long as this command/);
    const b = io();
    expect(await runGet({ kind: 'nodes', datastore: 'mysql://x' }, b)).toBe(1);
    expect(b.err).toMatch(/unknown scheme mysql:/);
    expect(await runGet({ kind: 'pods' }, b)).toBe(1);
    expect(b.err).toMatch(/unknown kind "pods"/);
  });

  it('ipam show prints pools, blocks, owners and utilisation', async () => {
    const ds = new MemoryDatastore();
    await new ResourceStore(ds).apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'p' },
      spec: { cidr: '198.18.0.0/24', blockSize: 28 },
    });
    const ipam = new Ipam(ds);
    for (let i = 0; i < 4; i++) await ipam.assign({ node: 'node-a', handle: `h${i}` });
    const t = io();
    expect(await runIpamShow({}, t, ds)).toBe(0);
    expect(t.out).toMatch(/^p\s+198\.18\.0\.0\/24\s+\/28\s+1\s+256\s+4\s+252\s+1\.6%$/m);
    expect(t.out).toMatch(/^198\.18\.0\.0\/28\s+p\s+node-a\s+confirmed\s+4\s+12\s+25\.0%$/m);
    expect(t.out).toMatch(/4 handle\(s\)/);
  });

  it('the applied manifests drive confd’s flat view', async () => {
    const ds = new MemoryDatastore();
    for (const f of ['bgp-config-mesh-off.yaml', 'bgp-peers.yaml'])
      expect(await runApply({ file: testdata(f) }, io(), ds)).toBe(0);
    const view = new Map((await createFlatKvView(ds).list('/calico/bgp/v1/global/')).map((e) => [e.key, e.value]));
    expect(view.get('/calico/bgp/v1/global/node_mesh')).toBe('{"enabled":false}');
    expect(view.get('/calico/bgp/v1/global/as_num')).toBe('63400');
    expect(JSON.parse(view.get('/calico/bgp/v1/global/peer_v4/192.20.30.40-1179') ?? '{}')).toMatchObject({
      as_num: '64567',
      port: 1179,
      keep_next_hop: true,
    });
  });
});
