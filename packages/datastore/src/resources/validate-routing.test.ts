import { describe, expect, it } from 'vitest';
import { MemoryDatastore } from '../backends/memory.js';
import { ValidationError } from '../errors.js';
import { resourceKey } from '../keys.js';
import { ResourceStore } from './store.js';
import { validateResource } from './validate.js';

// Calico's routing resources beyond the basics (BGPFilter, IPReservation, CalicoNodeStatus) and
// the BGPPeer and IPPool fields Tabby implements, defaults or refuses, each against the v3 API.

const doc = (kind: string, spec: unknown, name = 'x', extra: Record<string, unknown> = {}) => ({
  apiVersion: 'projectcalico.org/v3',
  kind,
  metadata: { name },
  spec,
  ...extra,
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
const fields = (d: unknown) => problems(d).map((p) => p.field);

describe('BGPFilter', () => {
  it('accepts Calico’s sample and keeps the rules in order', () => {
    const spec = {
      exportV4: [
        { action: 'Accept', matchOperator: 'In', cidr: '77.0.0.0/16', source: 'RemotePeers' },
        { action: 'Reject', interface: '*.calico' },
      ],
      importV4: [
        { action: 'Accept', matchOperator: 'In', cidr: '55.0.0.0/16', prefixLength: { min: 30 } },
        { action: 'Reject', matchOperator: 'NotIn', cidr: '44.0.0.0/16' },
      ],
      exportV6: [{ action: 'Reject', source: 'RemotePeers' }],
      importV6: [{ action: 'Accept', matchOperator: 'Equal', cidr: '5000::0/64' }, { action: 'Reject' }],
    };
    const { resource, warnings } = validateResource(doc('BGPFilter', spec, 'my-filter'));
    expect(resource.spec).toEqual({
      ...spec,
      importV6: [{ ...spec.importV6[0], cidr: '5000::/64' }, spec.importV6[1]],
    });
    expect(warnings.join()).toMatch(/spec.importV6\[0\].cidr: 5000::0\/64 normalised to 5000::\/64/);
  });

  it('every rule needs an action; operators, sources and actions are Calico’s', () => {
    expect(fields(doc('BGPFilter', { exportV4: [{ cidr: '10.0.0.0/8', matchOperator: 'In' }] }))).toEqual([
      'spec.exportV4[0].action',
    ]);
    expect(fields(doc('BGPFilter', { exportV4: [{ action: 'Drop' }] }))).toEqual(['spec.exportV4[0].action']);
    expect(
      fields(doc('BGPFilter', { importV4: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'Within' }] })),
    ).toEqual(['spec.importV4[0].matchOperator']);
    expect(fields(doc('BGPFilter', { importV6: [{ action: 'Accept', source: 'Kernel' }] }))).toEqual([
      'spec.importV6[0].source',
    ]);
    expect(fields(doc('BGPFilter', { importV6: [{ action: 'Accept', peerType: 'eBGP' }] }))).toEqual([
      'spec.importV6[0].peerType',
    ]);
  });

  it('cidr and matchOperator go together; cidrs are of the rule’s family', () => {
    expect(problems(doc('BGPFilter', { exportV4: [{ action: 'Accept', cidr: '10.0.0.0/8' }] }))[0]).toMatchObject({
      field: 'spec.exportV4[0].matchOperator',
      message: expect.stringMatching(/is required with cidr/),
    });
    expect(fields(doc('BGPFilter', { exportV4: [{ action: 'Accept', matchOperator: 'In' }] }))).toEqual([
      'spec.exportV4[0].cidr',
    ]);
    expect(
      problems(doc('BGPFilter', { exportV4: [{ action: 'Accept', cidr: 'fd00::/8', matchOperator: 'In' }] }))[0],
    ).toMatchObject({ field: 'spec.exportV4[0].cidr', message: expect.stringMatching(/IPv4 CIDR/) });
    expect(
      fields(doc('BGPFilter', { importV6: [{ action: 'Accept', cidr: '10.0.0.0/8', matchOperator: 'In' }] })),
    ).toEqual(['spec.importV6[0].cidr']);
  });

  it('prefixLength: within the family, needs cidr and In/NotIn, and must match some length', () => {
    const rule = (extra: Record<string, unknown>) => doc('BGPFilter', { importV4: [{ action: 'Accept', ...extra }] });
    expect(() =>
      validateResource(rule({ cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { min: 24, max: 32 } })),
    ).not.toThrow();
    expect(fields(rule({ cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { max: 33 } }))).toEqual([
      'spec.importV4[0].prefixLength.max',
    ]);
    expect(fields(rule({ prefixLength: { min: 24 } }))).toEqual(['spec.importV4[0].prefixLength']);
    expect(
      problems(rule({ cidr: '10.0.0.0/16', matchOperator: 'Equal', prefixLength: { min: 24 } }))[0]?.message,
    ).toMatch(/only applies with matchOperator In or NotIn/);
    expect(problems(rule({ cidr: '10.0.0.0/16', matchOperator: 'In', prefixLength: { max: 8 } }))[0]?.message).toBe(
      'matches no prefix length: 16 to 8 within 10.0.0.0/16',
    );
    expect(fields(rule({ cidr: '10.0.0.0/16', matchOperator: 'NotIn', prefixLength: { min: 28, max: 24 } }))).toEqual([
      'spec.importV4[0].prefixLength',
    ]);
  });

  it('interface is a name or a pattern of at most 15 characters', () => {
    const rule = (i: unknown) => doc('BGPFilter', { exportV6: [{ action: 'Reject', interface: i }] });
    for (const ok of ['*', 'eth0', '*.calico', 'cali*', 'vxlan-v6.calico'.slice(0, 15)])
      expect(() => validateResource(rule(ok))).not.toThrow();
    for (const bad of ['', 'a'.repeat(16), 'eth 0', 'eth"0'])
      expect(fields(rule(bad))).toEqual(['spec.exportV6[0].interface']);
  });
});

