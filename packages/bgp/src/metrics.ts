import http from 'node:http';
import { registerBfdMetrics } from '@tabby/bfd/metrics';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { SessionStates } from './control/api.js';
import type { MessageCounters } from './session.js';
import type { Speaker } from './speaker.js';

/**
 * A daemon's own metrics registry, with prom-client's process and Node.js defaults
 * (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, ...). One per daemon, never
 * prom-client's global registry, so that several daemons in one process (tests, the in-process
 * lab) keep their metrics apart. Each package adds its collectors to it.
 */
export function daemonRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}

const MESSAGE_TYPES = ['open', 'update', 'notification', 'keepalive', 'route_refresh'] as const;

/**
 * The speaker's collectors: per session (labels `peer`, `address`) its state, flaps, messages and
 * routes in and out, and the Loc-RIB's size. Read from the speaker at each scrape; `speaker`
 * returns the running one (the node agent replaces its speaker when the router ID changes) or
 * nothing before it starts.
 */
export function registerSpeakerMetrics(registry: Registry, speaker: () => Speaker | null | undefined): void {
  // The BFD sessions of its peers (tabby_bfd_session_state, tabby_bfd_session_flaps_total, ...).
  registerBfdMetrics(registry, async () => (await speaker()?.bfd.sessions()) ?? []);
  const registers = [registry];
  const peerLabels = ['peer', 'address'] as const;
  const peers = () => [...(speaker()?.peers.values() ?? [])];
  const lbl = (p: ReturnType<typeof peers>[number]) => ({ peer: p.config.name, address: p.config.address });
  /** A gauge (`set`) or a counter mirrored from the peer's own count (`inc` after a reset). */
  const perPeer = (
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    value: (p: ReturnType<typeof peers>[number]) => number,
  ) =>
    new (kind === 'gauge' ? Gauge : Counter)({
      name,
      help,
      labelNames: peerLabels,
      registers,
      collect() {
        this.reset();
        for (const p of peers()) {
          if (this instanceof Gauge) this.set(lbl(p), value(p));
          else this.inc(lbl(p), value(p));
        }
      },
    });
  perPeer(
    'gauge',
    'tabby_bgp_peer_state',
    'Session state: 0 Idle, 1 Connect, 2 Active, 3 OpenSent, 4 OpenConfirm, 5 Established.',
    (p) => SessionStates.indexOf(p.state),
  );
  perPeer('gauge', 'tabby_bgp_peer_up', '1 while the session is Established, else 0.', (p) =>
    p.state === 'Established' ? 1 : 0,
  );
  perPeer(
    'counter',
    'tabby_bgp_peer_established_transitions_total',
    'Times the session reached Established.',
    (p) => p.establishedTransitions,
  );
  perPeer(
    'counter',
    'tabby_bgp_peer_flaps_total',
    'Times an Established session went down.',
    (p) => p.establishedTransitions - (p.state === 'Established' ? 1 : 0),
  );
  const messages = (name: string, help: string, dir: 'sent' | 'received') =>
    new Counter({
      name,
      help,
      labelNames: [...peerLabels, 'type'],
      registers,
      collect() {
        this.reset();
        for (const p of peers()) {
          const c: MessageCounters = p.counters()[dir];
          for (const type of MESSAGE_TYPES) this.inc({ ...lbl(p), type }, c[type]);
        }
      },
    });
  messages('tabby_bgp_peer_messages_received_total', 'BGP messages received from the peer, by type.', 'received');
  messages('tabby_bgp_peer_messages_sent_total', 'BGP messages sent to the peer, by type.', 'sent');
  perPeer(
    'gauge',
    'tabby_bgp_peer_routes_received',
    'Routes in the Adj-RIB-In of the peer (routes in).',
    (p) => speaker()?.rib.routeCount(p.source) ?? 0,
  );
  perPeer(
    'gauge',
    'tabby_bgp_peer_routes_advertised',
    'Prefixes advertised to the peer (routes out).',
    (p) => p.advertisedCount,
  );
  const single = (name: string, help: string, value: (s: Speaker) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const s = speaker();
        this.set(s ? value(s) : 0);
      },
    });
  single('tabby_bgp_loc_rib_prefixes', 'Prefixes in the Loc-RIB.', (s) => s.rib.size);
  single('tabby_bgp_loc_rib_paths', 'Paths in the Loc-RIB.', (s) => s.rib.paths);
  single('tabby_bgp_attribute_sets', 'Distinct interned attribute sets.', (s) => s.attrs.size);
  single('tabby_bgp_pending_selection', 'Prefixes received but not yet decided.', (s) => s.backlog.selection);
  single('tabby_bgp_export_backlog', 'Prefixes decided but not yet sent to the peers.', (s) => s.backlog.export);
}

/** Where `/metrics` is served: a port, on `host` (default 127.0.0.1). */
export interface MetricsEndpoint {
  port: number;
  host?: string | undefined;
}

/** Serves the registry's `/metrics` (Prometheus text format); rejects naming the flag when the port is taken. */
export function serveMetrics(registry: Registry, endpoint: MetricsEndpoint): Promise<http.Server> {
  const host = endpoint.host ?? '127.0.0.1';
  const srv = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(`metrics failed: ${err.message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    srv.once('error', (err) => reject(new Error(`metrics on ${host}:${endpoint.port}: ${err.message}`)));
    srv.listen(endpoint.port, host, () => resolve(srv));
  });
}
