import { Ipam, MemoryDatastore, ResourceStore } from '@tabby/datastore';
import { workloadInterfaceName } from '@tabby/fib';
import { canUseNetns, NetLab, type Netns } from '@tabby/test-helpers';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { CniErrorCode } from './errors.js';
import type { CniResult } from './result.js';
import { runCni } from './run-cni.js';

const NODE = 'node-a';
const POD_IF = workloadInterfaceName('web', 'web-1');

const conf = (extra: Record<string, unknown> = {}, ipam: Record<string, unknown> = {}) =>
  JSON.stringify({
    cniVersion: '1.0.0',
    name: 'tabby-pods',
    type: 'tabby-cni',
    nodename: NODE,
    ipam: { type: 'tabby-ipam', ...ipam },
    ...extra,
  });

interface Route {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
}

async function routes(ns: Netns, family: '-4' | '-6'): Promise<Route[]> {
  const { stdout } = await ns.ip(['-j', family, 'route', 'show']);
  return JSON.parse(stdout) as Route[];
}

async function sysctl(ns: Netns, key: string): Promise<string> {
  return (await ns.exec(['cat', `/proc/sys/${key}`])).stdout.trim();
}

describe.skipIf(!canUseNetns())('tabby-cni in network namespaces', () => {
  const lab = new NetLab();
  afterAll(() => lab.destroy());

  let ds: MemoryDatastore;
  let host: Netns;
  let pod: Netns;
  let env: NodeJS.ProcessEnv;

  beforeEach(async () => {
    ds = new MemoryDatastore();
    const store = new ResourceStore(ds);
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: NODE },
      spec: { bgp: { ipv4Address: '198.19.255.1/32' } },
    });
    await store.apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pods-v4' },
      spec: { cidr: '198.18.0.0/16', blockSize: 26 },
    });
    host = await lab.netns('host');
    pod = await lab.netns('pod');
    // The "node": an address of its own and a default route, as a real host has (proxy ARP only
    // answers for 169.254.1.1 when the host has a route to it).
    // (A veth pair inside the host namespace stands in for the uplink: no dummy module needed.)
    await host.ip(['link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'uplink-peer']);
    await host.ip(['link', 'set', 'uplink-peer', 'up']);
    await host.addAddress('uplink', '198.19.255.1/32');
    await host.ip(['route', 'add', 'default', 'dev', 'uplink']);
    env = {
      PATH: process.env.PATH,
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c0ffee01',
      CNI_NETNS: `/var/run/netns/${pod.name}`,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=web;K8S_POD_NAME=web-1',
      CNI_PATH: '/opt/cni/bin',
      TABBY_CNI_HOST_NETNS: host.name,
    };
  });

  const add = async (e = env, stdin = conf()) => {
    const out = await runCni({ ...e, CNI_COMMAND: 'ADD' }, stdin, { datastore: ds });
    return { ...out, json: out.stdout ? JSON.parse(out.stdout) : undefined };
  };
  const del = (e = env, stdin = conf()) => runCni({ ...e, CNI_COMMAND: 'DEL' }, stdin, { datastore: ds });
  const check = (e = env, stdin = conf()) => runCni({ ...e, CNI_COMMAND: 'CHECK' }, stdin, { datastore: ds });

  it('ADD plumbs the pod: veth, address, gateway routes, host sysctls, WorkloadEndpoint; traffic flows', async () => {
    const out = await add();
    expect(out.code, out.stdout).toBe(0);
    const result = out.json as CniResult;
    expect(result.cniVersion).toBe('1.0.0');
    expect(result.interfaces).toEqual([
      { name: POD_IF, mac: 'ee:ee:ee:ee:ee:ee' },
      { name: 'eth0', mac: expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), sandbox: env.CNI_NETNS },
    ]);
    expect(result.ips).toHaveLength(1);
    const ip = result.ips[0]!;
    expect(ip.interface).toBe(1);
    expect(ip.address).toMatch(/^198\.18\.0\.\d+\/32$/);
    const podIp = ip.address.split('/')[0]!;
    expect(result.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);

    // Host side: name from the workload ID, Calico's MAC, sysctls, up.
    const [link] = JSON.parse((await host.ip(['-j', 'link', 'show', 'dev', POD_IF])).stdout) as {
      address: string;
      flags: string[];
    }[];
    expect(link?.address).toBe('ee:ee:ee:ee:ee:ee');
    expect(link?.flags).toContain('UP');
    expect(await sysctl(host, `net/ipv4/conf/${POD_IF}/proxy_arp`)).toBe('1');
    expect(await sysctl(host, `net/ipv4/neigh/${POD_IF}/proxy_delay`)).toBe('0');
    expect(await sysctl(host, `net/ipv4/conf/${POD_IF}/forwarding`)).toBe('1');

    // Pod side: the address and the two routes.
    const addrs = JSON.parse((await pod.ip(['-j', 'addr', 'show', 'dev', 'eth0'])).stdout) as {
      addr_info: { local: string; prefixlen: number }[];
    }[];
    expect(addrs[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain(ip.address);
    const podRoutes = await routes(pod, '-4');
    expect(podRoutes).toContainEqual(expect.objectContaining({ dst: '169.254.1.1', dev: 'eth0', scope: 'link' }));
    expect(podRoutes).toContainEqual(expect.objectContaining({ dst: 'default', gateway: '169.254.1.1', dev: 'eth0' }));

    // Datastore: the WorkloadEndpoint and the IPAM handle.
    const wep = await new ResourceStore(ds).get('WorkloadEndpoint', 'node--a-k8s-web--1-eth0', 'web');
    expect(wep?.spec).toMatchObject({
      node: NODE,
      pod: 'web-1',
      interfaceName: POD_IF,
      ipNetworks: [ip.address],
      containerID: 'c0ffee01',
      endpoint: 'eth0',
      mac: result.interfaces[1]?.mac,
    });
    const report = await new Ipam(ds).show();
    expect(report.handles).toBe(1);

    // Real traffic: the FIB would add the pod route on the host; the pod reaches the host via 169.254.1.1.
    await host.ip(['route', 'add', `${podIp}/32`, 'dev', POD_IF, 'scope', 'link']);
    await pod.exec(['ping', '-c1', '-W2', '198.19.255.1']);
    await host.exec(['ping', '-c1', '-W2', podIp]);
  });

  it('CHECK passes after ADD and reports what is missing after tampering', async () => {
    const out = await add();
    expect(out.code, out.stdout).toBe(0);
    const withPrev = conf({ prevResult: out.json });
    const ok = await check(env, withPrev);
    expect(ok, ok.stdout).toMatchObject({ code: 0, stdout: '' });

    await pod.ip(['route', 'del', 'default']);
    const bad = await check(env, withPrev);
    expect(bad.code).toBe(1);
    const err = JSON.parse(bad.stdout) as { code: number; msg: string; cniVersion: string };
    expect(err.code).toBe(CniErrorCode.CheckFailed);
    expect(err.cniVersion).toBe('1.0.0');
    expect(err.msg).toContain('default via 169.254.1.1');
  });

  it('DEL removes the veth, the WorkloadEndpoint and the address; DEL twice and DEL of an unknown container succeed', async () => {
    const out = await add();
    expect(out.code, out.stdout).toBe(0);
    const first = await del();
    expect(first).toMatchObject({ code: 0, stdout: '' });
    expect((await host.ip(['link', 'show', 'dev', POD_IF], { allowFailure: true })).exitCode).not.toBe(0);
    expect((await pod.ip(['link', 'show', 'dev', 'eth0'], { allowFailure: true })).exitCode).not.toBe(0);
    expect(await new ResourceStore(ds).list('WorkloadEndpoint')).toMatchObject({ items: [] });
    const report = await new Ipam(ds).show();
    expect(report.handles).toBe(0);
    expect(report.blocks.reduce((n, b) => n + b.used, 0)).toBe(0);

    expect(await del()).toMatchObject({ code: 0, stdout: '' });
    // Unknown container, and no netns at all (allowed on DEL).
    expect(await del({ ...env, CNI_CONTAINERID: 'never-added', CNI_NETNS: '' })).toMatchObject({ code: 0 });

    // The address is free again: the next ADD gets the same one.
    const again = await add();
    expect(again.code, again.stdout).toBe(0);
    expect((again.json as CniResult).ips[0]?.address).toBe((out.json as CniResult).ips[0]?.address);
    // CHECK after DEL fails.
    expect((await del()).code).toBe(0);
    const afterDel = await check();
    expect(JSON.parse(afterDel.stdout)).toMatchObject({ code: CniErrorCode.CheckFailed });
  });

  it('DEL of an old sandbox leaves the newer sandbox of the same pod alone', async () => {
    const old = await add({ ...env, CNI_CONTAINERID: 'old' });
    expect(old.code, old.stdout).toBe(0);
    // The runtime lost the old sandbox's namespace; a new sandbox of the same pod gets ADDed.
    const pod2 = await lab.netns('pod2');
    const env2 = { ...env, CNI_CONTAINERID: 'new', CNI_NETNS: `/var/run/netns/${pod2.name}` };
    const fresh = await add(env2);
    expect(fresh.code, fresh.stdout).toBe(0);
    expect(await del({ ...env, CNI_CONTAINERID: 'old', CNI_NETNS: '' })).toMatchObject({ code: 0 });
    expect(await check(env2, conf({ prevResult: fresh.json }))).toMatchObject({ code: 0 });
    expect(await new Ipam(ds).show()).toMatchObject({ handles: 1 });
  });

  it('ADD with a bad config gives a CNI error and changes nothing', async () => {
    const cases: [string, number][] = [
      ['{not json', CniErrorCode.DecodingFailure],
      [conf({ cniVersion: '9.9.9' }), CniErrorCode.IncompatibleVersion],
      [conf({ name: undefined }), CniErrorCode.InvalidNetworkConfig],
      [conf({ mtu: 12 }), CniErrorCode.InvalidNetworkConfig],
      [conf({}, { type: 'host-local' }), CniErrorCode.UnsupportedField],
      [conf({}, { assign_ipv4: 'false' }), CniErrorCode.InvalidNetworkConfig],
    ];
    for (const [stdin, code] of cases) {
      const out = await add(env, stdin);
      expect(out.code, stdin).toBe(1);
      expect(out.json, stdin).toMatchObject({ code, msg: expect.any(String) });
    }
    const missingEnv = await add({ ...env, CNI_CONTAINERID: '' });
    expect(missingEnv.json).toMatchObject({ code: CniErrorCode.InvalidEnvironment });
    expect((await host.ip(['link', 'show', 'dev', POD_IF], { allowFailure: true })).exitCode).not.toBe(0);
    expect((await new Ipam(ds).show()).handles).toBe(0);
  });

  it('a failed ADD undoes itself: IPAM exhausted, missing netns, interface already taken', async () => {
    // Unknown namespace: nothing assigned.
    const gone = await add({ ...env, CNI_NETNS: '/var/run/netns/tby-does-not-exist' });
    expect(gone.json).toMatchObject({ code: CniErrorCode.UnknownContainer });
    // eth0 already exists in the pod: the address assigned first is released again.
    await pod.ip(['link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0-peer']);
    const taken = await add();
    expect(taken.json).toMatchObject({ code: CniErrorCode.InterfaceFailure });
    expect((await new Ipam(ds).show()).handles).toBe(0);
    await pod.ip(['link', 'del', 'eth0']);
    // No pool for IPv6: the IPv4 address, already assigned, is released; no veth is left.
    const noV6 = await add(env, conf({}, { assign_ipv6: true }));
    expect(noV6.json).toMatchObject({ code: CniErrorCode.IpamFailure });
    const report = await new Ipam(ds).show();
    expect(report.handles).toBe(0);
    expect(report.blocks.reduce((n, b) => n + b.used, 0)).toBe(0);
    expect((await host.ip(['link', 'show', 'dev', POD_IF], { allowFailure: true })).exitCode).not.toBe(0);
  });

  it('dual stack: IPv6 from a 2001:db8::/48 pool, default route via the host side link-local', async () => {
    await new ResourceStore(ds).apply({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'pods-v6' },
      spec: { cidr: '2001:db8::/48', blockSize: 122 },
    });
    await host.ip(['addr', 'add', '2001:db8:ffff::1/128', 'dev', 'uplink', 'nodad']);
    await host.ip(['-6', 'route', 'add', 'default', 'dev', 'uplink']);
    const out = await add(env, conf({ cniVersion: '0.4.0' }, { assign_ipv6: 'true' }));
    expect(out.code, out.stdout).toBe(0);
    const result = out.json as CniResult;
    expect(result.cniVersion).toBe('0.4.0');
    expect(result.ips.map((i) => i.version)).toEqual(['4', '6']);
    const v6 = result.ips[1]!.address;
    expect(v6).toMatch(/^2001:db8::([0-9a-f]{1,4})?\/128$/);
    expect(result.routes).toContainEqual({ dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' });
    const podRoutes = await routes(pod, '-6');
    expect(podRoutes).toContainEqual(
      expect.objectContaining({ dst: 'default', gateway: 'fe80::ecee:eeff:feee:eeee', dev: 'eth0' }),
    );
    const wep = await new ResourceStore(ds).get('WorkloadEndpoint', 'node--a-k8s-web--1-eth0', 'web');
    expect(wep?.spec.ipNetworks).toEqual([result.ips[0]!.address, v6]);

    // IPv6 traffic to the host through the link-local gateway.
    await host.ip(['-6', 'route', 'add', v6, 'dev', POD_IF]);
    await pod.exec(['ping', '-6', '-c1', '-W2', 'fe80::ecee:eeff:feee:eeee%eth0']);
    await pod.exec(['ping', '-6', '-c1', '-W2', '2001:db8:ffff::1']);
    expect(await check(env, conf({ cniVersion: '0.4.0', prevResult: result }, { assign_ipv6: true }))).toMatchObject({
      code: 0,
    });
    expect((await del(env, conf({}, { assign_ipv6: true }))).code).toBe(0);
    expect((await new Ipam(ds).show()).blocks.reduce((n, b) => n + b.used, 0)).toBe(0);
  });

  it('works with a namespace given as a /proc/<pid>/ns/net path (nsenter), hostNetns and mtu from the config', async () => {
    const holder = pod.spawn(['sleep', '60']);
    const nsPath = `/proc/${holder.pid}/ns/net`;
    const e = { ...env, CNI_NETNS: nsPath, TABBY_CNI_HOST_NETNS: '' };
    // The host namespace from the config field this time (the environment variable is empty), and an MTU.
    const c = conf({ hostNetns: host.name, mtu: 1400 });
    const out = await add(e, c);
    expect(out.code, out.stdout).toBe(0);
    const mtuOf = async (ns: Netns, ifname: string) =>
      (JSON.parse((await ns.ip(['-j', 'link', 'show', 'dev', ifname])).stdout) as { mtu: number }[])[0]?.mtu;
    expect(await mtuOf(pod, 'eth0')).toBe(1400);
    expect(await mtuOf(host, POD_IF)).toBe(1400);
    expect(await check(e, conf({ hostNetns: host.name, prevResult: out.json }))).toMatchObject({ code: 0 });
    expect((await del(e, c)).code).toBe(0);
    expect((await pod.ip(['link', 'show', 'dev', 'eth0'], { allowFailure: true })).exitCode).not.toBe(0);
    await holder.kill('SIGKILL');
  });
});
