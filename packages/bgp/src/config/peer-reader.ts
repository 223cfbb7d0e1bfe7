import { isIP } from 'node:net';
import { preview } from '@tabby/yaml';
import { type BfdInput, completeBfd, readBfd } from './bfd-reader.js';
import type { ConfigReader, Path } from './reader.js';
import {
  Families,
  type FamilyName,
  MaxPrefixActions,
  NextHopModes,
  type PeerConfig,
  type Policy,
  type SpeakerConfig,
} from './types.js';

/** Every field a peer entry may have (`tabby rr` allows a subset). */
export const PEER_KEYS = [
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
  'nextHopV6',
  'nextHopV4',
  'routeReflectorClient',
  'families',
  'import',
  'export',
  'maxPrefix',
  'allowLocalAs',
  'importTable',
  'gracefulRestart',
  'restartTime',
  'addPath',
  'description',
  'password',
  'bfd',
] as const;

/** The speaker-level settings a peer's defaults come from. */
export type PeerTop = Pick<
  SpeakerConfig,
  'asn' | 'holdTime' | 'keepaliveTime' | 'connectRetryTime' | 'gracefulRestart'
>;

/** Settings for every peer of a list that leaves them out (the reflector's `clientDefaults`). */
export interface PeerDefaults {
  port?: number;
  passive?: boolean;
  families?: FamilyName[];
  addPath?: Partial<PeerConfig['addPath']>;
  bfd?: BfdInput;
}

/** What a peer entry says; everything it leaves out is a default (see `completePeer`). */
export type PeerInput = Partial<Omit<PeerConfig, 'address' | 'addPath' | 'bfd'>> & {
  address: string;
  addPath?: Partial<PeerConfig['addPath']>;
  bfd?: BfdInput;
};

/** Protocol-style name for a peer address: `Peer_198_18_0_2`, `_port_N` for a non-179 port. */
export function defaultPeerName(address: string, port: number): string {
  return `Peer_${address.replace(/[.:]/g, '_')}${port === 179 ? '' : `_port_${port}`}`;
}

/** A peer without `families` carries the unicast family of its address: one session per family. */
export function defaultFamilies(address: string): FamilyName[] {
  return [isIP(address) === 6 ? 'ipv6-unicast' : 'ipv4-unicast'];
}

/**
 * A peer's full settings: what `p` says, then the list's `defaults`, then the speaker's. The one
 * place peer defaults are decided, for `tabby bgpd` and `tabby rr` (listed and datastore peers).
 */
export function completePeer(top: PeerTop, p: PeerInput, defaults: PeerDefaults = {}): PeerConfig {
  const port = p.port ?? defaults.port ?? 179;
  const holdTime = p.holdTime ?? top.holdTime;
  const multihop = p.multihop ?? 1;
  const bfd = completeBfd(p.bfd, defaults.bfd, multihop);
  return {
    name: p.name ?? defaultPeerName(p.address, port),
    address: p.address,
    port,
    asn: p.asn ?? top.asn,
    localAsn: p.localAsn ?? top.asn,
    passive: p.passive ?? defaults.passive ?? false,
    ...(p.localAddress ? { localAddress: p.localAddress } : {}),
    multihop,
    holdTime,
    keepaliveTime: p.keepaliveTime ?? (holdTime === top.holdTime ? top.keepaliveTime : Math.floor(holdTime / 3)),
    ...(p.sendHoldTime ? { sendHoldTime: p.sendHoldTime } : {}),
    connectRetryTime: p.connectRetryTime ?? top.connectRetryTime,
    nextHop: p.nextHop ?? 'auto',
    ...(p.nextHopV6 ? { nextHopV6: p.nextHopV6 } : {}),
    ...(p.nextHopV4 ? { nextHopV4: p.nextHopV4 } : {}),
    routeReflectorClient: p.routeReflectorClient ?? false,
    families: p.families ?? defaults.families ?? defaultFamilies(p.address),
    import: p.import ?? [],
    export: p.export ?? [],
    ...(p.maxPrefix ? { maxPrefix: p.maxPrefix } : {}),
    allowLocalAs: p.allowLocalAs ?? 0,
    importTable: p.importTable ?? false,
    gracefulRestart: p.gracefulRestart ?? top.gracefulRestart.enabled,
    ...(p.restartTime ? { restartTime: p.restartTime } : {}),
    addPath: {
      send: p.addPath?.send ?? defaults.addPath?.send ?? false,
      receive: p.addPath?.receive ?? defaults.addPath?.receive ?? false,
      select: p.addPath?.select ?? defaults.addPath?.select ?? 'ecmp',
    },
    description: p.description ?? '',
    ...(bfd ? { bfd } : {}),
  };
}

