import { MemoryDatastore } from '@tabby/datastore';
import { describe, expect, it } from 'vitest';
import { CniErrorCode } from './errors.js';
import { runCni } from './run-cni.js';

// Paths that end before any kernel work: no namespaces needed.
describe('runCni (no kernel work)', () => {
  it('VERSION prints the supported versions, echoing a supported cniVersion', async () => {
    const out = await runCni({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '0.3.1',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'],
    });
    expect(JSON.parse((await runCni({ CNI_COMMAND: 'VERSION' }, '')).stdout)).toMatchObject({ cniVersion: '1.0.0' });
  });

  it('reports a bad environment as error JSON, code 4, exit 1, in the config’s version', async () => {
    const out = await runCni({ CNI_COMMAND: 'ADD' }, '{"cniVersion":"0.4.0","name":"n","type":"t","ipam":{}}');
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toEqual({
      cniVersion: '0.4.0',
      code: CniErrorCode.InvalidEnvironment,
      msg: 'CNI_CONTAINERID is not set',
    });
    expect(out.stderr).toContain('CNI_CONTAINERID');
  });

  it('reports a bad datastore URL as an invalid network config', async () => {
    const out = await runCni(
      { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' },
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        type: 't',
        datastore: 'bogus://x',
        ipam: { type: 'tabby-ipam' },
      }),
    );
    expect(JSON.parse(out.stdout)).toMatchObject({ code: CniErrorCode.InvalidNetworkConfig });
  });

  it('CHECK refuses cniVersion 0.3.1 (CHECK came in 0.4.0)', async () => {
    const out = await runCni(
      { CNI_COMMAND: 'CHECK', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/none' },
      JSON.stringify({ cniVersion: '0.3.1', name: 'n', type: 't', ipam: { type: 'tabby-ipam' } }),
      { datastore: new MemoryDatastore() },
    );
    expect(JSON.parse(out.stdout)).toMatchObject({ cniVersion: '0.3.1', code: CniErrorCode.IncompatibleVersion });
  });

  it('DEL of a container that never existed succeeds with no namespace', async () => {
    const out = await runCni(
      { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'ghost', CNI_IFNAME: 'eth0', TABBY_CNI_HOST_NETNS: '/var/run/netns/none' },
      JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 't', nodename: 'a', ipam: { type: 'tabby-ipam' } }),
      { datastore: new MemoryDatastore() },
    );
    expect(out).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('reports an unreachable datastore as code 11 (try again later)', async () => {
    const out = await runCni(
      { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' },
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'n',
        type: 't',
        nodename: 'a',
        datastore: 'redis://127.0.0.1:1/0',
        ipam: { type: 'tabby-ipam' },
      }),
    );
    expect(out.code).toBe(1);
    expect(JSON.parse(out.stdout)).toMatchObject({ code: CniErrorCode.TryAgainLater });
  });
});
