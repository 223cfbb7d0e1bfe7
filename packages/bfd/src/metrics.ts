import { Counter, Gauge, type Registry } from 'prom-client';
import { STATE_NAMES } from './constants.js';
import type { SessionStatus } from './engine.js';

/** Where BFD metrics come from at each scrape: the sessions now (e.g. `BfdService.sessions()`), or none. */
export type BfdSessionSource = () => readonly SessionStatus[] | Promise<readonly SessionStatus[]>;

/**
 * BFD's collectors on a daemon's registry (labels `peer`, `address`, `local`, `multihop`): state,
 * transitions into Up, flaps, Control packets sent, received and discarded, detection time. Read
 * from `sessions` at each scrape, so a daemon registers once, before its BFD service starts.
 */
export function registerBfdMetrics(registry: Registry, sessions: BfdSessionSource): void {
  // One read per scrape, shared by every metric: a scrape starts every collector in one tick.
  let current: Promise<readonly SessionStatus[]> | undefined;
  const read = () => {
    if (!current) {
      current = Promise.resolve()
        .then(sessions)
        .catch(() => []);
      queueMicrotask(() => {
        current = undefined;
      });
    }
    return current;
  };
  const labels = (s: SessionStatus) => ({
    peer: s.name,
    address: s.peer,
    local: s.local ?? '',
    multihop: String(s.multihop),
  });
  const define = (kind: 'gauge' | 'counter', name: string, help: string, value: (s: SessionStatus) => number) => {
    const Type = kind === 'gauge' ? Gauge : Counter;
    new Type({
      name,
      help,
      labelNames: ['peer', 'address', 'local', 'multihop'],
      registers: [registry],
      async collect() {
        const list = await read();
        this.reset();
        for (const s of list) {
          if (this instanceof Gauge) this.set(labels(s), value(s));
          else this.inc(labels(s), value(s));
        }
      },
    });
  };
  define('gauge', 'tabby_bfd_session_state', 'BFD session state: 0 AdminDown, 1 Down, 2 Init, 3 Up.', (s) =>
    STATE_NAMES.indexOf(s.state),
  );
  define('gauge', 'tabby_bfd_session_up', '1 while the BFD session is Up, else 0.', (s) => (s.state === 'Up' ? 1 : 0));
  define('counter', 'tabby_bfd_session_up_transitions_total', 'Times the session came Up.', (s) => s.upTransitions);
  define('counter', 'tabby_bfd_session_flaps_total', 'Times the session left Up.', (s) => s.flaps);
  define('counter', 'tabby_bfd_control_packets_sent_total', 'BFD Control packets sent.', (s) => s.packetsSent);
  define(
    'counter',
    'tabby_bfd_control_packets_received_total',
    'BFD Control packets accepted.',
    (s) => s.packetsReceived,
  );
  define('counter', 'tabby_bfd_control_packets_discarded_total', 'Packets matched to the session but discarded.', (s) =>
    Object.values(s.discarded).reduce((a, b) => a + b, 0),
  );
  define(
    'gauge',
    'tabby_bfd_detect_time_seconds',
    'Negotiated detection time (0 until the peer is heard).',
    (s) => s.detectTimeMs / 1000,
  );
}
