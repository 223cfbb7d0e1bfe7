import { readFileSync } from 'node:fs';
import { preview } from '@tabby/yaml';
import { parseCidr } from './cidr.js';
import { ConfigError, ConfigReader, type Path } from './reader.js';
import {
  Families,
  type FamilyName,
  MaxPrefixActions,
  NextHopModes,
  type OriginatedPrefix,
  type PeerConfig,
  type Policy,
  PolicyActions,
  type PolicyMatch,
  type PolicyRule,
  type PolicySet,
  type PrefixMatch,
  type SpeakerConfig,
} from './types.js';

const TOP = [
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
] as const;
const PEER = [
  'name',
  'address',
  'port',
  'asn',
  'localAsn',
  'passive',
  'localAddress',
  'multihop',
  'holdTime',
  'keepaliveTime',
  'sendHoldTime',
  'connectRetryTime',
  'nextHop',
  'routeReflectorClient',
  'families',
  'import',
  'export',
  'maxPrefix',
  'allowLocalAs',
  'gracefulRestart',
  'addPath',
  'description',
  'password',
] as const;

const COMMUNITY_NAMES = new Set([
  'no-export',
  'no-advertise',
  'no-export-subconfed',
  'no-peer',
  'blackhole',
  'graceful-shutdown',
]);
const COMMUNITY_RE = /^(\d{1,5}):(\d{1,5})$/;
const LARGE_COMMUNITY_RE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

function readCommunities(r: ConfigReader, path: Path): string[] {
  const out: string[] = [];
  r.list(path).forEach((c, i) => {
    const m = typeof c === 'string' ? COMMUNITY_RE.exec(c) : null;
    if (typeof c === 'string' && (COMMUNITY_NAMES.has(c) || (m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535))) {
      out.push(c);
    } else
      r.fail([...path, i], `${preview(c)} is not a community (aa:nn with each part 0..65535, or a well-known name)`);
  });
  return out;
}

function readLargeCommunities(r: ConfigReader, path: Path): string[] {
  const out: string[] = [];
  r.list(path).forEach((c, i) => {
    const m = typeof c === 'string' ? LARGE_COMMUNITY_RE.exec(c) : null;
    if (m && [m[1], m[2], m[3]].every((p) => Number(p) <= 0xffffffff)) out.push(c as string);
    else r.fail([...path, i], `${preview(c)} is not a large community (a:b:c, each part 0..4294967295)`);
  });
  return out;
}

function readPrefix(r: ConfigReader, path: Path): string | undefined {
  const s = r.string(path, { required: true });
  if (s === undefined) return undefined;
  const p = parseCidr(s);
  if (!p) return r.fail(path, `${preview(s)} is not a prefix (like 198.18.0.0/15 or 2001:db8::/32)`);
  if (p.hostBitsSet) return r.fail(path, `${s} has host bits set; did you mean ${p.canonical}?`);
  return p.canonical;
}

/** `198.18.0.0/15`, `198.18.0.0/15 le 26`, `198.18.0.0/15 ge 24 le 26`. */
function readPrefixMatch(r: ConfigReader, path: Path): PrefixMatch | undefined {
  const s = r.string(path, { required: true });
  if (s === undefined) return undefined;
  const m = /^(\S+)(?:\s+ge\s+(\d+))?(?:\s+le\s+(\d+))?$/.exec(s.trim());
  const p = m ? parseCidr(m[1]!) : undefined;
  if (!m || !p) return r.fail(path, `${preview(s)} is not a prefix match (like "198.18.0.0/15 le 26")`);
  const max = p.family === 4 ? 32 : 128;
  const ge = m[2] === undefined ? undefined : Number(m[2]);
  const le = m[3] === undefined ? undefined : Number(m[3]);
  if ((ge !== undefined && (ge < p.length || ge > max)) || (le !== undefined && (le < (ge ?? p.length) || le > max))) {
    return r.fail(path, `${s}: need ${p.length} <= ge <= le <= ${max}`);
  }
  return { prefix: p.canonical, ...(ge !== undefined ? { ge } : {}), ...(le !== undefined ? { le } : {}) };
}

