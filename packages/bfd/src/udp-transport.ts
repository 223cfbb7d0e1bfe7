import dgram from 'node:dgram';
import { BlockList } from 'node:net';
import os from 'node:os';
import type { Clock, TimerHandle } from './clock.js';
import { addressFamily, bareAddress } from './config.js';
import { Port, SINGLE_HOP_TTL } from './constants.js';
import type { BfdEngine, BfdTransport, SessionLink, TransportBinding } from './engine.js';

/**
 * How single-hop packets are checked in place of RFC 5881 §5's received-TTL test, which Node's
 * dgram cannot do (no IP_RECVTTL): `connected-subnet` accepts them only from an address inside a
 * subnet of the local address they arrived on; `off` accepts any source (demultiplexing still
 * requires a configured peer). The kernel can do the real TTL check: see `gtsm.ts`.
 */
export type SingleHopSourceCheck = 'connected-subnet' | 'off';

export interface UdpTransportOptions {
  readonly clock: Clock;
  /** Destination and listening port for single hop (default 3784; tests use others). */
  readonly singleHopPort?: number;
  /** Destination and listening port for multihop (default 4784). */
  readonly multiHopPort?: number;
  readonly singleHopSourceCheck?: SingleHopSourceCheck;
  /** Interface list (injectable for tests). */
  readonly interfaces?: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
}

const RETRY_MS = 1000;
const SOURCE_PORT_TRIES = 32;
const INTERFACES_TTL_MS = 1000;

function udpType(address: string): 'udp4' | 'udp6' {
  return addressFamily(address) === 6 ? 'udp6' : 'udp4';
}

