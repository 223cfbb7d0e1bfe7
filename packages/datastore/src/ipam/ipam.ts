import type { Datastore, KVPair } from '../datastore.js';
import { AlreadyExistsError, ConflictError, DatastoreError, ErrorCode, NotFoundError } from '../errors.js';
import { type Cidr, contains, type Family, formatCidr, formatIp, parseCidr, parseIp, size } from '../ip.js';
import { ipamKeys, segmentCidr } from '../keys.js';
import { type Logger, nullLogger } from '../logger.js';
import { ResourceStore } from '../resources/store.js';
import type { IPPoolResource } from '../resources/types.js';
import { Selector } from '../selector/evaluate.js';
import type { AffinityRecord, BlockRecord, HandleRecord } from './records.js';
import { Reservations } from './reservations.js';

/** No address (or block) is free in any pool this node may use. */
export class IpamExhaustedError extends DatastoreError {
  constructor(message: string) {
    super(ErrorCode.IpamExhausted, message);
  }
}

/** A request IPAM cannot satisfy as asked (unknown block, block not empty, bad address). */
export class IpamInvalidError extends DatastoreError {
  constructor(message: string) {
    super(ErrorCode.IpamInvalid, message);
  }
}

export interface AssignRequest {
  node: string;
  /** The owner of the address (the pod / container ID); release by it later. */
  handle: string;
  family?: Family;
  /**
   * Restrict to these pools (by name): each must exist, be enabled and allow Workload addresses;
   * their nodeSelector and assignment mode do not matter (as in Calico). Default: every enabled,
   * `Automatic`, Workload pool whose nodeSelector matches the node.
   */
  pools?: string[];
}

export interface IpamOptions {
  logger?: Logger;
  /** Compare-and-swap attempts before giving up under contention. Default 200. */
  maxAttempts?: number;
}

export interface IpamBlockReport {
  cidr: string;
  pool: string | null;
  /** The node that holds the block's affinity, or null. */
  node: string | null;
  state: string;
  used: number;
  /** Addresses an IPReservation covers (some may be in use: reservations release nothing). */
  reserved: number;
  /** Neither in use nor reserved. */
  free: number;
  size: number;
}

export interface IpamReport {
  pools: {
    name: string;
    cidr: string;
    blockSize: number;
    size: number;
    used: number;
    reserved: number;
    /** Neither in use nor reserved, blocks claimed or not. */
    free: number;
    blocks: number;
    disabled: boolean;
  }[];
  blocks: IpamBlockReport[];
  reservations: { name: string; cidrs: string[] }[];
  handles: number;
}

const json = <T>(kv: KVPair): T => JSON.parse(kv.value) as T;
const jitter = () => new Promise((r) => setTimeout(r, Math.random() * 5));

/**
 * Calico-style IPAM over any Datastore: nodes claim whole blocks (affinity), pods get addresses
 * from their node's blocks under a handle, borrowing from other nodes' blocks when their own are
 * full. Every change is a compare-and-swap on one key, so it is safe across processes: block
 * creation is the exclusive step that gives a block to one node, and a block update is the one
 * that gives an address to one handle.
 */
export class Ipam {
  private readonly log: Logger;
  private readonly maxAttempts: number;
  private readonly resources: ResourceStore;

  constructor(
    readonly ds: Datastore,
    opts: IpamOptions = {},
  ) {
    this.log = opts.logger ?? nullLogger;
    this.maxAttempts = opts.maxAttempts ?? 200;
    this.resources = new ResourceStore(ds);
  }

