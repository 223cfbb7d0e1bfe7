import { CniError, CniErrorCode } from './errors.js';
import { SUPPORTED_VERSIONS } from './versions.js';

/** IPAM types this plugin handles itself (Calico's name is accepted as an alias). */
export const IPAM_TYPES = ['tabby-ipam', 'calico-ipam'] as const;

/** The Tabby network configuration (stdin), validated. */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  /** Datastore URL (`memory`, `file:///x.json`, `redis://...`, `etcd://...`); default `$TABBY_DATASTORE`. */
  datastore?: string;
  /** This node's name in the datastore; default `$TABBY_NODENAME`, else the host name. */
  nodename?: string;
  /** MTU of both veth ends; default: the kernel's (1500). */
  mtu?: number;
  /** The namespace holding the host side of the veth (name or path); default `$TABBY_CNI_HOST_NETNS`, else the current one. */
  hostNetns?: string;
  ipam: {
    type: string;
    assignIpv4: boolean;
    assignIpv6: boolean;
    ipv4Pools?: string[];
    ipv6Pools?: string[];
  };
  dns?: Record<string, unknown>;
  /** The previous ADD result, given to CHECK and DEL (CNI 0.4.0+). */
  prevResult?: unknown;
}

const invalid = (msg: string): CniError => new CniError(CniErrorCode.InvalidNetworkConfig, msg);

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw invalid(`${field} must be true or false (a boolean or the string "true"/"false"), got ${JSON.stringify(v)}`);
}

function optString(o: Record<string, unknown>, field: string, where = ''): string | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !v)
    throw invalid(`${where}${field} must be a non-empty string, got ${JSON.stringify(v)}`);
  return v;
}

function stringList(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x))
    throw invalid(`${field} must be a list of pool names, got ${JSON.stringify(v)}`);
  return v as string[];
}

/**
 * Parses and validates the network configuration from stdin. Errors: DecodingFailure (not
 * JSON), IncompatibleVersion (unknown `cniVersion`), InvalidNetworkConfig (missing or bad fields),
 * UnsupportedField (an IPAM type other than tabby-ipam).
 */
export function parseNetConf(stdin: string): NetConf {
  let raw: unknown;
  try {
    raw = JSON.parse(stdin);
  } catch (err) {
    throw new CniError(CniErrorCode.DecodingFailure, `network config on stdin is not JSON: ${(err as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new CniError(CniErrorCode.DecodingFailure, 'network config on stdin must be a JSON object');
  const o = raw as Record<string, unknown>;
  const cniVersion = o.cniVersion;
  if (typeof cniVersion !== 'string' || !cniVersion) throw invalid('cniVersion is missing');
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(cniVersion))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `cniVersion ${cniVersion} is not supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
    );
  const name = optString(o, 'name');
  if (!name) throw invalid('name is missing');
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name))
    throw invalid(`name ${JSON.stringify(name)} may contain only letters, digits, '_', '.' and '-'`);
  const type = optString(o, 'type');
  if (!type) throw invalid('type is missing');

  let mtu: number | undefined;
  if (o.mtu !== undefined) {
    if (typeof o.mtu !== 'number' || !Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 65535)
      throw invalid(`mtu must be an integer from 68 to 65535, got ${JSON.stringify(o.mtu)}`);
    mtu = o.mtu;
  }

  if (typeof o.ipam !== 'object' || o.ipam === null || Array.isArray(o.ipam))
    throw invalid('ipam is missing (expected { "type": "tabby-ipam" })');
  const ipamRaw = o.ipam as Record<string, unknown>;
  const ipamType = optString(ipamRaw, 'type', 'ipam.');
  if (!ipamType) throw invalid('ipam.type is missing (expected "tabby-ipam")');
  if (!(IPAM_TYPES as readonly string[]).includes(ipamType))
    throw new CniError(
      CniErrorCode.UnsupportedField,
      `ipam.type ${JSON.stringify(ipamType)} is not supported (use ${IPAM_TYPES.join(' or ')})`,
    );
  const assignIpv4 = bool(ipamRaw.assign_ipv4, 'ipam.assign_ipv4', true);
  const assignIpv6 = bool(ipamRaw.assign_ipv6, 'ipam.assign_ipv6', false);
  if (!assignIpv4 && !assignIpv6)
    throw invalid('ipam.assign_ipv4 and ipam.assign_ipv6 are both false: nothing to assign');
  const ipv4Pools = stringList(ipamRaw.ipv4_pools, 'ipam.ipv4_pools');
  const ipv6Pools = stringList(ipamRaw.ipv6_pools, 'ipam.ipv6_pools');

  if (o.dns !== undefined && (typeof o.dns !== 'object' || o.dns === null || Array.isArray(o.dns)))
    throw invalid('dns must be an object');

  const conf: NetConf = {
    cniVersion,
    name,
    type,
    ipam: {
      type: ipamType,
      assignIpv4,
      assignIpv6,
      ...(ipv4Pools ? { ipv4Pools } : {}),
      ...(ipv6Pools ? { ipv6Pools } : {}),
    },
  };
  const datastore = optString(o, 'datastore');
  if (datastore) conf.datastore = datastore;
  const nodename = optString(o, 'nodename');
  if (nodename) conf.nodename = nodename;
  const hostNetns = optString(o, 'hostNetns');
  if (hostNetns) conf.hostNetns = hostNetns;
  if (mtu !== undefined) conf.mtu = mtu;
  if (o.dns !== undefined) conf.dns = o.dns as Record<string, unknown>;
  if (o.prevResult !== undefined) conf.prevResult = o.prevResult;
  return conf;
}
