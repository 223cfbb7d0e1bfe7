import type { Clock } from './clock.js';
import { bareAddress, type SessionConfig, sessionKey } from './config.js';
import { diagName } from './constants.js';
import { BfdServiceError, DiscardCode, ServiceErrorCode } from './errors.js';
import { type ControlPacket, decodeControl } from './packet.js';
import { BfdSession, type FsmStatus, type SessionTimers, type StateChange } from './session.js';

/** Where a received packet came from and arrived. */
export interface PacketInfo {
  readonly source: string;
  readonly sourcePort: number;
  /** The local address the packet was received on. */
  readonly local: string;
  readonly multihop: boolean;
}

/** What the engine tells a transport about one session. */
export interface SessionLink {
  readonly id: number;
  readonly peer: string;
  readonly local: string | null;
  readonly multihop: boolean;
  /** The transport found (or changed) the local address: from `local`, or the kernel's source towards the peer. */
  onLocal(address: string): void;
  /** The transport cannot send or receive for this session (bind failed, no route...); it keeps retrying. */
  onError(code: string, message: string): void;
  /** The session's sockets work (again): clears the error, and the first packet goes out now. */
  onReady(): void;
}

export interface TransportBinding {
  send(bytes: Uint8Array): void;
  detach(): void;
}

/** Sockets (or an in-memory link in tests). Calls `engine.receive` for every datagram. */
export interface BfdTransport {
  attach(link: SessionLink): TransportBinding;
  close(): void;
}

/** One session as `bgpctl show bfd` and metrics see it. */
export interface SessionStatus extends FsmStatus {
  readonly id: number;
  readonly name: string;
  readonly peer: string;
  /** The local address in use (null while it is being resolved). */
  readonly local: string | null;
  readonly multihop: boolean;
  readonly configured: {
    readonly minTxMs: number;
    readonly minRxMs: number;
    readonly multiplier: number;
    readonly passive: boolean;
    readonly auth: string | null;
  };
  readonly adminDown: boolean;
  /** Packets matched to this session but discarded (authentication, AdminDown), by code. */
  readonly discarded: Readonly<Record<string, number>>;
  /** The transport's last problem (bind failed, no route), null once it works. */
  readonly transportError: string | null;
}

export type EngineEvent =
  | { readonly type: 'state'; readonly id: number; readonly change: StateChange; readonly status: SessionStatus }
  | {
      readonly type: 'log';
      readonly level: 'debug' | 'info' | 'warn';
      readonly msg: string;
      readonly fields: Record<string, unknown>;
    };

export interface EngineOptions {
  readonly clock: Clock;
  readonly random: () => number;
  readonly transport: (engine: BfdEngine) => BfdTransport;
  readonly onEvent: (e: EngineEvent) => void;
  /** Most sessions held at once (default 4096). */
  readonly maxSessions?: number;
}

interface Entry {
  readonly id: number;
  config: SessionConfig;
  readonly fsm: BfdSession;
  readonly binding: TransportBinding;
  local: string | null;
  adminDown: boolean;
  discarded: Record<string, number>;
  transportError: string | null;
}

const LOG_EVERY_MS = 60_000;
const LOG_KEYS_MAX = 1024;

/**
 * All sessions of one BFD instance: discriminator allocation, demultiplexing (RFC 5880 §6.3,
 * RFC 5881 §3: Your Discriminator, else source and local address), discards counted and logged
 * at most once a minute per reason and source. Pure logic: time and sockets are injected, so the
 * same engine runs in the worker thread and in tests over an in-memory link.
 */
export class BfdEngine {
  private readonly byId = new Map<number, Entry>();
  private readonly byDiscr = new Map<number, Entry>();
  private readonly byAddress = new Map<string, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly transport: BfdTransport;
  private readonly maxSessions: number;
  private readonly logged = new Map<string, { at: number; count: number }>();
  /** Discards not attributable to a session, by code. */
  readonly unmatched: Record<string, number> = {};