describe('BGPPeer fields', () => {
  const peer = (extra: Record<string, unknown>) => doc('BGPPeer', { peerIP: '198.19.0.1', asNumber: 64600, ...extra });

  it('filters are BGPFilter names; keepOriginalNextHop, nextHopMode, numAllowedLocalASNumbers, sourceAddress, maxRestartTime, keepaliveTime are taken', () => {
    const spec = {
      filters: ['tor-out', 'v6.only'],
      keepOriginalNextHop: true,
      nextHopMode: 'Self',
      numAllowedLocalASNumbers: 2,
      sourceAddress: 'None',
      maxRestartTime: '300s',
      keepaliveTime: '10s',
      ttlSecurity: 0,
    };
    expect(validateResource(peer(spec)).resource.spec).toMatchObject(spec);
    expect(fields(peer({ filters: ['Not_A_Name'] }))).toEqual(['spec.filters[0]']);
    expect(fields(peer({ nextHopMode: 'Other' }))).toEqual(['spec.nextHopMode']);
    expect(fields(peer({ sourceAddress: 'Loopback' }))).toEqual(['spec.sourceAddress']);
    expect(fields(peer({ maxRestartTime: '2 minutes' }))).toEqual(['spec.maxRestartTime']);
  });

  it('refuses what Tabby cannot do, naming the field and why', () => {
    const password = problems(peer({ password: { secretKeyRef: { name: 'bgp', key: 'pw' } } }));
    expect(password).toEqual([
      expect.objectContaining({
        field: 'spec.password',
        message: expect.stringMatching(
          /^is not supported: TCP MD5 .*TCP_MD5SIG socket option, which Node.js cannot set/,
        ),
      }),
    ]);
    expect(problems(peer({ ttlSecurity: 1 }))[0]).toMatchObject({
      field: 'spec.ttlSecurity',
      message: expect.stringMatching(/GTSM .*IP_MINTTL socket option, which Node.js cannot set/),
    });
    expect(problems(peer({ reachableBy: '198.19.0.254' }))[0]).toMatchObject({
      field: 'spec.reachableBy',
      message: expect.stringMatching(/does not program the static route/),
    });
    expect(
      problems(doc('BGPPeer', { localWorkloadSelector: "app == 'bgp'", asNumber: 64600 }))
        .map((p) => p.field)
        .sort(),
    ).toEqual(['spec.localWorkloadSelector', 'spec.peerIP']);
    expect(
      problems(doc('BGPConfiguration', { nodeMeshPassword: { secretKeyRef: { name: 'a', key: 'b' } } }, 'default'))[0],
    ).toMatchObject({ field: 'spec.nodeMeshPassword', message: expect.stringMatching(/TCP_MD5SIG/) });
    // One line per problem.
    for (const p of password) expect(p.message).not.toContain('\n');
  });
});