function readPolicy(r: ConfigReader, path: Path): Policy | undefined {
  const o = r.object(path, ['name', 'rules', 'default'], true);
  if (!o) return undefined;
  const name = r.string([...path, 'name'], { required: true, pattern: /^[A-Za-z0-9_.-]+$/, what: 'a policy name' });
  const rules: PolicyRule[] = [];
  r.list([...path, 'rules']).forEach((_, i) => {
    const rp = [...path, 'rules', i];
    if (!r.object(rp, ['match', 'set', 'action'], true)) return;
    const mp = [...rp, 'match'];
    const match: PolicyMatch = {};
    if (
      r.object(mp, [
        'prefix',
        'community',
        'largeCommunity',
        'asPathContains',
        'originAs',
        'asPathLength',
        'nextHop',
        'peer',
      ])
    ) {
      if (r.has([...mp, 'prefix'])) {
        match.prefix = r.list([...mp, 'prefix']).flatMap((_, j) => readPrefixMatch(r, [...mp, 'prefix', j]) ?? []);
      }
      if (r.has([...mp, 'community'])) match.community = readCommunities(r, [...mp, 'community']);
      if (r.has([...mp, 'largeCommunity'])) match.largeCommunity = readLargeCommunities(r, [...mp, 'largeCommunity']);
      for (const k of ['asPathContains', 'originAs'] as const) {
        if (r.has([...mp, k])) match[k] = r.list([...mp, k]).flatMap((_, j) => r.asn([...mp, k, j], true) ?? []);
      }
      if (r.object([...mp, 'asPathLength'], ['min', 'max'])) {
        const min = r.integer([...mp, 'asPathLength', 'min'], { min: 0 });
        const max = r.integer([...mp, 'asPathLength', 'max'], { min: 0 });
        match.asPathLength = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
      }
      if (r.has([...mp, 'nextHop'])) {
        match.nextHop = r
          .list([...mp, 'nextHop'])
          .flatMap((_, j) => r.address([...mp, 'nextHop', j], { required: true }) ?? []);
      }
      if (r.has([...mp, 'peer'])) {
        match.peer = r.list([...mp, 'peer']).flatMap((_, j) => r.string([...mp, 'peer', j], { required: true }) ?? []);
      }
    }
    const sp = [...rp, 'set'];
    const set: PolicySet = {};
    if (
      r.object(sp, [
        'localPref',
        'med',
        'addCommunities',
        'removeCommunities',
        'addLargeCommunities',
        'prepend',
        'nextHop',
      ])
    ) {
      const lp = r.integer([...sp, 'localPref'], { min: 0, max: 0xffffffff });
      if (lp !== undefined) set.localPref = lp;
      const med = r.integer([...sp, 'med'], { min: 0, max: 0xffffffff });
      if (med !== undefined) set.med = med;
      if (r.has([...sp, 'addCommunities'])) set.addCommunities = readCommunities(r, [...sp, 'addCommunities']);
      if (r.has([...sp, 'removeCommunities'])) set.removeCommunities = readCommunities(r, [...sp, 'removeCommunities']);
      if (r.has([...sp, 'addLargeCommunities'])) {
        set.addLargeCommunities = readLargeCommunities(r, [...sp, 'addLargeCommunities']);
      }
      const prepend = r.integer([...sp, 'prepend'], { min: 1, max: 16 });
      if (prepend !== undefined) set.prepend = prepend;
      const nh = r.string([...sp, 'nextHop']);
      if (nh !== undefined) {
        if (nh === 'self' || nh === 'keep') set.nextHop = nh;
        else {
          const a = r.address([...sp, 'nextHop']);
          if (a) set.nextHop = a;
        }
      }
    }
    const hasSet = Object.keys(set).length > 0;
    const action = r.oneOf([...rp, 'action'], PolicyActions, hasSet ? 'next' : 'accept');
    rules.push({ match, set, action });
  });
  const def = r.oneOf([...path, 'default'], ['accept', 'reject'] as const, 'reject');
  return name === undefined ? undefined : { name, rules, default: def };
}