  constructor(private readonly opts: EngineOptions) {
    this.maxSessions = opts.maxSessions ?? 4096;
    this.transport = opts.transport(this);
  }

  get size(): number {
    return this.byId.size;
  }

  add(id: number, config: SessionConfig): void {
    const key = sessionKey(config);
    if (this.byKey.has(key) || this.byId.has(id))
      throw new BfdServiceError(ServiceErrorCode.Duplicate, `bfd: a session ${key} already exists`);
    if (this.byId.size >= this.maxSessions)
      throw new BfdServiceError(
        ServiceErrorCode.TooManySessions,
        `bfd: already ${this.maxSessions} sessions (the limit)`,
      );
    const discr = this.allocateDiscriminator();
    let entry: Entry | undefined;
    const fsm = new BfdSession(discr, config, {
      clock: this.opts.clock,
      random: this.opts.random,
      transmit: (bytes) => entry?.binding.send(bytes),
      onStateChange: (change) => entry && this.stateChanged(entry, change),
    });
    const binding = this.transport.attach({
      id,
      peer: config.peer,
      local: config.local,
      multihop: config.multihop,
      onLocal: (address) => entry && this.setLocal(entry, address),
      onError: (code, message) => {
        if (!entry || entry.transportError === message) return;
        entry.transportError = message;
        this.log('warn', `bfd: ${config.name}: ${message}`, { peer: config.peer, code });
      },
      onReady: () => {
        if (!entry) return;
        if (entry.transportError !== null)
          this.log('info', `bfd: ${config.name}: sockets work again`, { peer: config.peer });
        entry.transportError = null;
        entry.fsm.transmitSoon();
      },
    });
    entry = { id, config, fsm, binding, local: null, adminDown: false, discarded: {}, transportError: null };
    this.byId.set(id, entry);
    this.byKey.set(key, entry);
    this.byDiscr.set(discr, entry);
    if (config.local !== null) this.setLocal(entry, config.local);
    fsm.start();
  }

  /** Changes timers (a Poll Sequence runs while Up). */
  update(id: number, timers: SessionTimers): void {
    const e = this.byId.get(id);
    if (!e) return;
    e.config = { ...e.config, ...timers };
    e.fsm.update(timers);
  }

  setAdminDown(id: number, down: boolean): void {
    const e = this.byId.get(id);
    if (!e) return;
    e.adminDown = down;
    e.fsm.setAdminDown(down);
  }

  /** Removes a session; the peer gets one AdminDown packet first (RFC 5882 §3.2: not a failure). */
  remove(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    e.fsm.stop(true);
    e.binding.detach();
    this.byId.delete(id);
    this.byKey.delete(sessionKey(e.config));
    this.byDiscr.delete(e.fsm.localDiscriminator);
    if (e.local !== null && this.byAddress.get(this.addressKey(e.config.multihop, e.local, e.config.peer)) === e)
      this.byAddress.delete(this.addressKey(e.config.multihop, e.local, e.config.peer));
  }

  status(id?: number): SessionStatus[] {
    const list = id === undefined ? [...this.byId.values()] : [this.byId.get(id)].filter((e) => e !== undefined);
    return list.map((e) => this.statusOf(e));
  }

  stop(): void {
    for (const id of [...this.byId.keys()]) this.remove(id);
    this.transport.close();
  }

  /** Entry point for every received datagram. Never throws. */
  receive(bytes: Uint8Array, info: PacketInfo): void {
    const r = decodeControl(bytes);
    if (!r.ok) {
      this.discard(null, r.error.code, info, r.error.message);
      return;
    }
    const p = r.packet;
    const e = this.demux(p, info);
    if (typeof e === 'string') {
      this.discard(null, e, info, `from ${info.source} to ${info.local} (Your Discriminator ${p.yourDiscriminator})`);
      return;
    }
    const outcome = e.fsm.receive(p, bytes);
    if (outcome !== null) this.discard(e, outcome, info, `for session ${e.config.name}`);
  }

