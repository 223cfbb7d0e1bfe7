import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
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
      '1 resource: 1 created, 0 configured, 0 unchanged, 0 failed',
      'BGPPeer/rack1-tor created',
      'BGPPeer/peer-with-route-reflectors created',
      'BGPPeer/bgppeer-global-3040 created',
      'BGPPeer/node1-v6 created',
      '4 resources: 4 created, 0 configured, 0 unchanged, 0 failed',
      'IPPool/default-ipv4-ippool created',
      'IPPool/ipip-cross-subnet created',
      'IPPool/vxlan-always created',
      'IPPool/vxlan-cross-subnet created',
      'IPPool/no-encap created',
      'IPPool/default-ipv6-ippool created',
      '6 resources: 6 created, 0 configured, 0 unchanged, 0 failed',
    ]);
    // Applying again changes nothing; a changed document is "configured".
    const again = io();
    expect(await runApply({ file: testdata('ip-pools.yaml'), datastore: url }, again)).toBe(0);
    expect(again.out).toMatch(/^IPPool\/default-ipv4-ippool unchanged$/m);
    expect(again.out).toMatch(/^6 resources: 0 created, 0 configured, 6 unchanged, 0 failed$/m);
    const changed = write(
      'pool.yaml',
      'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: no-encap\nspec:\n  cidr: 10.40.0.0/16\n  natOutgoing: true\n',
    );
    const c = io();
    expect(await runApply({ file: changed, datastore: url }, c)).toBe(0);
    expect(c.out).toBe('IPPool/no-encap configured\n1 resource: 0 created, 1 configured, 0 unchanged, 0 failed\n');

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
    expect(t.out).toBe('Node/n1 created\n1 resource: 1 created, 0 configured, 0 unchanged, 0 failed\n');
    const bad = io({}, 'kind: Node\nmetadata: [\n');
    expect(await runApply({ file: '-' }, bad, ds)).toBe(1);
    expect(bad.err).toMatch(/<stdin>: document 1: YAML error at line \d+, column \d+: /);
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

  it('ipam show prints pools, blocks, owners, reservations and utilisation', async () => {
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
    expect(t.out).toMatch(/^p\s+198\.18\.0\.0\/24\s+\/28\s+1\s+256\s+4\s+0\s+252\s+1\.6%$/m);
    expect(t.out).toMatch(/^198\.18\.0\.0\/28\s+p\s+node-a\s+confirmed\s+4\s+0\s+12\s+25\.0%$/m);
    expect(t.out).toMatch(/4 handle\(s\)/);
    expect(t.out).not.toMatch(/RESERVATION/);
    // A reservation over two addresses in use and two free ones, and a second over a whole block.
    await new ResourceStore(ds).apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPReservation',
      metadata: { name: 'gateways' },
      spec: { reservedCIDRs: ['198.18.0.2/31', '198.18.0.4/31', '198.18.0.240/28'] },
    });
    const r = io();
    expect(await runIpamShow({}, r, ds)).toBe(0);
    expect(r.out).toMatch(
      /^POOL\s+CIDR\s+BLOCK SIZE\s+BLOCKS\s+IPS TOTAL\s+IPS IN USE\s+IPS RESERVED\s+IPS FREE\s+UTILISATION$/m,
    );
    expect(r.out).toMatch(/^p\s+198\.18\.0\.0\/24\s+\/28\s+1\s+256\s+4\s+20\s+234\s+1\.6%$/m);
    expect(r.out).toMatch(/^198\.18\.0\.0\/28\s+p\s+node-a\s+confirmed\s+4\s+4\s+10\s+25\.0%$/m);
    expect(r.out).toMatch(/^RESERVATION\s+CIDRS\ngateways\s+198\.18\.0\.2\/31,198\.18\.0\.4\/31,198\.18\.0\.240\/28$/m);
    const j = io();
    expect(await runIpamShow({ output: 'json' }, j, ds)).toBe(0);
    expect(JSON.parse(j.out)).toMatchObject({
      pools: [{ name: 'p', used: 4, reserved: 20, free: 234 }],
      blocks: [{ cidr: '198.18.0.0/28', used: 4, reserved: 4, free: 10 }],
      reservations: [{ name: 'gateways', cidrs: ['198.18.0.2/31', '198.18.0.4/31', '198.18.0.240/28'] }],
    });
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

