import {
  type Clock,
  type Logger,
  type PeerConfig,
  type ReloadResult,
  Speaker,
  type SpeakerConfig,
  silentLogger,
  type Transport,
} from '@tabby/bgp';
import { type Datastore, kindPrefix, type NodeResource, parseResource, type Watcher } from '@tabby/datastore';
import { buildSpeakerConfig, nodePeers } from './clients.js';
import type { RrConfig } from './config.js';

export interface RouteReflectorDeps {
  transport: Transport;
  logger?: Logger;
  clock?: Clock;
  /** Whether a next hop is usable (default: every next hop; a reflector is rarely in the forwarding path). */
  nextHopReachable?: (nextHop: string) => boolean;
  /**
   * Opens the datastore named by a URL (the daemon passes `openDatastore`). Needed only when the
   * config has a `datastore` section; `datastoreUrl` overrides the file's URL.
   */
  openDatastore?: (url: string) => Datastore;
  datastoreUrl?: string;
  /** Wait this long after a node change for more before reloading the speaker (ms, default 200). */
  settleMs?: number;
  /** Wait this long before re-opening a watch that failed (ms, default 2000). */
  retryMs?: number;
}

/**
 * A speaker run as a route reflector: listed clients and non-clients from the config, plus (with
 * a datastore) every selected Node, re-applied with `speaker.reload` as nodes come and go.
 * Nothing from the datastore is acted on before the watch's first `in-sync`; a `resync` or a
 * watch failure drops the node state but keeps the current peers until the next `in-sync`.
 */
export class RouteReflector {
  readonly speaker: Speaker;
  private config: RrConfig;
  private readonly log: Logger;
  private readonly deps: RouteReflectorDeps;
  /** Node resources by key, as last read (valid only when `synced`). */
  private readonly nodes = new Map<string, NodeResource>();
  private synced = false;
  /** The datastore's peers as last applied: present once the first `in-sync` arrived. */
  private applied: PeerConfig[] | null = null;
  private ds: Datastore | null = null;
  private dsUrl: string | null = null;
  private watcher: Watcher | null = null;
  private watchLoop: Promise<void> | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** How many times the node set was applied (tests and status). */
  applyCount = 0;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(config: RrConfig, deps: RouteReflectorDeps) {
    this.config = config;
    this.deps = deps;
    this.log = deps.logger ?? silentLogger;
    this.speaker = new Speaker(buildSpeakerConfig(config, []), {
      transport: deps.transport,
      logger: this.log,
      ...(deps.clock ? { clock: deps.clock } : {}),
      ...(deps.nextHopReachable ? { nextHopReachable: deps.nextHopReachable } : {}),
    });
  }

  get rrConfig(): RrConfig {
    return this.config;
  }

  /** The datastore open for clients (null: none, or not started). */
  get datastore(): Datastore | null {
    return this.ds;
  }

  /** The datastore URL in use (null: no datastore clients). */
  get datastoreUrl(): string | null {
    return this.dsUrl;
  }

  /** True once the datastore's node set has been applied at least once. */
  get inSync(): boolean {
    return this.applied !== null;
  }

  /** The peers taken from the datastore, as last applied. */
  get nodePeers(): readonly PeerConfig[] {
    return this.applied ?? [];
  }

