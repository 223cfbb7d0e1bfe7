import {
  type ConfigPath,
  ConfigReader,
  defaultPeerName,
  Families,
  type FamilyName,
  type PeerConfig,
  readConfigText,
} from '@tabby/bgp';
import { Selector, SelectorParseError } from '@tabby/datastore';

/** Where datastore clients come from. */
export interface RrDatastoreConfig {
  /** Datastore URL from the file (`--datastore` and `$TABBY_DATASTORE` take precedence). */
  url?: string;
  /** Calico selector over Node labels; every matching node (with an address) is a peer. */
  nodeSelector: string;
}

/** Settings applied to every client, listed or discovered (a listed client may override them). */
export interface ClientDefaults {
  port: number;
  passive: boolean;
  families: FamilyName[];
  addPath: { send: boolean; select: 'ecmp' | 'all' };
}

/** A validated `tabby rr` config. */
export interface RrConfig {
  source: string;
  routerId: string;
  asn: number;
  clusterId: string;
  listen: { address: string; port: number; enabled: boolean };
  controlSocket?: string;
  holdTime: number;
  keepaliveTime: number;
  connectRetryTime: number;
  metricsPort?: number;
  clientDefaults: ClientDefaults;
  /** Listed clients, as speaker peers (`routeReflectorClient: true`). */
  clients: PeerConfig[];
  /** Listed non-client peers (other reflectors), as speaker peers. */
  nonClients: PeerConfig[];
  datastore?: RrDatastoreConfig;
}

const TOP = [
  'routerId',
  'asn',
  'clusterId',
  'listen',
  'controlSocket',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'metricsPort',
  'clientDefaults',
  'clients',
  'nonClients',
  'datastore',
] as const;

const PEER = [
  'name',
  'address',
  'port',
  'asn',
  'passive',
  'localAddress',
  'multihop',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'families',
  'addPath',
  'gracefulRestart',
  'description',
] as const;

type Top = Pick<RrConfig, 'asn' | 'holdTime' | 'keepaliveTime' | 'connectRetryTime' | 'clientDefaults'>;

function readFamilies(r: ConfigReader, path: ConfigPath): FamilyName[] | undefined {
  if (!r.has(path)) return undefined;
  const list = r.list(path).map((_, i) => r.oneOf([...path, i], Families, 'ipv4-unicast'));
  if (!list.length) {
    r.fail(path, 'must name at least one family (ipv4-unicast, ipv6-unicast)');
    return undefined;
  }
  return [...new Set(list)];
}

function readAddPath(
  r: ConfigReader,
  path: ConfigPath,
  def: ClientDefaults['addPath'],
): { send: boolean; select: 'ecmp' | 'all' } {
  r.object(path, ['send', 'select']);
  return {
    send: r.boolean([...path, 'send'], def.send),
    select: r.oneOf([...path, 'select'], ['ecmp', 'all'] as const, def.select),
  };
}

/**
 * The speaker peer for one reflector neighbour. Clients take `clientDefaults`; non-clients only
 * the timers. Exported for the datastore path, which builds the same shape from a Node.
 */
export function peerConfig(
  top: Top,
  p: {
    name: string;
    address: string;
    client: boolean;
    port?: number;
    passive?: boolean;
    localAddress?: string;
    multihop?: number;
    holdTime?: number;
    keepaliveTime?: number;
    connectRetryTime?: number;
    families?: FamilyName[];
    addPath?: { send: boolean; select: 'ecmp' | 'all' };
    gracefulRestart?: boolean;
    description?: string;
  },
): PeerConfig {
  const d = top.clientDefaults;
  const holdTime = p.holdTime ?? top.holdTime;
  return {
    name: p.name,
    address: p.address,
    port: p.port ?? (p.client ? d.port : 179),
    asn: top.asn,
    localAsn: top.asn,
    passive: p.passive ?? (p.client ? d.passive : false),
    ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    multihop: p.multihop ?? 1,
    holdTime,
    keepaliveTime: p.keepaliveTime ?? (holdTime === top.holdTime ? top.keepaliveTime : Math.floor(holdTime / 3)),
    connectRetryTime: p.connectRetryTime ?? top.connectRetryTime,
    nextHop: 'auto',
    routeReflectorClient: p.client,
    families: p.families ?? (p.client ? d.families : ['ipv4-unicast', 'ipv6-unicast']),
    import: [],
    export: [],
    allowLocalAs: 0,
    gracefulRestart: p.gracefulRestart ?? true,
    addPath: {
      send: (p.addPath ?? (p.client ? d.addPath : { send: false })).send,
      receive: false,
      select: (p.addPath ?? (p.client ? d.addPath : { select: 'ecmp' as const })).select,
    },
    description: p.description ?? '',
  };
}