const pool = (name: string, cidr: string, extra = '') =>
  `apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n${extra}`;
const nodeDoc = (name: string) => `apiVersion: projectcalico.org/v3\nkind: Node\nmetadata:\n  name: ${name}\n`;

describe('tabby apply with the files people write', () => {
  it('accepts a file that ends with --- (an empty last document), as kubectl and calicoctl do', async () => {
    const ds = new MemoryDatastore();
    const t = io();
    expect(
      await runApply({ file: write('trailing.yaml', `---\n${nodeDoc('n1')}---\n${nodeDoc('n2')}---\n`) }, t, ds),
      t.err,
    ).toBe(0);
    expect(t.out).toBe(
      'Node/n1 created\nNode/n2 created\n2 resources: 2 created, 0 configured, 0 unchanged, 0 failed\n',
    );
  });

  it('an undefined alias or an alias bomb is one error line with file, line and column; nothing applied', async () => {
    const ds = new MemoryDatastore();
    const f = write('alias.yaml', `${nodeDoc('n1')}  labels: *nope\n`);
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    expect(t.err).toBe(
      `error: ${f}: document 1: YAML error at line 5, column 11: undefined alias *nope: an anchor &nope must come before it\ntabby apply: nothing applied (1 error)\n`,
    );
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `l${i}: &l${i} [${Array(9)
          .fill(`*${i === 1 ? 'a' : `l${i - 1}`}`)
          .join(', ')}]`,
      );
    const bomb = write('bomb.yaml', `${nodeDoc('n2')}  annotations:\n${levels.map((l) => `    ${l}`).join('\n')}\n`);
    const b = io();
    expect(await runApply({ file: bomb }, b, ds)).toBe(1);
    expect(b.err.split('\n')).toEqual([
      expect.stringMatching(
        /^error: .*bomb\.yaml: document 1: YAML error at line 10, column \d+: alias \*l3 expands the document beyond 10000 nodes/,
      ),
      'tabby apply: nothing applied (1 error)',
      '',
    ]);
    expect((await ds.list('/')).items).toEqual([]);
  });

  it('two resources of one kind with one name in a file: an error naming both documents', async () => {
    const ds = new MemoryDatastore();
    const f = write('dup.yaml', [nodeDoc('n1'), pool('p', '198.18.0.0/24'), nodeDoc('n1')].join('---\n'));
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    expect(t.err).toBe(
      `error: ${f}: document 3 (line 13): Node/n1: also defined by document 1 (line 1); a file may define each resource once\ntabby apply: nothing applied (1 error)\n`,
    );
    expect((await ds.list('/')).items).toEqual([]);
  });

  it('refuses an IP pool that overlaps another, in the file or in the datastore', async () => {
    const ds = new MemoryDatastore();
    const f = write('overlap.yaml', [pool('a', '198.18.0.0/16'), pool('b', '198.18.4.0/24')].join('---\n'));
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    expect(t.err).toContain(
      `error: ${f}: document 2 (line 8): IPPool/b: spec.cidr (line 13): overlaps IPPool/a (198.18.0.0/16); pools may not overlap (value: "198.18.4.0/24")`,
    );
    expect(t.err).toMatch(/IPPool\/a: spec.cidr \(line 6\): overlaps IPPool\/b \(198\.18\.4\.0\/24\)/);
    expect((await ds.list('/')).items).toEqual([]);
    expect(await runApply({ file: write('a.yaml', pool('a', '198.18.0.0/16')) }, io(), ds)).toBe(0);
    const s = io();
    expect(
      await runApply({ file: write('c.yaml', [nodeDoc('n1'), pool('c', '198.18.255.0/24')].join('---\n')) }, s, ds),
    ).toBe(1);
    expect(s.err).toMatch(
      /IPPool\/c: spec.cidr \(line 11\): overlaps IPPool\/a \(198\.18\.0\.0\/16\); pools may not overlap/,
    );
    expect(s.err).toMatch(/nothing applied \(1 error\)/);
    expect(await new ResourceStore(ds).get('Node', 'n1')).toBeUndefined();
    // The library refuses it too.
    await expect(
      new ResourceStore(ds).create({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'd' },
        spec: { cidr: '198.18.1.0/24' },
      }),
    ).rejects.toThrow(/IPPool\/d: spec.cidr: overlaps IPPool\/a/);
  });

  it("an existing pool's CIDR cannot change: the message says to delete and re-create it", async () => {
    const ds = new MemoryDatastore();
    expect(await runApply({ file: write('p1.yaml', pool('p', '198.18.0.0/24')) }, io(), ds)).toBe(0);
    const t = io();
    const f = write('p2.yaml', pool('p', '198.18.1.0/24'));
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    expect(t.err).toContain(
      `error: ${f}: document 1 (line 1): IPPool/p: spec.cidr (line 6): cannot change the CIDR of an existing pool (it is 198.18.0.0/24): pool CIDRs are immutable; delete the pool and create it again (value: "198.18.1.0/24")`,
    );
    expect((await new ResourceStore(ds).get('IPPool', 'p'))?.spec.cidr).toBe('198.18.0.0/24');
    await expect(
      new ResourceStore(ds).apply({
        apiVersion: 'projectcalico.org/v3',
        kind: 'IPPool',
        metadata: { name: 'p' },
        spec: { cidr: '198.18.2.0/24' },
      }),
    ).rejects.toThrow(/cannot change the CIDR of an existing pool/);
  });

  it('--dry-run shows what would be created, configured (and which fields) or left, and writes nothing', async () => {
    const ds = new MemoryDatastore();
    expect(
      await runApply(
        { file: write('base.yaml', [nodeDoc('n1'), nodeDoc('n2'), pool('p', '198.18.0.0/24')].join('---\n')) },
        io(),
        ds,
      ),
    ).toBe(0);
    const revision = await ds.revision();
    const t = io();
    const f = write(
      'next.yaml',
      [
        nodeDoc('n1'),
        `${nodeDoc('n2')}  labels: {rack: r1}\n`,
        pool('p', '198.18.0.0/24', '  natOutgoing: true\n'),
        nodeDoc('n3'),
      ].join('---\n'),
    );
    expect(await runApply({ file: f, dryRun: true }, t, ds), t.err).toBe(0);
    expect(t.out).toBe(
      [
        'Node/n1 unchanged (dry run)',
        'Node/n2 configured (dry run): metadata.labels',
        'IPPool/p configured (dry run): spec.natOutgoing',
        'Node/n3 created (dry run)',
        'dry run, nothing written: 4 resources: 1 created, 2 configured, 1 unchanged, 0 failed',
        '',
      ].join('\n'),
    );
    expect(await ds.revision()).toBe(revision);
    // A dry run still refuses what apply would refuse.
    const bad = io();
    expect(await runApply({ file: write('bad2.yaml', pool('p', '198.18.9.0/24')), dryRun: true }, bad, ds)).toBe(1);
    expect(bad.err).toMatch(/cannot change the CIDR/);
  });

  it('quotes only a short prefix of a huge value', async () => {
    const huge = 'x'.repeat(10 * 1024 * 1024);
    const t = io();
    expect(
      await runApply(
        { file: write('huge.yaml', `${nodeDoc('n1')}spec:\n  bgp:\n    ipv4Address: ${huge}\n`) },
        t,
        new MemoryDatastore(),
      ),
    ).toBe(1);
    expect(t.err.length).toBeLessThan(500);
    expect(t.err).toContain(`(value: "${'x'.repeat(40)}…" (10485760 characters))`);
  });

  it('any text gives exit 0 or 1 and one-line messages, never a throw (property)', async () => {
    const piece = fc.constantFrom(
      'apiVersion: projectcalico.org/v3\n',
      'kind: IPPool\n',
      'kind: Node\n',
      'kind: BGPPeer\n',
      'kind: List\nitems:\n- ',
      'metadata:\n  name: a\n',
      'metadata: {name: b, namespace: x}\n',
      'spec:\n  cidr: 198.18.0.0/24\n',
      'spec: {peerIP: 198.18.0.1, asNumber: 1, nodeSelector: "!has(x)"}\n',
      '  labels: *x\n',
      '  labels: &x {a: b}\n',
      '---\n',
      '[',
      '"',
      '- ',
      ': ',
      '\t',
      'x',
      '\n',
    );
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.array(piece, { maxLength: 25 }).map((a) => a.join('')),
    );
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const o = io({}, t);
        const code = await runApply({ file: '-' }, o, new MemoryDatastore());
        expect([0, 1]).toContain(code);
        for (const line of o.err.split('\n').filter(Boolean)) {
          expect(line).toMatch(/^(error: |warning: |tabby apply: )/);
          expect(line.length).toBeLessThan(1000);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('tabby get with Calico’s kind names, and round trips', () => {
  const KIND_NAMES: Record<string, string[]> = {
    Node: ['node', 'nodes', 'no', 'nos', 'Node'],
    BGPConfiguration: ['bgpconfiguration', 'bgpconfigurations', 'bgpconfig', 'bgpconfigs', 'BGPConfiguration'],
    BGPPeer: ['bgppeer', 'bgppeers', 'bgpp', 'bgpps', 'bp', 'bps', 'BGPPeer'],
    BGPFilter: ['bgpfilter', 'bgpfilters', 'bgpf', 'bgpfs', 'bf', 'bfs', 'BGPFilter'],
    IPPool: ['ippool', 'ippools', 'ipp', 'ipps', 'pool', 'pools', 'IPPool'],
    IPReservation: ['ipreservation', 'ipreservations', 'reservation', 'reservations', 'IPReservation'],
    CalicoNodeStatus: ['caliconodestatus', 'caliconodestatuses', 'nodestatus', 'nodestatuses', 'CalicoNodeStatus'],
    WorkloadEndpoint: ['workloadendpoint', 'workloadendpoints', 'wep', 'weps', 'WorkloadEndpoint'],
  };

  async function cluster() {
    const ds = new MemoryDatastore();
    const t = io();
    expect(await runApply({ file: testdata('routing-all-kinds.yaml') }, t, ds), t.err).toBe(0);
    expect(t.out).toMatch(/^8 resources: 8 created, 0 configured, 0 unchanged, 0 failed$/m);
    expect(t.err).toBe('');
    return ds;
  }

  it('accepts calicoctl’s singular, plural and short names for every kind', async () => {
    const ds = await cluster();
    for (const [kind, names] of Object.entries(KIND_NAMES)) {
      for (const name of names) {
        const t = io();
        expect(await runGet({ kind: name, output: 'json' }, t, ds), `${name}: ${t.err}`).toBe(0);
        expect(JSON.parse(t.out)).toMatchObject({ kind: `${kind}List`, items: [{ kind }] });
      }
    }
  });

  it('prints Calico’s columns for the new kinds, wide too', async () => {
    const ds = await cluster();
    const get = async (kind: string, output?: 'wide') => {
      const t = io();
      expect(await runGet({ kind, ...(output ? { output } : {}) }, t, ds)).toBe(0);
      return t.out;
    };
    expect(await get('bgpfilters')).toMatch(
      /^NAME\s+NUMEXPORTV4\s+NUMIMPORTV4\s+NUMEXPORTV6\s+NUMIMPORTV6\nmy-filter\s+2\s+2\s+1\s+2\n$/,
    );
    expect(await get('ipreservations')).toBe('NAME\nmy-ipreservation\n');
    expect(await get('ipreservations', 'wide')).toMatch(/^my-ipreservation\s+198\.18\.0\.0\/30,198\.18\.0\.9$/m);
    expect(await get('caliconodestatus')).toMatch(/^my-caliconodestatus-1\s+node-a$/m);
    expect(await get('caliconodestatus', 'wide')).toMatch(/^my-caliconodestatus-1\s+node-a\s+Agent,BGP,Routes\s+10s$/m);
    expect(await get('ippools', 'wide')).toMatch(/ASSIGNMENTMODE\s+ALLOWEDUSES\n.*\s+Automatic\s+Workload,Tunnel$/m);
  });

  it('what get -o yaml (or json) prints applies back unchanged, for every kind, status included', async () => {
    const ds = await cluster();
    await new ResourceStore(ds).updateStatus('CalicoNodeStatus', 'my-caliconodestatus-1', {
      lastUpdated: '2026-01-02T03:04:05Z',
      bgp: { numberEstablishedV4: 1, numberNotEstablishedV4: 0, numberEstablishedV6: 0, numberNotEstablishedV6: 0 },
    });
    const before = JSON.stringify((await ds.list('/')).items);
    const revision = await ds.revision();
    for (const kind of Object.keys(KIND_NAMES)) {
      for (const output of ['yaml', 'json'] as const) {
        const list = io();
        expect(await runGet({ kind, output }, list, ds)).toBe(0);
        const items = (output === 'json' ? JSON.parse(list.out) : (await import('yaml')).parse(list.out)).items;
        const one = io();
        const name = items[0].metadata.name;
        const namespace = items[0].metadata.namespace;
        expect(await runGet({ kind, name, output, ...(namespace ? { namespace } : {}) }, one, ds)).toBe(0);
        for (const text of [list.out, one.out]) {
          const back = io({}, text);
          expect(await runApply({ file: '-' }, back, ds), back.err).toBe(0);
          expect(back.out).toBe(
            `${kind}/${namespace ? `${namespace}/` : ''}${name} unchanged\n1 resource: 0 created, 0 configured, 1 unchanged, 0 failed\n`,
          );
        }
      }
    }
    expect(await ds.revision()).toBe(revision);
    expect(JSON.stringify((await ds.list('/')).items)).toBe(before);
    const y = io();
    expect(await runGet({ kind: 'caliconodestatus', name: 'my-caliconodestatus-1', output: 'yaml' }, y, ds)).toBe(0);
    expect(y.out).toMatch(/^status:\n {2}lastUpdated: 2026-01-02T03:04:05Z\n {2}bgp:\n {4}numberEstablishedV4: 1$/m);
  });

  it('a BGPPeer naming a BGPFilter that does not exist applies with a warning (Calico skips such names)', async () => {
    const ds = new MemoryDatastore();
    const peer = (name: string, filters: string[]) =>
      `apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: ${name}\nspec:\n  peerIP: 198.19.0.254\n  asNumber: 64600\n  filters: [${filters.join(', ')}]\n`;
    const filter = (name: string) =>
      `apiVersion: projectcalico.org/v3\nkind: BGPFilter\nmetadata:\n  name: ${name}\nspec:\n  exportV4: [{action: Reject}]\n`;
    expect(await runApply({ file: write('f1.yaml', filter('stored')) }, io(), ds)).toBe(0);
    const f = write(
      'peers-filters.yaml',
      [filter('in-file'), peer('tor', ['stored', 'in-file', 'missing'])].join('---\n'),
    );
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(0);
    expect(t.err).toBe(
      `warning: ${f}: document 2 (line 8): BGPPeer/tor: spec.filters[2] (line 15): no BGPFilter named "missing": until one is applied, this peering works as if it were not listed (as in Calico)\n`,
    );
    expect(t.out).toMatch(/2 resources: 2 created/);
  });

  it('refuses Calico’s password example with the reason, and applies nothing', async () => {
    const f = write(
      'pw.yaml',
      'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata:\n  name: bgppeer-global-3040\nspec:\n  peerIP: 192.20.30.40\n  asNumber: 64567\n  password:\n    secretKeyRef:\n      name: bgp-secrets\n      key: rr-password\n',
    );
    const ds = new MemoryDatastore();
    const t = io();
    expect(await runApply({ file: f }, t, ds)).toBe(1);
    const [line, summary] = t.err.trim().split('\n');
    expect(line).toMatch(
      /^error: .*pw\.yaml: document 1 \(line 1\): BGPPeer\/bgppeer-global-3040: spec\.password \(line 9\): is not supported: TCP MD5 session passwords \(RFC 2385\) need the TCP_MD5SIG socket option, which Node\.js cannot set/,
    );
    expect(summary).toBe('tabby apply: nothing applied (1 error)');
    expect((await ds.list('/')).items).toEqual([]);
  });
});
