import { describe, expect, it } from 'vitest';
import type { CniEnv } from './env.js';
import { Netns } from './netns.js';
import { workloadIdentity } from './workload.js';

const env = (args: Record<string, string>): CniEnv => ({
  command: 'ADD',
  containerId: 'c0ffee',
  netns: '/var/run/netns/p',
  ifname: 'eth0',
  args,
  path: '',
});

describe('workloadIdentity', () => {
  it('names a Kubernetes pod the Calico way', () => {
    const id = workloadIdentity(
      env({ K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'nginx-1' }),
      'k8s-pod-network',
      'Node-A',
    );
    expect(id).toMatchObject({
      namespace: 'default',
      pod: 'nginx-1',
      orchestrator: 'k8s',
      endpointName: 'node--a-k8s-nginx--1-eth0',
      handle: 'k8s-pod-network.c0ffee',
    });
    // cali + the first 11 hex digits of sha1("default.nginx-1") (from sha1sum)
    expect(id.hostInterface).toBe('cali7fcc33642a0');
  });

  it('falls back to the container ID outside Kubernetes', () => {
    expect(workloadIdentity(env({}), 'net', 'n1')).toMatchObject({
      namespace: 'default',
      pod: 'c0ffee',
      orchestrator: 'cni',
      endpointName: 'n1-cni-c0ffee-eth0',
    });
  });
});

describe('Netns.from', () => {
  it('tells the current, named and path namespaces apart', () => {
    expect(Netns.from(undefined).kind).toBe('current');
    expect(Netns.from('')).toMatchObject({ kind: 'current', linkTarget: String(process.pid) });
    expect(Netns.from('tby-1')).toMatchObject({ kind: 'named', name: 'tby-1', path: '/run/netns/tby-1' });
    expect(Netns.from('/var/run/netns/x')).toMatchObject({ kind: 'named', name: 'x', linkTarget: 'x' });
    expect(Netns.from('/run/netns/y')).toMatchObject({ kind: 'named', name: 'y' });
    const p = Netns.from('/proc/42/ns/net');
    expect(p).toMatchObject({ kind: 'path', path: '/proc/42/ns/net', linkTarget: undefined });
    expect(p.wrap(['ip', 'link'])).toEqual(['nsenter', '--net=/proc/42/ns/net', 'ip', 'link']);
  });
});