function readPeer(r: ConfigReader, path: ConfigPath, top: Top, client: boolean): PeerConfig | undefined {
  if (!r.object(path, PEER, true)) return undefined;
  const address = r.address([...path, 'address'], { required: true });
  const port = r.integer([...path, 'port'], { min: 1, max: 65535 });
  const asn = r.asn([...path, 'asn']);
  if (asn !== undefined && asn !== top.asn) {
    r.fail(
      [...path, 'asn'],
      `${asn} differs from the reflector's AS ${top.asn}: route reflection (RFC 4456) is between iBGP peers; ` +
        'leave asn out or put eBGP neighbours in a bgpd config',
    );
  }
  const name = r.string([...path, 'name'], {
    pattern: /^[A-Za-z0-9_.-]{1,64}$/,
    what: 'a peer name ([A-Za-z0-9_.-], 64 at most)',
  });
  const passive = r.has([...path, 'passive']) ? r.boolean([...path, 'passive'], false) : undefined;
  const localAddress = r.address([...path, 'localAddress']);
  const multihop = r.integer([...path, 'multihop'], { min: 1, max: 255 });
  const holdTime = r.has([...path, 'holdTime']) ? r.holdTime([...path, 'holdTime'], top.holdTime) : undefined;
  const keepaliveTime = r.integer([...path, 'keepaliveTime'], { min: 1, max: 21845 });
  const connectRetryTime = r.integer([...path, 'connectRetryTime'], { min: 1, max: 65535 });
  const families = readFamilies(r, [...path, 'families']);
  const addPath = r.has([...path, 'addPath'])
    ? readAddPath(r, [...path, 'addPath'], client ? top.clientDefaults.addPath : { send: false, select: 'ecmp' })
    : undefined;
  const gracefulRestart = r.has([...path, 'gracefulRestart'])
    ? r.boolean([...path, 'gracefulRestart'], true)
    : undefined;
  const description = r.string([...path, 'description']);
  if (address === undefined) return undefined;
  const effPort = port ?? (client ? top.clientDefaults.port : 179);
  return peerConfig(top, {
    name: name ?? defaultPeerName(address, effPort),
    address,
    client,
    ...(port !== undefined ? { port } : {}),
    ...(passive !== undefined ? { passive } : {}),
    ...(localAddress ? { localAddress } : {}),
    ...(multihop !== undefined ? { multihop } : {}),
    ...(holdTime !== undefined ? { holdTime } : {}),
    ...(keepaliveTime !== undefined ? { keepaliveTime } : {}),
    ...(connectRetryTime !== undefined ? { connectRetryTime } : {}),
    ...(families ? { families } : {}),
    ...(addPath ? { addPath } : {}),
    ...(gracefulRestart !== undefined ? { gracefulRestart } : {}),
    ...(description !== undefined ? { description } : {}),
  });
}

