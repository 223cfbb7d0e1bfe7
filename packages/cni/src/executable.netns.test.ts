import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatastore, ResourceStore } from '@tabby/datastore';
import { canUseNetns, exec, NetLab } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniErrorCode } from './errors.js';
import type { CniResult } from './result.js';

const BIN = fileURLToPath(new URL('../bin/tabby-cni.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/main.js', import.meta.url));

// The real executable, one process per command, sharing a file:// datastore between runs.
describe.skipIf(!canUseNetns())('tabby-cni executable', () => {
  const lab = new NetLab();
  const dir = mkdtempSync(join(tmpdir(), 'tabby-cni-'));
  const dsUrl = `file://${join(dir, 'datastore.json')}`;
  afterAll(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    if (!existsSync(DIST)) throw new Error(`${DIST} is missing: build first (npx tsc --build packages/cni)`);
    const ds = openDatastore(dsUrl);
    const store = new ResourceStore(ds);
    await store.apply({ apiVersion: 'projectcalico.org/v3', kind: 'Node', metadata: { name: 'node-x' }, spec: {} });
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pods' },
      spec: { cidr: '198.18.0.0/16', blockSize: 26 },
    });
    await ds.close();
  });

  const runBin = (env: Record<string, string>, stdin: string) =>
    exec(['node', BIN], { env: { PATH: process.env.PATH ?? '', ...env }, input: stdin, allowFailure: true });

  it('VERSION, ADD, CHECK, DEL, DEL again, and a bad config, through stdin/stdout/exit code', async () => {
    const host = await lab.netns('host');
    const pod = await lab.netns('pod');
    const netconf = {
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'tabby-cni',
      ipam: { type: 'tabby-ipam' },
    };
    const env = {
      CNI_CONTAINERID: 'exe-1',
      CNI_NETNS: `/var/run/netns/${pod.name}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=exe',
      CNI_PATH: '/opt/cni/bin',
      TABBY_DATASTORE: dsUrl,
      TABBY_NODENAME: 'node-x',
      TABBY_CNI_HOST_NETNS: host.name,
    };
    const stdin = JSON.stringify(netconf);

    const version = await runBin({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    expect(version.exitCode).toBe(0);
    expect(JSON.parse(version.stdout)).toEqual({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });

    const add = await runBin({ ...env, CNI_COMMAND: 'ADD' }, stdin);
    expect(add.exitCode, add.stdout + add.stderr).toBe(0);
    const result = JSON.parse(add.stdout) as CniResult;
    expect(result.ips[0]?.address).toMatch(/^198\.18\.0\.\d+\/32$/);
    const hostIf = result.interfaces[0]?.name ?? '';
    expect(hostIf).toMatch(/^cali[0-9a-f]{11}$/);
    await host.ip(['link', 'show', 'dev', hostIf]);

    const check = await runBin({ ...env, CNI_COMMAND: 'CHECK' }, JSON.stringify({ ...netconf, prevResult: result }));
    expect(check.exitCode, check.stdout + check.stderr).toBe(0);

    for (let i = 0; i < 2; i++) {
      const del = await runBin({ ...env, CNI_COMMAND: 'DEL' }, stdin);
      expect(del.exitCode, del.stdout + del.stderr).toBe(0);
      expect(del.stdout).toBe('');
    }
    expect((await host.ip(['link', 'show', 'dev', hostIf], { allowFailure: true })).exitCode).not.toBe(0);

    const bad = await runBin({ ...env, CNI_COMMAND: 'ADD' }, JSON.stringify({ ...netconf, ipam: undefined }));
    expect(bad.exitCode).not.toBe(0);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      cniVersion: '1.0.0',
      code: CniErrorCode.InvalidNetworkConfig,
      msg: expect.stringContaining('ipam'),
    });

    const ds = openDatastore(dsUrl);
    expect((await new ResourceStore(ds).list('WorkloadEndpoint')).items).toEqual([]);
    await ds.close();
  });
});