/** A `families` list: absent is undefined (the default applies); an empty one is an error. */
export function readFamilies(r: ConfigReader, path: Path): FamilyName[] | undefined {
  if (!r.has(path)) return undefined;
  const list = r.list(path).map((_, i) => r.oneOf([...path, i], Families, 'ipv4-unicast'));
  if (!list.length) {
    r.fail(path, 'must name at least one family (ipv4-unicast, ipv6-unicast)');
    return undefined;
  }
  return [...new Set(list)];
}

/** An `addPath` mapping (absent fields are left to the defaults). */
export function readAddPath(r: ConfigReader, path: Path): Partial<PeerConfig['addPath']> | undefined {
  if (!r.object(path, ['send', 'receive', 'select'])) return undefined;
  const has = (k: string) => r.has([...path, k]);
  return {
    ...(has('send') ? { send: r.boolean([...path, 'send'], false) } : {}),
    ...(has('receive') ? { receive: r.boolean([...path, 'receive'], false) } : {}),
    ...(has('select') ? { select: r.oneOf([...path, 'select'], ['ecmp', 'all'] as const, 'ecmp') } : {}),
  };
}

/** RFC 9687 10: a send hold time must be greater than the hold time. */
function readSendHoldTime(r: ConfigReader, path: Path, holdTime: number): number | undefined {
  const v = r.integer(path, { min: 1, max: 65535 });
  if (v !== undefined && holdTime > 0 && v <= holdTime) {
    r.fail(path, `${v} is not allowed: the send hold time must be greater than the hold time (${holdTime}) (RFC 9687)`);
    return undefined;
  }
  return v;
}

function readMaxPrefix(r: ConfigReader, mp: Path): PeerConfig['maxPrefix'] {
  if (!r.object(mp, ['limit', 'action', 'restartTime'])) return undefined;
  const limit = r.integer([...mp, 'limit'], { required: true, min: 1 });
  if (limit === undefined) return undefined;
  return {
    limit,
    action: r.oneOf([...mp, 'action'], MaxPrefixActions, 'restart'),
    restartTime: r.integer([...mp, 'restartTime'], { default: 60, min: 1 }) ?? 60,
  };
}

/**
 * Reads one peer entry at `path`: every problem is recorded in `r`; undefined when it cannot be a
 * peer. `keys` restricts the fields allowed; `asnRequired` false lets `asn` default to the speaker's.
 */