/** Parses and validates a `tabby rr` config. Throws ConfigError listing every problem with file:line:column. */
export function parseRrConfig(text: string, file = '<config>'): RrConfig {
  const r = new ConfigReader(file, text);
  r.check();
  // Unknown top-level keys are reported with the rest (a misspelt key often explains a missing one).
  if (!r.object([], TOP, true)) r.check();
  const routerId = r.dottedQuad(['routerId'], true);
  const asn = r.asn(['asn'], true);
  const clusterId = r.dottedQuad(['clusterId'], true);
  const lp = ['listen'];
  r.object(lp, ['address', 'port', 'enabled']);
  const holdTime = r.holdTime(['holdTime'], 90);
  const controlSocket = r.string(['controlSocket']);
  const metricsPort = r.integer(['metricsPort'], { min: 1, max: 65535 });
  const cd = ['clientDefaults'];
  r.object(cd, ['port', 'passive', 'families', 'addPath']);
  const clientDefaults: ClientDefaults = {
    port: r.integer([...cd, 'port'], { default: 179, min: 1, max: 65535 }) ?? 179,
    passive: r.boolean([...cd, 'passive'], false),
    families: readFamilies(r, [...cd, 'families']) ?? ['ipv4-unicast'],
    addPath: readAddPath(r, [...cd, 'addPath'], { send: false, select: 'ecmp' }),
  };
  const top: Top = {
    asn: asn ?? 0,
    holdTime,
    keepaliveTime: r.integer(['keepaliveTime'], { min: 1, max: 21845 }) ?? Math.floor(holdTime / 3),
    connectRetryTime: r.integer(['connectRetryTime'], { default: 30, min: 1, max: 65535 }) ?? 30,
    clientDefaults,
  };
  const seenNames = new Map<string, string>();
  const seenAddr = new Map<string, string>();
  const readList = (key: 'clients' | 'nonClients'): PeerConfig[] => {
    const out: PeerConfig[] = [];
    r.list([key]).forEach((_, i) => {
      const peer = readPeer(r, [key, i], top, key === 'clients');
      if (!peer) return;
      const here = `${key}[${i}]`;
      const addrKey = `${peer.address}:${peer.port}`;
      const byAddr = seenAddr.get(addrKey);
      const byName = seenNames.get(peer.name);
      if (byAddr) r.fail([key, i, 'address'], `${addrKey} is also configured as ${byAddr}`);
      else if (byName) r.fail([key, i, 'name'], `peer name "${peer.name}" is also used by ${byName}`);
      if (peer.address === routerId) r.fail([key, i, 'address'], `${peer.address} is this reflector's router ID`);
      seenNames.set(peer.name, here);
      seenAddr.set(addrKey, here);
      out.push(peer);
    });
    return out;
  };
  const clients = readList('clients');
  const nonClients = readList('nonClients');
  let datastore: RrDatastoreConfig | undefined;
  const dp = ['datastore'];
  if (r.has(dp) && r.object(dp, ['url', 'nodeSelector'])) {
    const url = r.string([...dp, 'url']);
    const nodeSelector = r.string([...dp, 'nodeSelector'], { default: 'all()' }) ?? 'all()';
    if (nodeSelector.trim() === '') {
      r.fail(
        [...dp, 'nodeSelector'],
        'is empty: an unquoted !has(x) is a YAML tag and vanishes; quote the selector, or use all()',
      );
    } else {
      try {
        new Selector(nodeSelector);
      } catch (err) {
        if (!(err instanceof SelectorParseError)) throw err;
        r.fail([...dp, 'nodeSelector'], err.message);
      }
    }
    datastore = { ...(url ? { url } : {}), nodeSelector };
  }
  const config: RrConfig = {
    source: file,
    routerId: routerId ?? '0.0.0.0',
    asn: top.asn,
    clusterId: clusterId ?? '0.0.0.0',
    listen: {
      address: r.address([...lp, 'address'], { default: '::' }) ?? '::',
      port: r.integer([...lp, 'port'], { default: 179, min: 0, max: 65535 }) ?? 179,
      enabled: r.boolean([...lp, 'enabled'], true),
    },
    ...(controlSocket ? { controlSocket } : {}),
    holdTime,
    keepaliveTime: top.keepaliveTime,
    connectRetryTime: top.connectRetryTime,
    ...(metricsPort ? { metricsPort } : {}),
    clientDefaults,
    clients,
    nonClients,
    ...(datastore ? { datastore } : {}),
  };
  r.check();
  return config;
}

/** Reads and validates a `tabby rr` config file. */
export function loadRrConfigFile(path: string): RrConfig {
  return parseRrConfig(readConfigText(path), path);
}
