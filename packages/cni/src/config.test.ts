import { describe, expect, it } from 'vitest';
import { parseNetConf } from './config.js';
import { CniError, CniErrorCode } from './errors.js';

const base = { cniVersion: '1.0.0', name: 'net', type: 'tabby-cni', ipam: { type: 'tabby-ipam' } };
const codeOf = (f: () => unknown): number | undefined => {
  try {
    f();
  } catch (err) {
    return err instanceof CniError ? err.code : -1;
  }
  return undefined;
};

describe('parseNetConf', () => {
  it('fills defaults: IPv4 on, IPv6 off', () => {
    expect(parseNetConf(JSON.stringify(base))).toEqual({
      cniVersion: '1.0.0',
      name: 'net',
      type: 'tabby-cni',
      ipam: { type: 'tabby-ipam', assignIpv4: true, assignIpv6: false },
    });
  });

  it('reads the Tabby fields and Calico-style string booleans', () => {
    const c = parseNetConf(
      JSON.stringify({
        ...base,
        datastore: 'redis://127.0.0.1:6379/0',
        nodename: 'n1',
        mtu: 1450,
        hostNetns: 'hostns',
        dns: { nameservers: ['198.18.0.53'] },
        ipam: { type: 'calico-ipam', assign_ipv4: 'false', assign_ipv6: 'true', ipv6_pools: ['v6'] },
      }),
    );
    expect(c).toMatchObject({
      datastore: 'redis://127.0.0.1:6379/0',
      nodename: 'n1',
      mtu: 1450,
      hostNetns: 'hostns',
      dns: { nameservers: ['198.18.0.53'] },
      ipam: { assignIpv4: false, assignIpv6: true, ipv6Pools: ['v6'] },
    });
  });

  it.each([
    ['not json', '{', CniErrorCode.DecodingFailure],
    ['an array', '[]', CniErrorCode.DecodingFailure],
    ['no cniVersion', JSON.stringify({ ...base, cniVersion: undefined }), CniErrorCode.InvalidNetworkConfig],
    ['unknown cniVersion', JSON.stringify({ ...base, cniVersion: '0.2.0' }), CniErrorCode.IncompatibleVersion],
    ['no name', JSON.stringify({ ...base, name: '' }), CniErrorCode.InvalidNetworkConfig],
    ['bad name', JSON.stringify({ ...base, name: 'a b' }), CniErrorCode.InvalidNetworkConfig],
    ['no type', JSON.stringify({ ...base, type: undefined }), CniErrorCode.InvalidNetworkConfig],
    ['no ipam', JSON.stringify({ ...base, ipam: undefined }), CniErrorCode.InvalidNetworkConfig],
    ['other ipam', JSON.stringify({ ...base, ipam: { type: 'host-local' } }), CniErrorCode.UnsupportedField],
    ['bad mtu', JSON.stringify({ ...base, mtu: '1500' }), CniErrorCode.InvalidNetworkConfig],
    [
      'bad bool',
      JSON.stringify({ ...base, ipam: { type: 'tabby-ipam', assign_ipv6: 'yes' } }),
      CniErrorCode.InvalidNetworkConfig,
    ],
    [
      'nothing to assign',
      JSON.stringify({ ...base, ipam: { type: 'tabby-ipam', assign_ipv4: false } }),
      CniErrorCode.InvalidNetworkConfig,
    ],
    ['bad pools', JSON.stringify({ ...base, ipam: { type: 'tabby-ipam', ipv4_pools: 'p' } }), 7],
    ['bad dns', JSON.stringify({ ...base, dns: [] }), CniErrorCode.InvalidNetworkConfig],
  ])('rejects %s', (_what, stdin, code) => {
    expect(codeOf(() => parseNetConf(stdin))).toBe(code);
  });
});
