import { readFileSync } from 'node:fs';
import { readBfdOptions } from './bfd-reader.js';
import { checkPolicyNames, PeerIndex, readPeer } from './peer-reader.js';
import { readCommunities, readLargeCommunities, readPolicies, readPrefix } from './policy-reader.js';
import { ConfigError, ConfigReader, type Path } from './reader.js';
import type { OriginatedPrefix, SpeakerConfig } from './types.js';

/** Every top-level field of a speaker config (`tabby rr` allows a subset, and adds its own). */
export const TOP_KEYS = [
  'routerId',
  'asn',
  'listen',
  'controlSocket',
  'holdTime',
  'keepaliveTime',
  'connectRetryTime',
  'ebgpRequiresPolicy',
  'alwaysCompareMed',
  'multipath',
  'clusterId',
  'gracefulRestart',
  'originate',
  'peers',
  'policies',
  'metricsPort',
  'bfd',
] as const;

/** A speaker config's settings besides its peers and policies. */
export type SpeakerTop = Omit<SpeakerConfig, 'peers' | 'policies'>;

/**
 * Reads the top-level settings (all but `peers` and `policies`) with their defaults; problems are
 * recorded in `r`. `tabby rr` reads its file with this too, with `clusterId` required.
 */
export function readTop(r: ConfigReader, file: string, opts: { clusterIdRequired?: boolean } = {}): SpeakerTop {
  const holdTime = r.holdTime(['holdTime'], 90);
  const lp = ['listen'];
  r.object(lp, ['address', 'port', 'enabled']);
  const gp = ['gracefulRestart'];
  r.object(gp, ['enabled', 'restartTime', 'stalePathTime', 'notification', 'selectionDeferral']);
  const mp = ['multipath'];
  r.object(mp, ['enabled', 'relaxAsPath', 'maxPaths']);
  const controlSocket = r.string(['controlSocket']);
  const clusterId = r.dottedQuad(['clusterId'], opts.clusterIdRequired ?? false);
  const metricsPort = r.integer(['metricsPort'], { min: 1, max: 65535 });
  const bfd = readBfdOptions(r, ['bfd']);
  const top: SpeakerTop = {
    source: file,
    routerId: r.dottedQuad(['routerId'], true) ?? '0.0.0.0',
    asn: r.asn(['asn'], true) ?? 0,
    listen: {
      address: r.address([...lp, 'address'], { default: '::' }) ?? '::',
      port: r.integer([...lp, 'port'], { default: 179, min: 0, max: 65535 }) ?? 179,
      enabled: r.boolean([...lp, 'enabled'], true),
    },
    ...(controlSocket ? { controlSocket } : {}),
    holdTime,
    keepaliveTime: r.integer(['keepaliveTime'], { min: 1, max: 21845 }) ?? Math.floor(holdTime / 3),
    connectRetryTime: r.integer(['connectRetryTime'], { default: 30, min: 1, max: 65535 }) ?? 30,
    ebgpRequiresPolicy: r.boolean(['ebgpRequiresPolicy'], true),
    alwaysCompareMed: r.boolean(['alwaysCompareMed'], false),
    multipath: {
      enabled: r.boolean([...mp, 'enabled'], true),
      relaxAsPath: r.boolean([...mp, 'relaxAsPath'], false),
      maxPaths: r.integer([...mp, 'maxPaths'], { default: 16, min: 1, max: 256 }) ?? 16,
    },
    ...(clusterId ? { clusterId } : {}),
    gracefulRestart: {
      enabled: r.boolean([...gp, 'enabled'], true),
      restartTime: r.integer([...gp, 'restartTime'], { default: 120, min: 1, max: 4095 }) ?? 120,
      stalePathTime: r.integer([...gp, 'stalePathTime'], { default: 360, min: 1 }) ?? 360,
      notification: r.boolean([...gp, 'notification'], true),
      selectionDeferral: r.integer([...gp, 'selectionDeferral'], { default: 120, min: 1, max: 3600 }) ?? 120,
    },
    originate: [],
    ...(metricsPort ? { metricsPort } : {}),
    ...(bfd ? { bfd } : {}),
  };
  r.list(['originate']).forEach((_, i) => {
    const p: Path = ['originate', i];
    if (!r.object(p, ['prefix', 'blackhole', 'communities', 'largeCommunities'], true)) return;
    const prefix = readPrefix(r, [...p, 'prefix']);
    const o: OriginatedPrefix = {
      prefix: prefix ?? '',
      blackhole: r.boolean([...p, 'blackhole'], false),
      communities: readCommunities(r, [...p, 'communities']),
      largeCommunities: readLargeCommunities(r, [...p, 'largeCommunities']),
    };
    if (prefix) top.originate.push(o);
  });
  return top;
}

/** Parses and validates a speaker config. Throws ConfigError listing every problem with file:line:column. */
export function parseConfig(text: string, file = '<config>'): SpeakerConfig {
  const r = new ConfigReader(file, text);
  r.check();
  // Unknown top-level keys are reported with the rest (a misspelt key often explains a missing one).
  if (!r.object([], TOP_KEYS, true)) r.check();
  const top = readTop(r, file);
  const policies = readPolicies(r);
  const index = new PeerIndex();
  const peers = r.list(['peers']).flatMap((_, i) => {
    const path: Path = ['peers', i];
    const peer = readPeer(r, path, top);
    if (!peer) return [];
    index.add(r, path, `peers[${i}]`, peer);
    checkPolicyNames(r, path, peer, policies);
    if (peer.routeReflectorClient && peer.asn !== peer.localAsn) {
      r.fail([...path, 'routeReflectorClient'], 'a route-reflector client must be an iBGP peer (same AS)');
    }
    return [peer];
  });
  r.check();
  return { ...top, peers, policies };
}

/** Reads a config file's text; an unreadable file is a ConfigError naming it. */
export function readConfigText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([
      { file: path, line: 0, column: 0, field: '', message: `cannot read: ${(err as Error).message}` },
    ]);
  }
}

/** Reads and validates a config file. */
export function loadConfigFile(path: string): SpeakerConfig {
  return parseConfig(readConfigText(path), path);
}