  /**
   * Pools a node may take pod addresses from, for a family: enabled, `Automatic`, allowing
   * Workload use, nodeSelector matching the node's labels. Pools asked for by name need only be
   * enabled and allow Workload use (IpamInvalidError naming the pool otherwise).
   */
  async poolsFor(node: string, family: Family, names?: string[]): Promise<IPPoolResource[]> {
    const pools = (await this.resources.list('IPPool')).items.filter((p) => parseCidr(p.spec.cidr)?.family === family);
    // Calico: a pool without allowedUses (stored before they existed) allows Workload and Tunnel.
    const workload = (p: IPPoolResource) => !p.spec.allowedUses?.length || p.spec.allowedUses.includes('Workload');
    if (names) {
      return names.map((name) => {
        const p = pools.find((x) => x.metadata.name === name);
        if (!p) throw new IpamInvalidError(`there is no IPv${family} IP pool named ${JSON.stringify(name)}`);
        if (p.spec.disabled) throw new IpamInvalidError(`IP pool ${JSON.stringify(name)} is disabled`);
        if (!workload(p))
          throw new IpamInvalidError(
            `IP pool ${JSON.stringify(name)} does not allow pod addresses (allowedUses: ${(p.spec.allowedUses ?? []).join(', ')})`,
          );
        return p;
      });
    }
    const labels = (await this.resources.get('Node', node))?.metadata.labels ?? {};
    return pools.filter(
      (p) =>
        !p.spec.disabled &&
        p.spec.assignmentMode !== 'Manual' &&
        workload(p) &&
        new Selector(p.spec.nodeSelector ?? 'all()').matches(labels),
    );
  }

  /** Every IPReservation, merged (read once per assignment or claim). */
  private async reservations(): Promise<Reservations> {
    return new Reservations((await this.resources.list('IPReservation')).items);
  }

  /** The node's blocks (affinities) and their state. */
  async blocksOf(node: string, family: Family = 4): Promise<{ cidr: string; state: string }[]> {
    const l = await this.ds.list(ipamKeys.hostAffinities(node, family));
    return l.items.map((kv) => ({
      cidr: segmentCidr(kv.key.slice(kv.key.lastIndexOf('/') + 1)),
      state: json<AffinityRecord>(kv).state,
    }));
  }

  /**
   * Claims a free block for a node from a pool whose selector matches it: affinity `pending`,
   * then the block record is created (fails if another node got there first: try the next
   * block), then the affinity is `confirmed`. Resolves with the block CIDR.
   */
  async claimBlock(node: string, family: Family = 4, poolNames?: string[], reserved?: Reservations): Promise<string> {
    const pools = await this.poolsFor(node, family, poolNames);
    const reservations = reserved ?? (await this.reservations());
    if (!pools.length) throw new IpamExhaustedError(`no enabled IPv${family} pool matches node ${node}`);
    let taken = await this.takenBlocks(family);
    let lostRaces = 0;
    for (const pool of pools) {
      const pc = parseCidr(pool.spec.cidr) as Cidr;
      const bs = pool.spec.blockSize ?? (family === 4 ? 26 : 122);
      const step = size({ family, addr: 0n, len: bs });
      const nBlocks = size(pc) / step;
      // Walk the pool from its start (deterministic when uncontended); after losing a race to
      // another node, re-read and jump to a random block so that claimers spread out instead of
      // all fighting over the next block.
      let idx = 0n;
      for (let visited = 0n; visited < nBlocks; visited++) {
        const range = { family, addr: pc.addr + idx * step, len: bs };
        const cidr = formatCidr(range);
        idx = (idx + 1n) % nBlocks;
        // A block every address of which is reserved would give nothing: never claim it.
        if (taken.has(cidr) || reservations.covers(range)) continue;
        const affKey = ipamKeys.affinity(node, family, cidr);
        const pending = await this.put(affKey, JSON.stringify({ state: 'pending' } satisfies AffinityRecord));
        const block: BlockRecord = { cidr, affinity: `host:${node}`, allocations: {} };
        try {
          await this.ds.create(ipamKeys.block(family, cidr), JSON.stringify(block));
        } catch (err) {
          if (!(err instanceof AlreadyExistsError)) throw err;
          const existing = await this.ds.get(ipamKeys.block(family, cidr));
          if (existing && json<BlockRecord>(existing).affinity === `host:${node}`) {
            // Another assign for this same node claimed it a moment ago: it is ours.
            await this.put(affKey, JSON.stringify({ state: 'confirmed' } satisfies AffinityRecord));
            return cidr;
          }
          // Lost the race to another node: withdraw our pending affinity (unless it changed since).
          await this.ds.delete(affKey, pending).catch((e) => {
            if (!(e instanceof ConflictError) && !(e instanceof NotFoundError)) throw e;
          });
          taken.add(cidr);
          if (++lostRaces <= 20) {
            taken = await this.takenBlocks(family);
            idx = BigInt(Math.floor(Math.random() * Number(nBlocks)));
            visited = 0n;
          }
          continue;
        }
        await this.put(affKey, JSON.stringify({ state: 'confirmed' } satisfies AffinityRecord));
        this.log.info({ node, block: cidr, pool: pool.metadata.name }, 'claimed IPAM block');
        return cidr;
      }
    }
    throw new IpamExhaustedError(
      `no free IPv${family} block left in pools ${pools.map((p) => p.metadata.name).join(', ')} for node ${node}`,
    );
  }