  /** Starts the speaker with the listed peers, then the datastore watch (if configured). */
  async start(): Promise<void> {
    await this.speaker.start();
    this.openWatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    await this.closeWatch();
    await this.speaker.stop();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  /** Resolves once the node set has been applied after the first `in-sync` (or at once without a datastore). */
  whenInSync(): Promise<void> {
    if (this.applied !== null || !this.wantsDatastore(this.config)) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * Takes a new reflector config and returns the speaker config to apply (with the current nodes):
   * the control socket's `reload` applies it. Router ID and AS cannot change (restart instead).
   */
  prepareReload(next: RrConfig): SpeakerConfig {
    if (next.routerId !== this.config.routerId || next.asn !== this.config.asn) {
      throw new Error('routerId and asn cannot change on reload: restart tabby rr');
    }
    const oldUrl = this.resolveUrl(this.config);
    this.config = next;
    if (this.resolveUrl(next) !== oldUrl) {
      // A different datastore (or none): start over; the current nodes stay until its in-sync.
      void this.closeWatch().then(() => this.openWatch());
    }
    // Mid-resync the node map is partial: keep the peers applied last.
    const peers = this.synced ? this.computeNodePeers() : (this.applied ?? []);
    if (this.applied !== null) this.applied = peers;
    return buildSpeakerConfig(next, peers);
  }

  /** Applies a new reflector config (SIGHUP): only changed peers are reset. */
  reload(next: RrConfig): ReloadResult {
    return this.speaker.reload(this.prepareReload(next));
  }

  private wantsDatastore(c: RrConfig): boolean {
    return c.datastore !== undefined;
  }

  private resolveUrl(c: RrConfig): string | null {
    if (!c.datastore) return null;
    return this.deps.datastoreUrl || c.datastore.url || null;
  }

  private openWatch(): void {
    if (this.stopped) return;
    const url = this.resolveUrl(this.config);
    if (this.config.datastore && !url) {
      this.log.error(
        {},
        'datastore clients configured but no datastore URL: set datastore.url, --datastore or TABBY_DATASTORE',
      );
      return;
    }
    if (!url) return;
    if (!this.deps.openDatastore)
      throw new Error('RouteReflector: a datastore is configured but no openDatastore given');
    this.ds = this.deps.openDatastore(url);
    this.dsUrl = url;
    this.log.info({ datastore: this.ds.description, selector: this.config.datastore?.nodeSelector }, 'watching nodes');
    const ds = this.ds;
    this.watchLoop = this.runWatch(ds);
  }

  private async closeWatch(): Promise<void> {
    const ds = this.ds;
    this.ds = null;
    this.dsUrl = null;
    this.watcher?.close();
    this.watcher = null;
    await this.watchLoop?.catch(() => {});
    this.watchLoop = null;
    await ds?.close().catch(() => {});
    this.nodes.clear();
    this.synced = false;
  }

  private async runWatch(ds: Datastore): Promise<void> {
    const retryMs = this.deps.retryMs ?? 2000;
    while (!this.stopped && this.ds === ds) {
      const w = ds.watch(kindPrefix('Node'));
      this.watcher = w;
      try {
        for await (const ev of w) {
          if (this.ds !== ds) break;
          switch (ev.type) {
            case 'resync':
              this.log.warn({ reason: ev.reason }, 'node watch resync: re-reading nodes, peers kept until in sync');
              this.nodes.clear();
              this.synced = false;
              break;
            case 'added':
            case 'updated':
              try {
                this.nodes.set(ev.key, parseResource<NodeResource>(ev.key, ev.value, ev.revision));
              } catch (err) {
                this.log.warn({ key: ev.key, err: (err as Error).message }, 'unreadable node resource ignored');
                this.nodes.delete(ev.key);
              }
              if (this.synced) this.schedule();
              break;
            case 'deleted':
              this.nodes.delete(ev.key);
              if (this.synced) this.schedule();
              break;
            case 'in-sync':
              this.synced = true;
              this.schedule(this.applied === null ? 0 : undefined);
              break;
          }
        }
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'node watch failed; peers kept, retrying');
      }
      if (this.stopped || this.ds !== ds) break;
      this.nodes.clear();
      this.synced = false;
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }

  private schedule(ms = this.deps.settleMs ?? 200): void {
    if (this.settleTimer) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.applyNodes();
    }, ms);
  }

  private computeNodePeers(): PeerConfig[] {
    const r = nodePeers(this.config, this.nodes.values());
    for (const s of r.skipped) this.log.debug({ node: s.node, reason: s.reason }, 'node not peered');
    return r.peers;
  }

  /** Re-computes the datastore peers and reloads the speaker if they changed. */
  private applyNodes(): void {
    if (this.stopped || !this.synced) return;
    const peers = this.computeNodePeers();
    const first = this.applied === null;
    if (first || JSON.stringify(peers) !== JSON.stringify(this.applied)) {
      this.applied = peers;
      this.applyCount += 1;
      try {
        const r = this.speaker.reload(buildSpeakerConfig(this.config, peers));
        this.log.info(
          {
            nodes: this.nodes.size,
            clients: peers.filter((p) => p.routeReflectorClient).length,
            nonClients: peers.filter((p) => !p.routeReflectorClient).length,
            added: r.peers_added,
            removed: r.peers_removed,
            reset: r.peers_reset,
          },
          first ? 'datastore in sync: node peers applied' : 'node peers changed',
        );
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'node peers not applied');
      }
    }
    for (const w of this.syncWaiters.splice(0)) w();
  }
}