/** Protocol-style name for a peer address: `Peer_198_18_0_2`, `_port_N` for a non-179 port. */
/** RFC 9687 10: a send hold time must be greater than the hold time. */
function readSendHoldTime(r: ConfigReader, path: Path, holdTime: number): number | undefined {
  const v = r.integer(path, { min: 1, max: 65535 });
  if (v !== undefined && holdTime > 0 && v <= holdTime) {
    r.fail(path, `${v} is not allowed: the send hold time must be greater than the hold time (${holdTime}) (RFC 9687)`);
    return undefined;
  }
  return v;
}

export function defaultPeerName(address: string, port: number): string {
  return `Peer_${address.replace(/[.:]/g, '_')}${port === 179 ? '' : `_port_${port}`}`;
}

function readPeer(r: ConfigReader, path: Path, top: Omit<SpeakerConfig, 'peers' | 'policies'>): PeerConfig | undefined {
  if (!r.object(path, PEER, true)) return undefined;
  if (r.has([...path, 'password'])) {
    r.fail([...path, 'password'], 'TCP MD5 (RFC 2385) needs kernel socket options Node.js cannot set; not supported');
  }
  const address = r.address([...path, 'address'], { required: true });
  const port = r.integer([...path, 'port'], { default: 179, min: 1, max: 65535 }) ?? 179;
  const asn = r.asn([...path, 'asn'], true);
  const holdTime = r.holdTime([...path, 'holdTime'], top.holdTime);
  const sendHoldTime = readSendHoldTime(r, [...path, 'sendHoldTime'], holdTime);
  const families = r.list([...path, 'families']).flatMap((_, i) => {
    const f = r.oneOf([...path, 'families', i], Families, 'ipv4-unicast');
    return [f];
  });
  const ap = [...path, 'addPath'];
  r.object(ap, ['send', 'receive', 'select']);
  const mp = [...path, 'maxPrefix'];
  let maxPrefix: PeerConfig['maxPrefix'];
  if (r.object(mp, ['limit', 'action', 'restartTime'])) {
    const limit = r.integer([...mp, 'limit'], { required: true, min: 1 });
    if (limit !== undefined) {
      maxPrefix = {
        limit,
        action: r.oneOf([...mp, 'action'], MaxPrefixActions, 'restart'),
        restartTime: r.integer([...mp, 'restartTime'], { default: 60, min: 1 }) ?? 60,
      };
    }
  }
  if (address === undefined || asn === undefined) return undefined;
  const localAddress = r.address([...path, 'localAddress']);
  const names = (k: 'import' | 'export') => {
    const v = r.get([...path, k]);
    if (typeof v === 'string') return [v];
    return r.list([...path, k]).flatMap((_, i) => r.string([...path, k, i], { required: true }) ?? []);
  };
  return {
    name:
      r.string([...path, 'name'], {
        pattern: /^[A-Za-z0-9_.-]{1,64}$/,
        what: 'a peer name ([A-Za-z0-9_.-], 64 at most)',
      }) ?? defaultPeerName(address, port),
    address,
    port,
    asn,
    localAsn: r.asn([...path, 'localAsn']) ?? top.asn,
    passive: r.boolean([...path, 'passive'], false),
    ...(localAddress ? { localAddress } : {}),
    multihop: r.integer([...path, 'multihop'], { default: 1, min: 1, max: 255 }) ?? 1,
    holdTime,
    keepaliveTime:
      r.integer([...path, 'keepaliveTime'], { min: 1, max: 21845 }) ??
      (holdTime === top.holdTime ? top.keepaliveTime : Math.floor(holdTime / 3)),
    ...(sendHoldTime ? { sendHoldTime } : {}),
    connectRetryTime: r.integer([...path, 'connectRetryTime'], { min: 1, max: 65535 }) ?? top.connectRetryTime,
    nextHop: r.oneOf([...path, 'nextHop'], NextHopModes, 'auto'),
    routeReflectorClient: r.boolean([...path, 'routeReflectorClient'], false),
    families: families.length ? [...new Set(families)] : (['ipv4-unicast', 'ipv6-unicast'] satisfies FamilyName[]),
    import: names('import'),
    export: names('export'),
    ...(maxPrefix ? { maxPrefix } : {}),
    allowLocalAs: r.integer([...path, 'allowLocalAs'], { default: 0, min: 0, max: 10 }) ?? 0,
    gracefulRestart: r.boolean([...path, 'gracefulRestart'], top.gracefulRestart.enabled),
    addPath: {
      send: r.boolean([...ap, 'send'], false),
      receive: r.boolean([...ap, 'receive'], false),
      select: r.oneOf([...ap, 'select'], ['ecmp', 'all'] as const, 'ecmp'),
    },
    description: r.string([...path, 'description']) ?? '',
  };
}

