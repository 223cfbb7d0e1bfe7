// Fixtures for the stage tests: a RIB, peers as plain objects, UPDATEs from text. No sockets.
import { Afi, type NotificationMessage, type PathAttributes, PrefixList, type UpdateMessage } from '@tabby/wire';
import { addressToBigInt } from './config/cidr.js';
import { parseConfig } from './config/load.js';
import type { PeerConfig, SpeakerConfig } from './config/types.js';
import { decisionOptions } from './reload.js';
import { AttrTable } from './rib/attr-table.js';
import { LocRib } from './rib/loc-rib.js';
import type { PathSource } from './rib/path.js';

/** A speaker config from YAML (routerId 198.18.0.10 and AS 64512 unless the text says otherwise). */
export function config(yaml: string): SpeakerConfig {
  const head = /routerId:/.test(yaml) ? '' : 'routerId: 198.18.0.10\n';
  return parseConfig(`${head}${/^asn:/m.test(yaml) ? '' : 'asn: 64512\n'}${yaml}`);
}

export function rib(c: SpeakerConfig): { rib: LocRib; attrs: AttrTable } {
  const attrs = new AttrTable();
  return { rib: new LocRib(attrs, decisionOptions(c)), attrs };
}

let nextSourceId = 1000;

/** A peer as the stages see it: its config, source, counters; `stops` and `starts` record FSM calls. */
export class FakePeer {
  readonly id = nextSourceId++;
  source: PathSource;
  adminDown = false;
  lastError = '';
  /** No OPEN by default: the peer is taken as one that cannot send its routes again. */
  established: {
    ctx: { fourOctetAs: boolean };
    heardAt: number;
    remoteOpen?: { capabilities: { kind: string }[] };
  } | null = { ctx: { fourOctetAs: true }, heardAt: 0 };
  readonly updates = { prefixesReceived: 0, withdrawalsReceived: 0, prefixesSent: 0, withdrawalsSent: 0 };
  readonly stops: (NotificationMessage | null)[] = [];
  starts = 0;
  peerRestartTime = -1;
  peerNotificationGr = false;
  families: ReadonlySet<Afi> = new Set([Afi.ipv4]);

  /** The peer's router ID is its address unless given. */
  constructor(
    public config: PeerConfig,
    routerId = config.address,
  ) {
    this.source = {
      id: this.id,
      name: config.name,
      address: config.address,
      addressKey: addressToBigInt(config.address)?.value ?? 0n,
      routerId: routerId.split('.').reduce((a, b) => a * 256 + Number(b), 0),
      asn: config.asn,
      ibgp: config.asn === config.localAsn,
      rrClient: config.routeReflectorClient,
      local: false,
    };
  }

  get ibgp(): boolean {
    return this.config.asn === this.config.localAsn;
  }

  stop(n: NotificationMessage | null): void {
    this.stops.push(n);
    this.established = null;
  }

  start(): void {
    this.starts += 1;
  }
}

/** An UPDATE announcing `announce` (IPv4 text prefixes) with `attrs`, and withdrawing `withdraw`. */
export function update(announce: string[], attrs: PathAttributes = {}, withdraw: string[] = []): UpdateMessage {
  return {
    type: 'update',
    withdrawn: PrefixList.from(Afi.ipv4, withdraw),
    attributes: { origin: 'igp', asPath: [], nextHop: '198.18.0.99', ...attrs },
    nlri: PrefixList.from(Afi.ipv4, announce),
  };
}
