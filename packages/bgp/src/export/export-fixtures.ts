import {
  type BgpMessage,
  decode,
  encode,
  Framer,
  type PathAttributes,
  type SessionContext,
  sessionContext,
  type UpdateMessage,
} from '@tabby/wire';
import type { PeerConfig, SpeakerConfig } from '../config/types.js';
import { silentLogger } from '../logger.js';
import { PolicySet } from '../policy/policy-set.js';
import type { AttrTable } from '../rib/attr-table.js';
import type { LocRib } from '../rib/loc-rib.js';
import { type PrefixKey, prefixKeyFromText } from '../rib/prefix-key.js';
import { config, FakePeer, rib as newRib } from '../stage-fixtures.js';
import { ExportStage } from './export.js';
import type { OutSession, PeerOut } from './peer-out.js';

// What the export stage's tests share: recording sessions, a stage over a RIB, reflector configs.

/** A session that keeps what the stage writes (one chunk per write). */
class Recorder implements OutSession {
  readonly conn = { localAddress: '198.18.0.10', pendingBytes: 0 };
  readonly writable = true;
  readonly heardAt = 0;
  readonly chunks: Uint8Array[] = [];
  /** Called at each write (a test's clock moves by what a socket write costs). */
  onWrite = () => {};
  constructor(readonly ctx: SessionContext) {}
  send(m: BgpMessage): boolean {
    this.onWrite();
    this.chunks.push(encode(m, this.ctx));
    return true;
  }
  sendEncoded(bytes: Uint8Array): boolean {
    this.onWrite();
    this.chunks.push(bytes);
    return true;
  }
  /** Every UPDATE written, decoded as the peer would. */
  updates(from = 0): UpdateMessage[] {
    const rx = { ...this.ctx, addPathReceive: this.ctx.addPathSend };
    const framer = new Framer({ extendedMessage: this.ctx.extendedMessage });
    const out: UpdateMessage[] = [];
    for (const c of this.chunks.slice(from)) {
      for (const m of framer.push(c)) {
        const msg = decode(m, rx);
        if (msg.type === 'update') out.push(msg);
      }
    }
    return out;
  }
}

/** A peer as the export stage sees it, with a recording session. */
class OutPeer extends FakePeer {
  out: PeerOut | null = null;
  declare established: Recorder | null;
  constructor(pc: PeerConfig, ctx = sessionContext({ fourOctetAs: true })) {
    super(pc, `198.18.0.${pc.address.split('.')[3]}`);
    this.established = new Recorder(ctx);
  }
  get session(): Recorder {
    return this.established!;
  }
}

export const v4 = (text: string): PrefixKey => {
  const [a, len] = text.split('/') as [string, string];
  return prefixKeyFromText(4, BigInt(a.split('.').reduce((x, y) => x * 256 + Number(y), 0)), Number(len));
};

export function setup(c: SpeakerConfig, ctx?: (pc: PeerConfig) => SessionContext, now?: () => number) {
  const { rib, attrs } = newRib(c);
  const stage = new ExportStage(rib, silentLogger, c, new PolicySet(c.policies), now);
  const peers = new Map(c.peers.map((pc) => [pc.name, new OutPeer(pc, ctx?.(pc))]));
  const up = (name: string) => {
    stage.established(peers.get(name)!);
    run();
  };
  /** The decision process and a turn of output, until nothing is left. */
  const run = () => {
    for (let i = 0; i < 10; i++) {
      const other = stage.otherChangeListener();
      rib.process(1000, (ch) => stage.changed(ch.key), other);
      stage.work(1000);
      if (!stage.busy && rib.pending === 0) return;
    }
  };
  const announce = (from: string, prefix: string, a: PathAttributes = {}, pathId = 0) =>
    put(rib, attrs, peers.get(from)!.source, prefix, a, pathId);
  /** The prefixes `name` holds from what it was sent: announcements minus withdrawals. */
  const held = (name: string) => {
    const m = new Map<string, UpdateMessage>();
    for (const u of peers.get(name)!.session.updates()) {
      for (const p of u.withdrawn) m.delete(`${p.address}/${p.length}#${p.pathId ?? 0}`);
      for (const p of u.nlri) m.set(`${p.address}/${p.length}#${p.pathId ?? 0}`, u);
    }
    return m;
  };
  return { rib, attrs, stage, peers, up, run, announce, held };
}

function put(rib: LocRib, attrs: AttrTable, source: FakePeer['source'], prefix: string, a: PathAttributes, pathId = 0) {
  const nextHop = `198.18.0.${source.address.split('.')[3]}`;
  const set = attrs.intern({ origin: 'igp', asPath: [], nextHop, ...a }, a.nextHop ?? nextHop);
  rib.put(v4(prefix), source, pathId, set, set, 0);
}

/** A reflector with `n` clients, c1 to c<n>. */
export const clients = (n: number) =>
  config(`clusterId: 198.18.0.100
peers:
${Array.from({ length: n }, (_, i) => `  - { name: c${i + 1}, address: 198.18.${i >> 8}.${(i & 255) + 1}, asn: 64512, routeReflectorClient: true }\n`).join('')}`);

export const RR = `clusterId: 198.18.0.100
peers:
${[1, 2, 3].map((i) => `  - { name: c${i}, address: 198.18.0.${i}, asn: 64512, routeReflectorClient: true }\n`).join('')}`;