export function readPeer(
  r: ConfigReader,
  path: Path,
  top: PeerTop,
  opts: { keys?: readonly string[]; defaults?: PeerDefaults; asnRequired?: boolean } = {},
): PeerConfig | undefined {
  if (!r.object(path, opts.keys ?? PEER_KEYS, true)) return undefined;
  const at = (k: string): Path => [...path, k];
  if (r.has(at('password'))) {
    r.fail(at('password'), 'TCP MD5 (RFC 2385) needs kernel socket options Node.js cannot set; not supported');
  }
  const address = r.address(at('address'), { required: true });
  const port = r.integer(at('port'), { min: 1, max: 65535 });
  const asn = r.asn(at('asn'), opts.asnRequired ?? true);
  const holdTime = r.has(at('holdTime')) ? r.holdTime(at('holdTime'), top.holdTime) : undefined;
  const sendHoldTime = readSendHoldTime(r, at('sendHoldTime'), holdTime ?? top.holdTime);
  const families = readFamilies(r, at('families'));
  const addPath = readAddPath(r, at('addPath'));
  const maxPrefix = readMaxPrefix(r, at('maxPrefix'));
  if (address === undefined || (asn === undefined && opts.asnRequired !== false)) return undefined;
  const names = (k: 'import' | 'export') => {
    const v = r.get(at(k));
    if (typeof v === 'string') return [v];
    return r.list(at(k)).flatMap((_, i) => r.string([...path, k, i], { required: true }) ?? []);
  };
  const optional = <T>(k: string, read: (p: Path) => T | undefined): T | undefined =>
    r.has(at(k)) ? read(at(k)) : undefined;
  const input: PeerInput = {
    address,
    name: r.string(at('name'), { pattern: /^[A-Za-z0-9_.-]{1,64}$/, what: 'a peer name ([A-Za-z0-9_.-], 64 at most)' }),
    port,
    asn,
    localAsn: r.asn(at('localAsn')),
    passive: optional('passive', (p) => r.boolean(p, false)),
    localAddress: r.address(at('localAddress')),
    multihop: r.integer(at('multihop'), { min: 1, max: 255 }),
    holdTime,
    keepaliveTime: r.integer(at('keepaliveTime'), { min: 1, max: 21845 }),
    sendHoldTime,
    connectRetryTime: r.integer(at('connectRetryTime'), { min: 1, max: 65535 }),
    nextHop: optional('nextHop', (p) => r.oneOf(p, NextHopModes, 'auto')),
    nextHopV6: r.address(at('nextHopV6'), { family: 6 }),
    nextHopV4: r.address(at('nextHopV4'), { family: 4 }),
    routeReflectorClient: optional('routeReflectorClient', (p) => r.boolean(p, false)),
    families,
    import: names('import'),
    export: names('export'),
    maxPrefix,
    allowLocalAs: r.integer(at('allowLocalAs'), { min: 0, max: 10 }),
    importTable: optional('importTable', (p) => r.boolean(p, false)),
    gracefulRestart: optional('gracefulRestart', (p) => r.boolean(p, true)),
    restartTime: r.integer(at('restartTime'), { min: 1, max: 4095 }),
    addPath,
    description: r.string(at('description')),
    bfd: readBfd(r, at('bfd')),
  };
  // Fields left out (undefined) take the defaults.
  for (const k of Object.keys(input) as (keyof PeerInput)[]) if (input[k] === undefined) delete input[k];
  return completePeer(top, input, opts.defaults);
}

/** Peers read so far, by name and by address and port: one configured twice is an error. */
export class PeerIndex {
  private readonly names = new Map<string, string>();
  private readonly addresses = new Map<string, string>();

  /** Records `peer`, read at `path` and called `label` in messages (`peers[3]`). */
  add(r: ConfigReader, path: Path, label: string, peer: PeerConfig): void {
    const key = `${peer.address}:${peer.port}`;
    const byAddress = this.addresses.get(key);
    const byName = this.names.get(peer.name);
    if (byAddress) r.fail([...path, 'address'], `${key} is also configured as ${byAddress}`);
    else if (byName) r.fail([...path, 'name'], `peer name "${peer.name}" is also used by ${byName}`);
    this.names.set(peer.name, label);
    this.addresses.set(key, label);
  }
}

/** Every policy a peer names must exist. */
export function checkPolicyNames(r: ConfigReader, path: Path, peer: PeerConfig, policies: Map<string, Policy>): void {
  for (const dir of ['import', 'export'] as const) {
    peer[dir].forEach((n, j) => {
      if (!policies.has(n))
        r.fail(
          [...path, dir, j],
          `no policy named ${preview(n)} (defined: ${[...policies.keys()].map((k) => preview(k)).join(', ') || 'none'})`,
        );
    });
  }
}
