import { STATE_NAMES } from './constants.js';
import type { SessionStatus } from './engine.js';

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/**
 * Prometheus text for BFD sessions (append to a daemon's /metrics): state, transitions into Up,
 * flaps (changes out of Up), packets sent and received, discards, negotiated detection time.
 */
export function renderBfdMetrics(sessions: readonly SessionStatus[]): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, value: (s: SessionStatus) => number) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of sessions) {
      const labels = `peer="${esc(s.name)}",address="${esc(s.peer)}",local="${esc(s.local ?? '')}",multihop="${s.multihop}"`;
      lines.push(`${name}{${labels}} ${value(s)}`);
    }
  };
  metric('bfd_session_state', 'gauge', 'BFD session state: 0 AdminDown, 1 Down, 2 Init, 3 Up.', (s) =>
    STATE_NAMES.indexOf(s.state),
  );
  metric('bfd_session_up_transitions_total', 'counter', 'Times the session came Up.', (s) => s.upTransitions);
  metric('bfd_session_flaps_total', 'counter', 'Times the session left Up.', (s) => s.flaps);
  metric('bfd_control_packets_sent_total', 'counter', 'BFD Control packets sent.', (s) => s.packetsSent);
  metric('bfd_control_packets_received_total', 'counter', 'BFD Control packets accepted.', (s) => s.packetsReceived);
  metric('bfd_control_packets_discarded_total', 'counter', 'Packets matched to the session but discarded.', (s) =>
    Object.values(s.discarded).reduce((a, b) => a + b, 0),
  );
  metric(
    'bfd_detect_time_seconds',
    'gauge',
    'Negotiated detection time (0 until the peer is heard).',
    (s) => s.detectTimeMs / 1000,
  );
  return `${lines.join('\n')}\n`;
}
