import http from 'node:http';
import { SessionStates } from './control/api.js';
import type { Speaker } from './speaker.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Prometheus text exposition of a speaker's state. */
export function renderMetrics(speaker: Speaker): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, rows: [Record<string, string>, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) {
      const l = Object.entries(labels)
        .map(([k, x]) => `${k}="${esc(x)}"`)
        .join(',');
      lines.push(`${name}${l ? `{${l}}` : ''} ${v}`);
    }
  };
  const peers = [...speaker.peers.values()];
  const lbl = (p: (typeof peers)[number]) => ({ peer: p.config.name, address: p.config.address });
  metric(
    'bgp_peer_state',
    'gauge',
    'Session state: 0 Idle, 1 Connect, 2 Active, 3 OpenSent, 4 OpenConfirm, 5 Established.',
    peers.map((p) => [lbl(p), SessionStates.indexOf(p.state)]),
  );
  metric(
    'bgp_messages_received_total',
    'counter',
    'BGP messages received from the peer.',
    peers.map((p) => [lbl(p), p.counters().received.total]),
  );
  metric(
    'bgp_messages_sent_total',
    'counter',
    'BGP messages sent to the peer.',
    peers.map((p) => [lbl(p), p.counters().sent.total]),
  );
  metric(
    'bgp_routes_received',
    'gauge',
    'Routes in the Adj-RIB-In of the peer.',
    peers.map((p) => [lbl(p), speaker.rib.routeCount(p.source)]),
  );
  metric(
    'bgp_routes_advertised',
    'gauge',
    'Routes in the Adj-RIB-Out towards the peer.',
    peers.map((p) => [lbl(p), p.advertisedCount]),
  );
  metric(
    'bgp_established_transitions_total',
    'counter',
    'Times the session reached Established.',
    peers.map((p) => [lbl(p), p.establishedTransitions]),
  );
  metric('bgp_loc_rib_prefixes', 'gauge', 'Prefixes in the Loc-RIB.', [[{}, speaker.rib.size]]);
  metric('bgp_loc_rib_paths', 'gauge', 'Paths in the Loc-RIB.', [[{}, speaker.rib.paths]]);
  metric('bgp_attribute_sets', 'gauge', 'Distinct interned attribute sets.', [[{}, speaker.attrs.size]]);
  return `${lines.join('\n')}\n`;
}

/** Serves `/metrics` on `port` (opt-in). */
export function serveMetrics(speaker: Speaker, port: number, host = '127.0.0.1'): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found: try /metrics\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(speaker));
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => resolve(srv));
  });
}