function errText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code} (${e.syscall ?? 'socket'})` : String(e.message ?? err);
}

/** One listening socket on (local address, port), shared by the sessions using that address. */
interface Receiver {
  readonly socket: dgram.Socket;
  refs: number;
  bound: Promise<void>;
}

/**
 * RFC 5881 / RFC 5883 over Node's dgram: one listening socket per local address and port (so the
 * local address of every received packet is known), and per session one sending socket bound to
 * the local address and a source port from 49152-65535, with TTL / Hop Limit 255. Sockets that
 * cannot be made yet (address not configured, port taken, no route) are retried every second,
 * and the session is told through `onError`.
 */
export class UdpTransport implements BfdTransport {
  private readonly receivers = new Map<string, Receiver>();
  private readonly ports: { single: number; multi: number };
  private readonly check: SingleHopSourceCheck;
  private readonly interfaces: () => NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  private readonly subnets = new Map<string, BlockList | null>();
  private subnetsAt = Number.NEGATIVE_INFINITY;
  private closed = false;

  constructor(
    private readonly engine: BfdEngine,
    private readonly opts: UdpTransportOptions,
  ) {
    this.ports = { single: opts.singleHopPort ?? Port.SingleHop, multi: opts.multiHopPort ?? Port.MultiHop };
    this.check = opts.singleHopSourceCheck ?? 'connected-subnet';
    this.interfaces = opts.interfaces ?? os.networkInterfaces;
  }

  attach(link: SessionLink): TransportBinding {
    return new UdpSession(this, link, this.opts.clock);
  }

  close(): void {
    this.closed = true;
    for (const r of this.receivers.values()) r.socket.close();
    this.receivers.clear();
  }

  port(multihop: boolean): number {
    return multihop ? this.ports.multi : this.ports.single;
  }

  /** A listening socket for `local` (shared); resolves once bound, rejects with the bind error. */
  acquireReceiver(local: string, multihop: boolean): Promise<void> {
    const port = this.port(multihop);
    const key = `${port}|${local}`;
    let r = this.receivers.get(key);
    if (!r) {
      const socket = dgram.createSocket({ type: udpType(local) });
      const bound = new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind({ address: local, port, exclusive: true }, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.on('error', () => {}); // errors after bind (none expected for a receiver) must not crash the worker
      socket.on('message', (msg, rinfo) => this.received(msg, rinfo, local, multihop));
      r = { socket, refs: 0, bound };
      this.receivers.set(key, r);
      bound.catch(() => {
        if (this.receivers.get(key) === r) this.receivers.delete(key);
        socket.close();
      });
    }
    r.refs++;
    return r.bound;
  }

  releaseReceiver(local: string, multihop: boolean): void {
    const key = `${this.port(multihop)}|${local}`;
    const r = this.receivers.get(key);
    if (!r) return;
    if (--r.refs <= 0) {
      this.receivers.delete(key);
      r.bound.then(
        () => r.socket.close(),
        () => {},
      );
    }
  }

  private received(msg: Buffer, rinfo: dgram.RemoteInfo, local: string, multihop: boolean): void {
    if (this.closed) return;
    const info = { source: rinfo.address, sourcePort: rinfo.port, local, multihop };
    if (!multihop && this.check === 'connected-subnet' && !this.connected(local, rinfo.address)) {
      this.engine.discardNotConnected(info);
      return;
    }
    this.engine.receive(msg, info);
  }

  /** Whether `source` lies in a subnet of an interface address equal to `local` (interfaces re-read at most once a second). */
  private connected(local: string, source: string): boolean {
    const now = this.opts.clock.now();
    if (now - this.subnetsAt > INTERFACES_TTL_MS) {
      this.subnets.clear();
      this.subnetsAt = now;
    }
    const key = bareAddress(local);
    let list = this.subnets.get(key);
    if (list === undefined) {
      list = this.subnetsOf(key);
      this.subnets.set(key, list);
    }
    return list?.check(bareAddress(source), addressFamily(source) === 6 ? 'ipv6' : 'ipv4') ?? false;
  }

  private subnetsOf(local: string): BlockList | null {
    let list: BlockList | null = null;
    for (const addrs of Object.values(this.interfaces())) {
      for (const a of addrs ?? []) {
        if (a.address.toLowerCase() !== local || !a.cidr) continue;
        const prefix = Number(a.cidr.slice(a.cidr.indexOf('/') + 1));
        list ??= new BlockList();
        list.addSubnet(a.address, prefix, a.family === 'IPv6' ? 'ipv6' : 'ipv4');
      }
    }
    return list;
  }
}

/** One session's sockets: the resolved local address, its share of a receiver, its own sender. */
class UdpSession implements TransportBinding {
  private local: string | null;
  private sender: dgram.Socket | null = null;
  private holdsReceiver: string | null = null;
  private retry: TimerHandle | undefined;
  private detached = false;
  private sendErrorAt = Number.NEGATIVE_INFINITY;
  private inflight = 0;
  private failing = false;

  constructor(
    private readonly t: UdpTransport,
    private readonly link: SessionLink,
    private readonly clock: Clock,
  ) {
    this.local = link.local;
    void this.setUp();
  }

  send(bytes: Uint8Array): void {
    const s = this.sender;
    if (!s || this.detached) return;
    this.inflight++;
    s.send(bytes, this.t.port(this.link.multihop), this.link.peer, (err) => {
      // The last packet (AdminDown) is sent just before detach: close only once it has left.
      if (--this.inflight === 0 && this.detached) s.close();
      if (!err) {
        if (this.failing && !this.detached) {
          this.failing = false;
          this.link.onReady();
        }
        return;
      }
      this.failing = true;
      // A link that is down gives ENETUNREACH or EHOSTUNREACH on every packet: report once a minute.
      const now = this.clock.now();
      if (now - this.sendErrorAt < 60_000) return;
      this.sendErrorAt = now;
      this.link.onError('BFD_SEND_FAILED', `cannot send to ${this.link.peer}: ${errText(err)}`);
    });
  }

  detach(): void {
    this.detached = true;
    this.clock.clearTimeout(this.retry);
    if (this.inflight === 0) this.sender?.close();
    this.sender = null;
    if (this.holdsReceiver !== null) this.t.releaseReceiver(this.holdsReceiver, this.link.multihop);
    this.holdsReceiver = null;
  }

  private later(code: string, message: string): void {
    if (this.detached) return;
    this.link.onError(code, `${message}; retrying every ${RETRY_MS / 1000} s`);
    this.retry = this.clock.setTimeout(() => void this.setUp(), RETRY_MS);
  }

  private async setUp(): Promise<void> {
    if (this.detached) return;
    if (this.local === null) {
      try {
        this.local = await sourceAddressTowards(this.link.peer, this.t.port(this.link.multihop));
      } catch (err) {
        this.later('BFD_NO_ROUTE', `no local address towards ${this.link.peer}: ${errText(err)}`);
        return;
      }
      if (this.detached) return;
      this.link.onLocal(this.local);
    }
    const local = this.local;
    if (this.holdsReceiver === null) {
      this.holdsReceiver = local;
      try {
        await this.t.acquireReceiver(local, this.link.multihop);
      } catch (err) {
        this.t.releaseReceiver(local, this.link.multihop);
        this.holdsReceiver = null;
        const e = err as NodeJS.ErrnoException;
        const why =
          e.code === 'EADDRINUSE'
            ? 'another BFD daemon (BIRD, FRR bfdd, another Tabby) holds it'
            : e.code === 'EADDRNOTAVAIL'
              ? 'the address is not configured on this host (yet)'
              : errText(err);
        this.later('BFD_BIND_FAILED', `cannot listen on ${local} port ${this.t.port(this.link.multihop)}: ${why}`);
        return;
      }
    }
    if (this.detached) return;
    try {
      this.sender = await bindSender(local);
    } catch (err) {
      this.later('BFD_BIND_FAILED', `cannot bind a source port on ${local}: ${errText(err)}`);
      return;
    }
    if (this.detached) {
      this.sender.close();
      this.sender = null;
      return;
    }
    this.link.onReady();
  }
}

/** The kernel's source address towards `peer`: a connected UDP socket, nothing sent. */
function sourceAddressTowards(peer: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(udpType(peer));
    s.once('error', (err) => {
      s.close();
      reject(err);
    });
    s.connect(port, peer, () => {
      const a = s.address().address;
      s.close();
      resolve(a);
    });
  });
}

/** A socket on `local` with a free source port from 49152-65535 (RFC 5881 §4) and TTL 255 (§5). */
async function bindSender(local: string): Promise<dgram.Socket> {
  let last: unknown;
  for (let i = 0; i < SOURCE_PORT_TRIES; i++) {
    const port = Port.SourceMin + Math.floor(Math.random() * (Port.SourceMax - Port.SourceMin + 1));
    const s = dgram.createSocket({ type: udpType(local) });
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind({ address: local, port, exclusive: true }, () => {
          s.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      s.close();
      last = err;
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') continue;
      throw err;
    }
    s.on('error', () => {});
    s.on('message', () => {}); // nothing is expected on a source port
    s.setTTL(SINGLE_HOP_TTL);
    return s;
  }
  throw last;
}