/** Parses and validates a speaker config. Throws ConfigError listing every problem with file:line:column. */
export function parseConfig(text: string, file = '<config>'): SpeakerConfig {
  const r = new ConfigReader(file, text);
  r.check();
  // Unknown top-level keys are reported with the rest (a misspelt key often explains a missing one).
  if (!r.object([], TOP, true)) r.check();
  const holdTime = r.holdTime(['holdTime'], 90);
  const lp = ['listen'];
  r.object(lp, ['address', 'port', 'enabled']);
  const gp = ['gracefulRestart'];
  r.object(gp, ['enabled', 'restartTime', 'stalePathTime', 'notification', 'selectionDeferral']);
  const mp = ['multipath'];
  r.object(mp, ['enabled', 'relaxAsPath', 'maxPaths']);
  const controlSocket = r.string(['controlSocket']);
  const clusterId = r.dottedQuad(['clusterId']);
  const metricsPort = r.integer(['metricsPort'], { min: 1, max: 65535 });
  const top: Omit<SpeakerConfig, 'peers' | 'policies'> = {
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
  const policies = new Map<string, Policy>();
  r.list(['policies']).forEach((_, i) => {
    const pol = readPolicy(r, ['policies', i]);
    if (!pol) return;
    if (policies.has(pol.name)) r.fail(['policies', i, 'name'], `policy ${preview(pol.name)} is defined twice`);
    policies.set(pol.name, pol);
  });
  const peers: PeerConfig[] = [];
  const seenNames = new Map<string, number>();
  const seenAddr = new Map<string, number>();
  r.list(['peers']).forEach((_, i) => {
    const peer = readPeer(r, ['peers', i], top);
    if (!peer) return;
    const key = `${peer.address}:${peer.port}`;
    if (seenNames.has(peer.name))
      r.fail(['peers', i, 'name'], `peer name "${peer.name}" is also used by peers[${seenNames.get(peer.name)}]`);
    if (seenAddr.has(key)) r.fail(['peers', i, 'address'], `${key} is also configured as peers[${seenAddr.get(key)}]`);
    seenNames.set(peer.name, i);
    seenAddr.set(key, i);
    for (const dir of ['import', 'export'] as const) {
      peer[dir].forEach((n, j) => {
        if (!policies.has(n))
          r.fail(
            ['peers', i, dir, j],
            `no policy named ${preview(n)} (defined: ${[...policies.keys()].map((k) => preview(k)).join(', ') || 'none'})`,
          );
      });
    }
    if (peer.routeReflectorClient && peer.asn !== peer.localAsn) {
      r.fail(['peers', i, 'routeReflectorClient'], 'a route-reflector client must be an iBGP peer (same AS)');
    }
    peers.push(peer);
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