describe('IPPool fields', () => {
  it('fills Calico’s allowedUses and assignmentMode defaults', () => {
    expect(validateResource(doc('IPPool', { cidr: '198.18.0.0/16' })).resource.spec).toMatchObject({
      allowedUses: ['Workload', 'Tunnel'],
      assignmentMode: 'Automatic',
    });
    expect(validateResource(doc('IPPool', { cidr: '198.18.0.0/16', allowedUses: [] })).resource.spec).toMatchObject({
      allowedUses: ['Workload', 'Tunnel'],
    });
    expect(
      validateResource(doc('IPPool', { cidr: '198.18.0.0/16', allowedUses: ['Tunnel'], assignmentMode: 'Manual' }))
        .resource.spec,
    ).toMatchObject({ allowedUses: ['Tunnel'], assignmentMode: 'Manual' });
  });

  it('LoadBalancer pools: alone, unencapsulated, exported, on every node', () => {
    const lb = (extra: Record<string, unknown>) =>
      doc('IPPool', { cidr: '198.18.0.0/24', allowedUses: ['LoadBalancer'], ...extra });
    expect(() => validateResource(lb({}))).not.toThrow();
    expect(fields(lb({ allowedUses: ['LoadBalancer', 'Workload'] }))).toEqual(['spec.allowedUses']);
    expect(fields(lb({ vxlanMode: 'Always' }))).toEqual(['spec.vxlanMode']);
    expect(fields(lb({ disableBGPExport: true }))).toEqual(['spec.disableBGPExport']);
    expect(fields(lb({ nodeSelector: "rack == 'a'" }))).toEqual(['spec.nodeSelector']);
    expect(fields(doc('IPPool', { cidr: '198.18.0.0/24', allowedUses: ['Workload', 'Workload'] }))).toEqual([
      'spec.allowedUses[1]',
    ]);
    expect(fields(doc('IPPool', { cidr: '198.18.0.0/24', assignmentMode: 'Sometimes' }))).toEqual([
      'spec.assignmentMode',
    ]);
  });

  it('no link-local pools, no global() selector; a disabled pool may be smaller than a block', () => {
    expect(fields(doc('IPPool', { cidr: '169.254.0.0/24' }))).toEqual(['spec.cidr']);
    expect(fields(doc('IPPool', { cidr: 'fe80::/64' }))).toEqual(['spec.cidr']);
    expect(fields(doc('IPPool', { cidr: '198.18.0.0/24', nodeSelector: 'global()' }))).toEqual(['spec.nodeSelector']);
    expect(fields(doc('IPPool', { cidr: '198.18.0.0/28' }))).toEqual(['spec.blockSize']);
    expect(() => validateResource(doc('IPPool', { cidr: '198.18.0.0/28', disabled: true }))).not.toThrow();
  });

  it('block size and LoadBalancer use cannot change on a stored pool', async () => {
    const rs = new ResourceStore(new MemoryDatastore());
    await rs.apply(doc('IPPool', { cidr: '198.18.0.0/16', blockSize: 28 }, 'p'));
    await expect(rs.apply(doc('IPPool', { cidr: '198.18.0.0/16', blockSize: 26 }, 'p'))).rejects.toThrow(
      /spec.blockSize: cannot change the block size of an existing pool \(it is 28\)/,
    );
    await rs.apply(doc('IPPool', { cidr: '198.19.0.0/24', allowedUses: ['LoadBalancer'] }, 'lb'));
    await expect(rs.apply(doc('IPPool', { cidr: '198.19.0.0/24' }, 'lb'))).rejects.toThrow(
      /spec.allowedUses: a LoadBalancer pool cannot become a Workload or Tunnel pool/,
    );
  });
});

