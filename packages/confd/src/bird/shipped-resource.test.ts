import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryKeyValueSource } from '../kv/memory-source.js';
import { ConfdLoop } from '../loop/confd-loop.js';
import { CheckFailedError } from '../loop/errors.js';
import { Outcome } from '../loop/resource-processor.js';
import { loadTemplateResources } from '../loop/template-resource.js';
import { SHIPPED_CONFDIR } from '../shipped.js';

const TESTDATA = join(import.meta.dirname, 'testdata');
const work = mkdtempSync(join(tmpdir(), 'tabby-bird-res-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('shipped bird.toml', () => {
  it('is a valid resource watching the keys the template reads', async () => {
    const [res, ...rest] = await loadTemplateResources(SHIPPED_CONFDIR);
    expect(rest).toEqual([]);
    expect(res).toMatchObject({
      dest: '/etc/bird/bird.cfg',
      prefix: '/calico',
      keys: [
        '/calico/bgp/v1/global',
        '/calico/bgp/v1/host',
        '/calico/ipam/v2/host',
        '/calico/v1/ipam/v4/pool',
        '/calico/v1/ipam/v6/pool',
        '/calico/staticroutes',
        '/calico/staticroutesv6',
        '/calico/rejectcidrs',
        '/calico/rejectcidrsv6',
      ],
      checkCmd: 'bird -p -c {{.src}}',
    });
    expect(existsSync(res!.src)).toBe(true);
  });

  it.skipIf(!existsSync('/usr/sbin/bird'))('renders through the loop with BIRD as the real check', async () => {
    const [shipped] = await loadTemplateResources(SHIPPED_CONFDIR);
    const res = {
      ...shipped!,
      dest: join(work, 'bird.cfg'),
      checkCmd: '/usr/sbin/bird -p -c {{.src}}',
      reloadCmd: `echo reload >> ${join(work, 'reloads')}`,
    };
    const fx = JSON.parse(readFileSync(join(TESTDATA, 'mesh.json'), 'utf8')) as {
      node: string;
      keys: Record<string, string>;
    };
    const source = new MemoryKeyValueSource(fx.keys, { inSync: true });
    const loop = new ConfdLoop({ resources: [res], source, env: { NODENAME: fx.node } });
    expect((await loop.runOnce())[0]).toMatchObject({ outcome: Outcome.Updated });
    const golden = readFileSync(join(TESTDATA, 'mesh.bird.cfg'), 'utf8');
    expect(readFileSync(res.dest, 'utf8')).toBe(golden);
    expect((await loop.runOnce())[0]).toMatchObject({ outcome: Outcome.Unchanged });

    // A pool with an impossible prefix length: BIRD rejects it, the good file stays.
    source.set('/calico/v1/ipam/v4/pool/bad', '{"cidr":"198.18.0.0/99"}');
    const [r] = await loop.runOnce();
    expect((r as { error: Error }).error).toBeInstanceOf(CheckFailedError);
    expect(readFileSync(res.dest, 'utf8')).toBe(golden);
    expect(readFileSync(join(work, 'reloads'), 'utf8')).toBe('reload\n');
  });
});