  /** A single-hop packet from outside the subnets of the address it arrived on (see `UdpTransport`). */
  discardNotConnected(info: PacketInfo): void {
    this.discard(null, DiscardCode.NotConnected, info, `from ${info.source}, outside the subnets of ${info.local}`);
  }

  private demux(p: ControlPacket, info: PacketInfo): Entry | DiscardCode {
    if (p.yourDiscriminator !== 0) {
      const e = this.byDiscr.get(p.yourDiscriminator);
      if (!e) return DiscardCode.NoSession;
      // The discriminator is a session's only key on the wire; also require its addresses, so a
      // packet cannot be steered into another peer's session.
      if (
        e.config.multihop !== info.multihop ||
        e.local === null ||
        !sameAddress(e.local, info.local) ||
        !sameAddress(e.config.peer, info.source)
      )
        return DiscardCode.SessionMismatch;
      return e;
    }
    return this.byAddress.get(this.addressKey(info.multihop, info.local, info.source)) ?? DiscardCode.NoSession;
  }

  private addressKey(multihop: boolean, local: string, peer: string): string {
    return `${multihop ? 'm' : 's'}|${bareAddress(local)}|${bareAddress(peer)}`;
  }

  private setLocal(e: Entry, address: string): void {
    if (e.local === address) return;
    if (e.local !== null) this.byAddress.delete(this.addressKey(e.config.multihop, e.local, e.config.peer));
    e.local = address;
    this.byAddress.set(this.addressKey(e.config.multihop, address, e.config.peer), e);
  }

  private stateChanged(e: Entry, change: StateChange): void {
    const level = change.from === 'Up' || change.to === 'Up' ? 'info' : 'debug';
    this.log(level, `bfd: ${e.config.name}: ${change.from} -> ${change.to} (${diagName(change.diag)})`, {
      peer: e.config.peer,
      local: e.local,
      remoteState: change.remoteState,
    });
    this.opts.onEvent({ type: 'state', id: e.id, change, status: this.statusOf(e) });
  }

  private statusOf(e: Entry): SessionStatus {
    const c = e.config;
    return {
      ...e.fsm.status(),
      id: e.id,
      name: c.name,
      peer: c.peer,
      local: e.local,
      multihop: c.multihop,
      configured: {
        minTxMs: c.minTxMs,
        minRxMs: c.minRxMs,
        multiplier: c.multiplier,
        passive: c.passive,
        auth: c.auth ? c.auth.type : null,
      },
      adminDown: e.adminDown,
      discarded: { ...e.discarded },
      transportError: e.transportError,
    };
  }

  private discard(e: Entry | null, code: string, info: PacketInfo, detail: string): void {
    const counts = e ? e.discarded : this.unmatched;
    counts[code] = (counts[code] ?? 0) + 1;
    if (code === DiscardCode.AdminDown) return; // expected while AdminDown: not worth a log line
    const key = `${code}|${info.source}`;
    const now = this.opts.clock.now();
    const seen = this.logged.get(key);
    if (seen && now - seen.at < LOG_EVERY_MS) {
      seen.count++;
      return;
    }
    if (this.logged.size >= LOG_KEYS_MAX) this.logged.clear();
    this.logged.set(key, { at: now, count: 0 });
    const more = seen && seen.count > 0 ? ` (and ${seen.count} more in the last minute)` : '';
    this.log('warn', `bfd: packet discarded: ${code} ${detail}${more}`, { source: info.source, local: info.local });
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string, fields: Record<string, unknown>): void {
    this.opts.onEvent({ type: 'log', level, msg, fields });
  }

  /** A random nonzero discriminator not in use (RFC 5880 §6.8.1: unique, SHOULD be random). */
  private allocateDiscriminator(): number {
    let d = (Math.floor(this.opts.random() * 0xffffffff) + 1) >>> 0 || 1;
    while (this.byDiscr.has(d)) d = (d % 0xffffffff) + 1;
    return d;
  }
}

function sameAddress(a: string, b: string): boolean {
  return bareAddress(a) === bareAddress(b);
}