describe('IPReservation', () => {
  it('takes CIDRs and single addresses of either family', () => {
    const { resource, warnings } = validateResource(
      doc('IPReservation', { reservedCIDRs: ['198.18.0.0/30', '198.18.1.7', 'fd00::1/128', '198.18.2.9/24'] }),
    );
    expect(resource.spec).toEqual({ reservedCIDRs: ['198.18.0.0/30', '198.18.1.7', 'fd00::1/128', '198.18.2.0/24'] });
    expect(warnings.join()).toMatch(/198.18.2.9\/24 normalised to 198.18.2.0\/24/);
    expect(fields(doc('IPReservation', { reservedCIDRs: ['198.18.0.0/33', 'x'] }))).toEqual([
      'spec.reservedCIDRs[0]',
      'spec.reservedCIDRs[1]',
    ]);
    expect(fields(doc('IPReservation', { cidrs: [] }))).toEqual(['spec.cidrs']);
  });
});

describe('CalicoNodeStatus', () => {
  const status = (spec: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    doc('CalicoNodeStatus', spec, 'node-a-status', extra);

  it('needs node, classes (Agent, BGP, Routes, each once) and updatePeriodSeconds (0 to a day)', () => {
    expect(() =>
      validateResource(status({ node: 'node-a', classes: ['Agent', 'BGP', 'Routes'], updatePeriodSeconds: 10 })),
    ).not.toThrow();
    expect(fields(status({})).sort()).toEqual(['spec.classes', 'spec.node', 'spec.updatePeriodSeconds']);
    expect(fields(status({ node: 'node-a', classes: ['BGP', 'BGP'], updatePeriodSeconds: 0 }))).toEqual([
      'spec.classes[1]',
    ]);
    expect(fields(status({ node: 'node-a', classes: ['Felix'], updatePeriodSeconds: 0 }))).toEqual(['spec.classes[0]']);
    expect(fields(status({ node: 'node-a', classes: ['BGP'], updatePeriodSeconds: 86401 }))).toEqual([
      'spec.updatePeriodSeconds',
    ]);
  });

  it('an applied status is dropped and never replaces the agent’s', async () => {
    const spec = { node: 'node-a', classes: ['BGP'], updatePeriodSeconds: 10 };
    const { resource } = validateResource(status(spec, { status: { lastUpdated: 'yesterday' } }));
    expect('status' in resource).toBe(false);
    expect(fields(status(spec, { status: 'fine' }))).toEqual(['status']);
    expect(fields(doc('BGPPeer', { peerIP: '198.19.0.1', asNumber: 1 }, 'p', { status: {} }))).toEqual(['status']);

    const ds = new MemoryDatastore();
    const rs = new ResourceStore(ds);
    await rs.apply(status(spec));
    await rs.updateStatus('CalicoNodeStatus', 'node-a-status', { lastUpdated: '2026-01-01T00:00:00Z' });
    // Re-applying (even with a status of its own) keeps the agent's status; a spec change too.
    expect((await rs.apply(status(spec, { status: { lastUpdated: 'x' } }))).action).toBe('unchanged');
    expect((await rs.apply(status({ ...spec, updatePeriodSeconds: 20 }))).action).toBe('configured');
    const stored = JSON.parse((await ds.get(resourceKey('CalicoNodeStatus', 'node-a-status')))!.value);
    expect(stored.status).toEqual({ lastUpdated: '2026-01-01T00:00:00Z' });
    expect(stored.spec.updatePeriodSeconds).toBe(20);
    await expect(rs.updateStatus('CalicoNodeStatus', 'gone', {})).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('keys', () => {
  it('follow Calico’s layout', () => {
    expect(resourceKey('BGPFilter', 'f')).toBe('/calico/resources/v3/projectcalico.org/bgpfilters/f');
    expect(resourceKey('IPReservation', 'r')).toBe('/calico/resources/v3/projectcalico.org/ipreservations/r');
    expect(resourceKey('CalicoNodeStatus', 's')).toBe('/calico/resources/v3/projectcalico.org/caliconodestatuses/s');
  });
});
