import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFlatKvView, Ipam, MemoryDatastore, openDatastore, type Resource, ResourceStore } from '@tabby/datastore';
import { haveCommands } from '@tabby/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { runConfdCommand } from '../command.js';
import { BIRD_TEMPLATE_PATH } from '../shipped.js';
import { FlatViewSource } from './datastore-source.js';

const docs: Resource[] = [
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: { asNumber: 64512 },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'IPPool',
    metadata: { name: 'pods' },
    spec: { cidr: '198.19.0.0/16', blockSize: 26 },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'n1' },
    spec: { bgp: { ipv4Address: '198.18.0.1/24' } },
  },
  {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { name: 'n2' },
    spec: { bgp: { ipv4Address: '198.18.0.2/24' } },
  },
] as Resource[];

describe('confd over the datastore flat view', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-confd-ds-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('waits for the first sync, lists flat keys, and reports changes under watched prefixes', async () => {
    const ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    for (const d of docs) await store.apply(d);
    const src = new FlatViewSource(createFlatKvView(ds));
    await src.waitForSync();
    const hosts = await src.list('/calico/bgp/v1/host');
    expect(hosts.map((k) => k.key)).toContain('/calico/bgp/v1/host/n2/ip_addr_v4');
    let changes = 0;
    const stop = src.watch(['/calico/bgp/v1/host'], () => {
      changes += 1;
    });
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n3' },
      spec: { bgp: { ipv4Address: '198.18.0.3/24' } },
    } as Resource);
    const end = Date.now() + 3000;
    while (changes === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(changes).toBeGreaterThan(0);
    stop();
    src.close();
    await ds.close();
  });

  it.skipIf(!haveCommands('bird'))(
    'tabby confd --onetime --datastore renders a BIRD config that bird -p accepts',
    async () => {
      const url = `file://${join(dir, 'ds.json')}`;
      const ds = openDatastore(url);
      const store = new ResourceStore(ds);
      for (const d of docs) await store.apply(d);
      const block = await new Ipam(ds).claimBlock('n1');
      await ds.close();
      const confdir = join(dir, 'confdir');
      mkdirSync(join(confdir, 'templates'), { recursive: true });
      mkdirSync(join(confdir, 'conf.d'), { recursive: true });
      copyFileSync(BIRD_TEMPLATE_PATH, join(confdir, 'templates', 'bird.cfg.template'));
      const dest = join(dir, 'bird.cfg');
      writeFileSync(
        join(confdir, 'conf.d', 'bird.toml'),
        `[template]\nsrc = "bird.cfg.template"\ndest = "${dest}"\nprefix = "/calico"\nkeys = ["/bgp/v1/global", "/bgp/v1/host", "/ipam/v2/host", "/v1/ipam/v4/pool"]\ncheck_cmd = "bird -p -c {{.src}}"\n`,
      );
      let err = '';
      const code = await runConfdCommand(['--onetime', '--datastore', url, '--node', 'n1', '--confdir', confdir], {
        stdout: { write: () => true },
        stderr: { write: (s: string) => (err += s) },
        env: {},
      });
      expect(code, err).toBe(0);
      const cfg = readFileSync(dest, 'utf8');
      expect(cfg).toMatch(/protocol bgp Mesh_198_18_0_2/);
      expect(cfg).toContain(block);
    },
  );

  it('refuses to start without a key source', async () => {
    let err = '';
    const code = await runConfdCommand(['--onetime', '--node', 'n1'], {
      stdout: { write: () => true },
      stderr: { write: (s: string) => (err += s) },
      env: {},
    });
    expect(code).toBe(2);
    expect(err).toMatch(/give --datastore URL/);
  });
});
