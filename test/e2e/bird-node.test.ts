import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BirdDaemon } from '../interop/bird.js';
import { clusterYaml, NetnsCluster } from './cluster.js';

/**
 * An operator runs real BIRD on one node instead of Tabby's speaker: `tabby confd` renders the
 * shipped BIRD 2 template from the datastore for node n3, BIRD starts from that file, and peers
 * with the Tabby nodes n1 and n2 in the mesh.
 */
describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli', 'bird', 'birdc')))(
  'e2e: real BIRD from the confd-rendered config beside Tabby nodes',
  () => {
    const lab = new NetLab();
    const cluster = new NetnsCluster(lab);
    let bird: BirdDaemon;

    beforeAll(async () => {
      await cluster.start(3);
      await cluster.apply(clusterYaml(3));
      // n3's block, claimed as the node agent would.
      const claim = `import { Ipam, openDatastore } from '@tabby/datastore';
        const ds = openDatastore('redis://127.0.0.1:6379/0');
        console.log(await new Ipam(ds).claimBlock('n3'));
        await ds.close();`;
      await cluster.ds.exec([process.execPath, '--input-type=module', '-e', claim]);
      await Promise.all(cluster.nodes.slice(0, 2).map((n) => cluster.startNode(n)));
    }, 120_000);
    afterAll(async () => {
      await bird?.stop();
      await cluster.stop();
      await lab.destroy();
    });

    it('renders the BIRD config for n3 with tabby confd --onetime --datastore', async () => {
      const confdir = join(cluster.dir, 'confdir');
      mkdirSync(join(confdir, 'conf.d'), { recursive: true });
      mkdirSync(join(confdir, 'templates'), { recursive: true });
      const { BIRD_TEMPLATE_PATH } = await import('@tabby/confd');
      writeFileSync(join(confdir, 'templates', 'bird.cfg.template'), readFileSync(BIRD_TEMPLATE_PATH));
      writeFileSync(
        join(confdir, 'conf.d', 'bird.toml'),
        `[template]\nsrc = "bird.cfg.template"\ndest = "${join(cluster.dir, 'bird.cfg')}"\nprefix = "/calico"\nkeys = ["/bgp/v1/global", "/bgp/v1/host", "/ipam/v2/host", "/v1/ipam/v4/pool"]\ncheck_cmd = "bird -p -c {{.src}}"\n`,
      );
      await cluster.tabby(['confd', '--onetime', '--node', 'n3', '--confdir', confdir]);
      const cfg = readFileSync(join(cluster.dir, 'bird.cfg'), 'utf8');
      expect(cfg).toMatch(/protocol bgp Mesh_198_18_0_1/);
      expect(cfg).toMatch(/protocol bgp Mesh_198_18_0_2/);
    });

    it('BIRD started from it reaches Established with both Tabby nodes and they exchange blocks', async () => {
      const n3 = cluster.nodes[2]!;
      bird = new BirdDaemon(n3.ns, readFileSync(join(cluster.dir, 'bird.cfg'), 'utf8'));
      await bird.start();
      await waitFor(
        'BIRD sessions',
        async () => {
          const out = await bird.birdc('show protocols');
          return (out.match(/Established/g) ?? []).length >= 2;
        },
        40_000,
      );
      const n1 = cluster.nodes[0]!;
      const st = await waitFor(
        'n1 sees n3 Established',
        async () => {
          const s = await cluster.nodeStatus(n1);
          return s.peers.find((p) => p.peer_address === '198.18.0.3' && p.info === 'Established');
        },
        30_000,
      );
      expect(st.peer_type).toBe('node-to-node mesh');
      await waitFor(
        'n3 block at n1',
        async () => {
          const r = JSON.parse((await cluster.ctl(n1, ['--json', 'show', 'rib'])).stdout) as {
            routes: { from_address: string }[];
          };
          return r.routes.some((x) => x.from_address === '198.18.0.3');
        },
        20_000,
      );
      await waitFor(
        'Tabby blocks at BIRD',
        async () => [...(await bird.routes('master4')).keys()].filter((k) => k.startsWith('198.19.')).length >= 3,
        20_000,
      );
    }, 90_000);
  },
);
