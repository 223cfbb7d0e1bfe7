import {
  type ConfigPath,
  ConfigReader,
  PEER_KEYS,
  type PeerConfig,
  type PeerDefaults,
  PeerIndex,
  readAddPath,
  readBfd,
  readConfigText,
  readFamilies,
  readPeer,
  readTop,
  type SpeakerConfig,
  TOP_KEYS,
} from '@tabby/bgp';
import { Selector, SelectorParseError } from '@tabby/datastore';

/** Where datastore clients come from. */
export interface RrDatastoreConfig {
  /** Datastore URL from the file (`--datastore` and `$TABBY_DATASTORE` take precedence). */
  url?: string;
  /** Calico selector over Node labels; every matching node (with an address) is a peer. */
  nodeSelector: string;
}

/** Settings for every client, listed or discovered, that it leaves out (a listed client may override them). */
export type ClientDefaults = PeerDefaults;

/**
 * A validated `tabby rr` config: a speaker config (the same loader, fields and defaults as
 * `tabby bgpd`, with `clusterId` required) whose peers are the listed clients and non-clients,
 * plus what a reflector adds: client defaults and clients from the datastore.
 */
export interface RrConfig extends SpeakerConfig {
  clusterId: string;
  clientDefaults: ClientDefaults;
  /** Listed clients, as speaker peers (`routeReflectorClient: true`). */
  clients: PeerConfig[];
  /** Listed non-client peers (other reflectors), as speaker peers. */
  nonClients: PeerConfig[];
  datastore?: RrDatastoreConfig;
}

/** The speaker's top-level fields that concern a reflector, and the reflector's own. */
const RR_ONLY = ['clientDefaults', 'clients', 'nonClients', 'datastore'] as const;
const NOT_FOR_RR: readonly string[] = ['originate', 'peers', 'policies', 'ebgpRequiresPolicy'];
const TOP = [...TOP_KEYS.filter((k) => !NOT_FOR_RR.includes(k)), ...RR_ONLY];

/**
 * A listed peer: the speaker's peer fields but policy and role, which the reflector decides
 * (without import policy a route's received attributes are the ones it keeps: no `importTable`).
 */
const NOT_FOR_PEER: readonly string[] = [
  'localAsn',
  'import',
  'export',
  'routeReflectorClient',
  'importTable',
  'password',
];
const PEER = PEER_KEYS.filter((k) => !NOT_FOR_PEER.includes(k));

function readClientDefaults(r: ConfigReader): ClientDefaults {
  const cd: ConfigPath = ['clientDefaults'];
  if (!r.object(cd, ['port', 'passive', 'families', 'addPath', 'bfd'])) return {};
  const port = r.integer([...cd, 'port'], { min: 1, max: 65535 });
  const families = readFamilies(r, [...cd, 'families']);
  const addPath = readAddPath(r, [...cd, 'addPath']);
  const bfd = readBfd(r, [...cd, 'bfd']);
  return {
    ...(port !== undefined ? { port } : {}),
    ...(r.has([...cd, 'passive']) ? { passive: r.boolean([...cd, 'passive'], false) } : {}),
    ...(families ? { families } : {}),
    ...(addPath ? { addPath } : {}),
    ...(bfd ? { bfd } : {}),
  };
}

function readDatastore(r: ConfigReader): RrDatastoreConfig | undefined {
  const dp: ConfigPath = ['datastore'];
  if (!r.has(dp) || !r.object(dp, ['url', 'nodeSelector'])) return undefined;
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
  return { ...(url ? { url } : {}), nodeSelector };
}

/**
 * Parses and validates a `tabby rr` config with the speaker's own loader. Throws ConfigError
 * listing every problem with file:line:column.
 */
export function parseRrConfig(text: string, file = '<config>'): RrConfig {
  const r = new ConfigReader(file, text);
  r.check();
  // Unknown top-level keys are reported with the rest (a misspelt key often explains a missing one).
  if (!r.object([], TOP, true)) r.check();
  const top = readTop(r, file, { clusterIdRequired: true });
  const clientDefaults = readClientDefaults(r);
  const index = new PeerIndex();
  const readList = (key: 'clients' | 'nonClients'): PeerConfig[] =>
    r.list([key]).flatMap((_, i) => {
      const path: ConfigPath = [key, i];
      const client = key === 'clients';
      const peer = readPeer(r, path, top, {
        keys: PEER,
        asnRequired: false,
        ...(client ? { defaults: clientDefaults } : {}),
      });
      if (!peer) return [];
      if (peer.asn !== top.asn) {
        r.fail(
          [...path, 'asn'],
          `${peer.asn} differs from the reflector's AS ${top.asn}: route reflection (RFC 4456) is between iBGP peers; ` +
            'leave asn out or put eBGP neighbours in a bgpd config',
        );
      }
      index.add(r, path, `${key}[${i}]`, peer);
      if (peer.address === top.routerId) r.fail([...path, 'address'], `${peer.address} is this reflector's router ID`);
      return [{ ...peer, routeReflectorClient: client }];
    });
  const clients = readList('clients');
  const nonClients = readList('nonClients');
  const datastore = readDatastore(r);
  r.check();
  return {
    ...top,
    clusterId: top.clusterId ?? '0.0.0.0',
    peers: [...clients, ...nonClients],
    policies: new Map(),
    clientDefaults,
    clients,
    nonClients,
    ...(datastore ? { datastore } : {}),
  };
}

/** Reads and validates a `tabby rr` config file. */
export function loadRrConfigFile(path: string): RrConfig {
  return parseRrConfig(readConfigText(path), path);
}
