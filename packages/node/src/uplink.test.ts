import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { interfaceOf } from './uplink.js';

const v4 = (address: string, cidr: string): NetworkInterfaceInfo => ({
  address,
  cidr,
  netmask: '',
  family: 'IPv4',
  mac: '00:00:00:00:00:00',
  internal: false,
});
const v6 = (address: string, cidr: string): NetworkInterfaceInfo => ({
  ...v4(address, cidr),
  family: 'IPv6',
  scopeid: 0,
});

describe('interfaceOf: the device a node address lives on', () => {
  const ifs = {
    lo: [v4('127.0.0.1', '127.0.0.1/8'), v6('::1', '::1/128')],
    ens3: [v4('198.18.0.1', '198.18.0.1/24'), v6('2001:db8::1', '2001:db8::1/64'), v6('fe80::1%ens3', 'fe80::1/64')],
    vlan7: [v4('198.18.0.129', '198.18.0.129/25')],
  };

  it('the interface holding the address, with or without a length', () => {
    expect(interfaceOf('198.18.0.1', ifs)).toBe('ens3');
    expect(interfaceOf('198.18.0.1/24', ifs)).toBe('ens3');
    expect(interfaceOf('2001:db8::1/64', ifs)).toBe('ens3');
  });

  it('else the one whose subnet holds it, the longest subnet first (as the kernel routes)', () => {
    expect(interfaceOf('127.0.0.11/8', ifs)).toBe('lo');
    expect(interfaceOf('198.18.0.200', ifs)).toBe('vlan7');
    expect(interfaceOf('198.18.0.7', ifs)).toBe('ens3');
    expect(interfaceOf('2001:db8::9', ifs)).toBe('ens3');
  });

  it('none: undefined (the caller falls back to eth0)', () => {
    expect(interfaceOf('203.0.113.1', ifs)).toBeUndefined();
    expect(interfaceOf('not an address', ifs)).toBeUndefined();
  });
});