  private async takenBlocks(family: Family): Promise<Set<string>> {
    return new Set((await this.ds.list(ipamKeys.blocks(family))).items.map((kv) => json<BlockRecord>(kv).cidr));
  }

  /** Create-or-update; resolves with the new revision. */
  private async put(key: string, value: string): Promise<number> {
    for (;;) {
      try {
        return (await this.ds.create(key, value)).revision;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
      try {
        return (await this.ds.update(key, value)).revision;
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
      }
    }
  }

  /** Releases a node's empty block (IpamInvalidError if it still holds addresses). */
  async releaseBlock(node: string, cidr: string): Promise<void> {
    const c = parseCidr(cidr);
    if (!c) throw new IpamInvalidError(`${cidr} is not a CIDR`);
    const key = ipamKeys.block(c.family, cidr);
    const kv = await this.ds.get(key);
    if (kv) {
      const b = json<BlockRecord>(kv);
      if (b.affinity !== `host:${node}`)
        throw new IpamInvalidError(`block ${cidr} belongs to ${b.affinity ?? 'no node'}, not host:${node}`);
      const used = Object.keys(b.allocations).length;
      if (used) throw new IpamInvalidError(`block ${cidr} still holds ${used} address(es); release them first`);
      await this.ds.delete(key, kv.revision);
    }
    await this.ds.delete(ipamKeys.affinity(node, c.family, cidr)).catch((e) => {
      if (!(e instanceof NotFoundError)) throw e;
    });
  }

  /**
   * Assigns one address to `handle` on `node`: from the node's own blocks, else from a newly
   * claimed block, else borrowed from another node's block. Resolves with the address.
   */
  async assign(req: AssignRequest): Promise<string> {
    const family = req.family ?? 4;
    let noFreeBlock = false;
    const reserved = await this.reservations();
    for (let attempt = 0; attempt < this.maxAttempts; attempt++) {
      try {
        let own = (await this.blocksOf(req.node, family)).filter((b) => b.state === 'confirmed');
        if (req.pools) {
          // Restricted to some pools: only the node's blocks inside them count.
          const allowed = (await this.poolsFor(req.node, family, req.pools)).map((p) => parseCidr(p.spec.cidr) as Cidr);
          own = own.filter((b) => allowed.some((p) => contains(p, parseCidr(b.cidr) as Cidr)));
        }
        for (const b of own) {
          const ip = await this.allocateIn(family, b.cidr, req.handle, `host:${req.node}`, reserved);
          if (ip) return ip;
        }
        if (!noFreeBlock) {
          try {
            // Our blocks are full (or we have none): claim another, then allocate from it.
            await this.claimBlock(req.node, family, req.pools, reserved);
            continue;
          } catch (err) {
            if (!(err instanceof IpamExhaustedError)) throw err;
            noFreeBlock = true;
          }
        }
        const pools = (await this.poolsFor(req.node, family, req.pools)).map((p) => parseCidr(p.spec.cidr) as Cidr);
        for (const kv of (await this.ds.list(ipamKeys.blocks(family))).items) {
          const b = json<BlockRecord>(kv);
          const bc = parseCidr(b.cidr) as Cidr;
          if (!pools.some((p) => contains(p, bc))) continue;
          if (Object.keys(b.allocations).length >= Number(size(bc))) continue;
          const ip = await this.allocateIn(family, b.cidr, req.handle, null, reserved, kv);
          if (ip) {
            this.log.debug({ node: req.node, ip, block: b.cidr }, 'borrowed an address from another node’s block');
            return ip;
          }
        }
        throw new IpamExhaustedError(`no free IPv${family} address for node ${req.node} in any pool it may use`);
      } catch (err) {
        if (!(err instanceof ConflictError) && !(err instanceof AlreadyExistsError)) throw err;
        await jitter();
      }
    }
    throw new IpamExhaustedError(`gave up assigning for ${req.handle} after ${this.maxAttempts} conflicting attempts`);
  }

  /**
   * Takes the lowest free, unreserved ordinal of a block for `handle` (CAS on the block).
   * Undefined when no such address is left or the block is not owned by `owner` (when given);
   * ConflictError when it changed.
   */
  private async allocateIn(
    family: Family,
    cidr: string,
    handle: string,
    owner: string | null,
    reserved: Reservations,
    known?: KVPair,
  ): Promise<string | undefined> {
    const kv = known ?? (await this.ds.get(ipamKeys.block(family, cidr)));
    if (!kv) return undefined;
    const b = json<BlockRecord>(kv);
    if (owner !== null && b.affinity !== owner) return undefined;
    const bc = parseCidr(b.cidr) as Cidr;
    const n = Number(size(bc));
    let ord = -1;
    for (let i = 0; i < n; i++) {
      if (!Object.hasOwn(b.allocations, String(i)) && !reserved.has(family, bc.addr + BigInt(i))) {
        ord = i;
        break;
      }
    }
    if (ord < 0) return undefined;
    b.allocations[String(ord)] = handle;
    await this.ds.update(ipamKeys.block(family, cidr), JSON.stringify(b), kv.revision);
    await this.addToHandle(handle, b.cidr, 1);
    return formatIp(family, bc.addr + BigInt(ord));
  }

  private async addToHandle(handle: string, cidr: string, delta: number): Promise<void> {
    const key = ipamKeys.handle(handle);
    if (delta > 0) {
      // Most handles are new (one address per pod): try the create first, saving a read.
      try {
        await this.ds.create(
          key,
          JSON.stringify({ handleID: handle, block: { [cidr]: delta } } satisfies HandleRecord),
        );
        return;
      } catch (err) {
        if (!(err instanceof AlreadyExistsError)) throw err;
      }
    }
    for (;;) {
      const kv = await this.ds.get(key);
      const h: HandleRecord = kv ? json<HandleRecord>(kv) : { handleID: handle, block: {} };
      h.block[cidr] = (h.block[cidr] ?? 0) + delta;
      if (h.block[cidr] <= 0) delete h.block[cidr];
      try {
        if (!kv) {
          if (Object.keys(h.block).length) await this.ds.create(key, JSON.stringify(h));
        } else if (Object.keys(h.block).length === 0) await this.ds.delete(key, kv.revision);
        else await this.ds.update(key, JSON.stringify(h), kv.revision);
        return;
      } catch (err) {
        if (!(err instanceof ConflictError) && !(err instanceof AlreadyExistsError) && !(err instanceof NotFoundError))
          throw err;
      }
    }
  }

  /** Releases every address held by `handle`; resolves with them. */
  async releaseByHandle(handle: string): Promise<string[]> {
    const hkv = await this.ds.get(ipamKeys.handle(handle));
    let cidrs: string[];
    if (hkv) cidrs = Object.keys(json<HandleRecord>(hkv).block);
    else {
      // No handle record (a crash between the block and handle writes): scan the blocks.
      cidrs = [];
      for (const fam of [4, 6] as const) {
        for (const kv of (await this.ds.list(ipamKeys.blocks(fam))).items) {
          const b = json<BlockRecord>(kv);
          if (Object.values(b.allocations).includes(handle)) cidrs.push(b.cidr);
        }
      }
    }
    const released: string[] = [];
    for (const cidr of cidrs) {
      const bc = parseCidr(cidr) as Cidr;
      for (;;) {
        const kv = await this.ds.get(ipamKeys.block(bc.family, cidr));
        if (!kv) break;
        const b = json<BlockRecord>(kv);
        const mine = Object.entries(b.allocations).filter(([, h]) => h === handle);
        if (!mine.length) break;
        for (const [ord] of mine) delete b.allocations[ord];
        try {
          await this.ds.update(kv.key, JSON.stringify(b), kv.revision);
        } catch (err) {
          if (err instanceof ConflictError) continue;
          throw err;
        }
        for (const [ord] of mine) released.push(formatIp(bc.family, bc.addr + BigInt(ord)));
        break;
      }
    }
    for (;;) {
      const kv = await this.ds.get(ipamKeys.handle(handle));
      if (!kv) break;
      try {
        await this.ds.delete(kv.key, kv.revision);
        break;
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    return released;
  }

  /** Releases single addresses (whatever handle holds them); resolves with the ones that were in use. */
  async releaseIps(ips: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const ip of ips) {
      const p = parseIp(ip);
      if (!p) throw new IpamInvalidError(`${ip} is not an IP address`);
      for (;;) {
        const blocks = (await this.ds.list(ipamKeys.blocks(p.family))).items;
        const kv = blocks.find((k) =>
          contains(parseCidr(json<BlockRecord>(k).cidr) as Cidr, {
            family: p.family,
            addr: p.addr,
            len: p.family === 4 ? 32 : 128,
          }),
        );
        if (!kv) break;
        const b = json<BlockRecord>(kv);
        const bc = parseCidr(b.cidr) as Cidr;
        const ord = String(p.addr - bc.addr);
        const handle = b.allocations[ord];
        if (handle === undefined) break;
        delete b.allocations[ord];
        try {
          await this.ds.update(kv.key, JSON.stringify(b), kv.revision);
        } catch (err) {
          if (err instanceof ConflictError) continue;
          throw err;
        }
        await this.addToHandle(handle, b.cidr, -1);
        out.push(ip);
        break;
      }
    }
    return out;
  }

  /** Pools, blocks, owners, reservations and utilisation (what `tabby ipam show` prints). */
  async show(): Promise<IpamReport> {
    const pools = (await this.resources.list('IPPool')).items;
    const reservationList = (await this.resources.list('IPReservation')).items;
    const reserved = new Reservations(reservationList);
    const affinities = new Map<string, string>();
    for (const kv of (await this.ds.list(ipamKeys.allAffinities())).items) {
      const m = /\/host\/([^/]+)\/ipv[46]\/block\/(.+)$/.exec(kv.key);
      if (m) affinities.set(`${m[1]}|${segmentCidr(m[2] as string)}`, json<AffinityRecord>(kv).state);
    }
    const blocks: IpamBlockReport[] = [];
    /** Per block: addresses in use that are not reserved (a pool's free space excludes both). */
    const usedUnreserved = new Map<string, number>();
    for (const fam of [4, 6] as const) {
      for (const kv of (await this.ds.list(ipamKeys.blocks(fam))).items) {
        const b = json<BlockRecord>(kv);
        const bc = parseCidr(b.cidr) as Cidr;
        const node = b.affinity?.startsWith('host:') ? b.affinity.slice(5) : null;
        const pool = pools.find((p) => contains(parseCidr(p.spec.cidr) as Cidr, bc));
        const ords = Object.keys(b.allocations);
        const plain = ords.filter((o) => !reserved.has(fam, bc.addr + BigInt(o))).length;
        const res = Number(reserved.countIn(bc));
        usedUnreserved.set(b.cidr, plain);
        blocks.push({
          cidr: b.cidr,
          pool: pool?.metadata.name ?? null,
          node,
          state: node ? (affinities.get(`${node}|${b.cidr}`) ?? 'orphaned') : 'orphaned',
          used: ords.length,
          reserved: res,
          free: Number(size(bc)) - res - plain,
          size: Number(size(bc)),
        });
      }
    }
    const handles = (await this.ds.list(ipamKeys.handles())).items.length;
    return {
      pools: pools.map((p) => {
        const pc = parseCidr(p.spec.cidr) as Cidr;
        const mine = blocks.filter((b) => b.pool === p.metadata.name);
        const poolReserved = Number(reserved.countIn(pc));
        const taken = mine.reduce((a, b) => a + (usedUnreserved.get(b.cidr) ?? 0), 0);
        return {
          name: p.metadata.name,
          cidr: p.spec.cidr,
          blockSize: p.spec.blockSize ?? 26,
          size: Number(size(pc)),
          used: mine.reduce((a, b) => a + b.used, 0),
          reserved: poolReserved,
          free: Number(size(pc)) - poolReserved - taken,
          blocks: mine.length,
          disabled: p.spec.disabled ?? false,
        };
      }),
      blocks,
      reservations: reservationList.map((r) => ({ name: r.metadata.name, cidrs: r.spec.reservedCIDRs ?? [] })),
      handles,
    };
  }
}
