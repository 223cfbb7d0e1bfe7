import { describe, expect, it } from 'vitest';
import { ValidationError } from '../errors.js';
import { effectiveBGPConfiguration, parseAsNumber } from './defaults.js';
import { validateResource } from './validate.js';

const doc = (kind: string, spec: unknown, name = 'x', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name, ...extra },
  spec,
});

function problems(d: unknown): { field: string; value: unknown; message: string }[] {
  try {
    validateResource(d);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems;
  }
  throw new Error('expected a ValidationError');
}

describe('validateResource', () => {
  it('fills Calico IPPool defaults and masks the CIDR', () => {
    const { resource, warnings } = validateResource(doc('IPPool', { cidr: '10.1.2.3/16' }, 'pool'));
    expect(resource.spec).toEqual({
      cidr: '10.1.0.0/16',
      blockSize: 26,
      ipipMode: 'Never',
      vxlanMode: 'Never',
      nodeSelector: 'all()',
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    });
    expect(warnings.join()).toMatch(/normalised to 10.1.0.0\/16/);
    const v6 = validateResource(doc('IPPool', { cidr: 'fd00::/48' }, 'pool6')).resource.spec;
    expect(v6).toMatchObject({ blockSize: 122 });
  });

  it('rejects unknown fields with their path', () => {
    const p = problems(doc('BGPPeer', { peerIP: '10.0.0.1', asNumber: 64513, peerIp: 'typo' }));
    expect(p).toEqual([
      expect.objectContaining({ field: 'spec.peerIp', value: 'typo', message: expect.stringMatching(/unknown field/) }),
    ]);
    expect(problems({ ...doc('IPPool', { cidr: '10.0.0.0/16' }), status: {} })[0]?.field).toBe('status');
    expect(problems(doc('Node', { bgp: { ipv4address: '10.0.0.1/24' } }))[0]?.field).toBe('spec.bgp.ipv4address');
  });

  it('error message names the document, field and value', () => {
    expect(() => validateResource(doc('IPPool', { cidr: '10.0.0.0/33' }, 'bad-pool'))).toThrow(
      /IPPool\/bad-pool: spec.cidr: must be a CIDR.*\(value: "10.0.0.0\/33"\)/,
    );
  });

  it('checks AS numbers', () => {
    expect(problems(doc('BGPConfiguration', { asNumber: 0 }, 'default'))[0]?.field).toBe('spec.asNumber');
    expect(problems(doc('BGPConfiguration', { asNumber: 4294967296 }, 'default'))[0]?.field).toBe('spec.asNumber');
    expect(validateResource(doc('BGPConfiguration', { asNumber: '1.10' }, 'default')).resource.spec).toEqual({
      asNumber: '1.10',
    });
    expect(parseAsNumber('1.10')).toBe(65546);
    expect(parseAsNumber(4294967295)).toBe(4294967295);
  });

  it('peerIP xor peerSelector; node xor nodeSelector; asNumber only with peerIP', () => {
    expect(
      problems(doc('BGPPeer', { peerIP: '10.0.0.1', peerSelector: 'all()', asNumber: 1 })).map((p) => p.field),
    ).toContain('spec.peerSelector');
    expect(problems(doc('BGPPeer', { asNumber: 1 })).map((p) => p.field)).toContain('spec.peerIP');
    expect(
      problems(doc('BGPPeer', { node: 'a', nodeSelector: 'all()', peerIP: '10.0.0.1', asNumber: 1 }))[0]?.field,
    ).toBe('spec.nodeSelector');
    expect(problems(doc('BGPPeer', { peerSelector: 'has(rr)', asNumber: 1 }))[0]?.field).toBe('spec.asNumber');
    expect(problems(doc('BGPPeer', { peerIP: '10.0.0.1' }))[0]?.field).toBe('spec.asNumber');
    for (const ip of ['10.0.0.1', '10.0.0.1:1179', '[fd00::1]:179', 'fd00::1']) {
      expect(() => validateResource(doc('BGPPeer', { peerIP: ip, asNumber: 65000 }))).not.toThrow();
    }
    expect(problems(doc('BGPPeer', { peerIP: '10.0.0.1:99999', asNumber: 1 }))[0]?.field).toBe('spec.peerIP');
  });

  it('no IPIP with VXLAN on one pool; no IPIP on IPv6; block size range', () => {
    expect(
      problems(doc('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'Always', vxlanMode: 'CrossSubnet' }))[0]?.field,
    ).toBe('spec.vxlanMode');
    expect(problems(doc('IPPool', { cidr: 'fd00::/48', ipipMode: 'Always' }))[0]?.field).toBe('spec.ipipMode');
    expect(problems(doc('IPPool', { cidr: '10.0.0.0/16', blockSize: 19 }))[0]?.field).toBe('spec.blockSize');
    expect(problems(doc('IPPool', { cidr: '10.0.0.0/28', blockSize: 26 }))[0]?.field).toBe('spec.blockSize');
    expect(problems(doc('IPPool', { cidr: '10.0.0.0/16', ipipMode: 'Sometimes' }))[0]?.field).toBe('spec.ipipMode');
  });

  it('cluster ID is a dotted quad', () => {
    expect(problems(doc('Node', { bgp: { routeReflectorClusterID: '1.2.3' } }))[0]?.field).toBe(
      'spec.bgp.routeReflectorClusterID',
    );
    expect(problems(doc('Node', { bgp: { routeReflectorClusterID: '1.2.3.256' } }))[0]?.field).toBe(
      'spec.bgp.routeReflectorClusterID',
    );
    expect(() =>
      validateResource(doc('Node', { bgp: { routeReflectorClusterID: '224.0.0.1', ipv4Address: '10.0.0.1/24' } })),
    ).not.toThrow();
    expect(problems(doc('Node', { bgp: { ipv4Address: 'fd00::1/64' } }))[0]?.field).toBe('spec.bgp.ipv4Address');
  });

  it('selectors are parsed, with the column of an error; empty ones warn', () => {
    const p = problems(doc('IPPool', { cidr: '10.0.0.0/16', nodeSelector: "rack == 'a' &&" }));
    expect(p[0]).toMatchObject({ field: 'spec.nodeSelector', message: expect.stringMatching(/column 15/) });
    const { warnings } = validateResource(doc('BGPPeer', { peerSelector: 'has(rr)', nodeSelector: null }));
    expect(warnings.join()).toMatch(/spec.nodeSelector is empty.*YAML tag/);
  });

  it('BGPConfiguration names and per-node restrictions', () => {
    expect(problems(doc('BGPConfiguration', {}, 'global'))[0]?.field).toBe('metadata.name');
    expect(problems(doc('BGPConfiguration', { nodeToNodeMeshEnabled: false }, 'node.a'))[0]?.field).toBe(
      'spec.nodeToNodeMeshEnabled',
    );
    expect(
      problems(doc('BGPConfiguration', { communities: [{ name: 'c', value: '65000' }] }, 'default'))[0]?.field,
    ).toBe('spec.communities[0].value');
  });

  it('WorkloadEndpoint needs a namespace and its fields', () => {
    const wep = {
      node: 'n1',
      pod: 'p',
      interfaceName: 'cali0123456789a',
      ipNetworks: ['10.0.0.5/32'],
      mac: 'ee:ee:ee:ee:ee:ee',
    };
    expect(() =>
      validateResource(doc('WorkloadEndpoint', wep, 'n1-k8s-p-eth0', { namespace: 'default' })),
    ).not.toThrow();
    expect(problems(doc('WorkloadEndpoint', wep, 'w'))[0]?.field).toBe('metadata.namespace');
    expect(problems(doc('WorkloadEndpoint', { ...wep, pod: undefined }, 'w', { namespace: 'd' }))[0]?.field).toBe(
      'spec.pod',
    );
  });

  it('checks apiVersion, kind and metadata.name', () => {
    expect(
      problems({ ...doc('IPPool', { cidr: '10.0.0.0/16' }), apiVersion: 'crd.projectcalico.org/v1' })[0]?.field,
    ).toBe('apiVersion');
    expect(problems(doc('Pod', {}))[0]?.field).toBe('kind');
    expect(problems(doc('IPPool', { cidr: '10.0.0.0/16' }, 'Bad_Name'))[0]?.field).toBe('metadata.name');
  });

  it('effective BGP configuration uses Calico defaults', () => {
    expect(effectiveBGPConfiguration(undefined)).toMatchObject({
      nodeToNodeMeshEnabled: true,
      asNumber: 64512,
      listenPort: 179,
    });
    expect(effectiveBGPConfiguration({ nodeToNodeMeshEnabled: false, asNumber: 65001 })).toMatchObject({
      nodeToNodeMeshEnabled: false,
      asNumber: 65001,
    });
  });
});
