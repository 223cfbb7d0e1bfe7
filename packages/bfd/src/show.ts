import { diagName, type StateName } from './constants.js';
import type { SessionStatus } from './engine.js';

/**
 * One row of `bgpctl show bfd`, in the control socket's style: snake_case keys, times as ISO 8601
 * plus seconds for durations. The control server can answer `show bfd` with
 * `(await bfd.sessions()).map((s) => showBfdEntry(s))`.
 */
export interface ShowBfdEntry {
  /** The session's name (the BGP peer's name). */
  peer: string;
  address: string;
  local_address: string;
  multihop: boolean;
  state: StateName;
  remote_state: StateName;
  local_discriminator: number;
  remote_discriminator: number;
  /** Negotiated: our transmit interval, the peer's, and the detection time. */
  tx_interval_ms: number;
  rx_interval_ms: number;
  detect_time_ms: number;
  remote_multiplier: number;
  min_tx_ms: number;
  min_rx_ms: number;
  multiplier: number;
  passive: boolean;
  /** `keyed-sha1`, ... or empty. */
  auth: string;
  admin_down: boolean;
  state_since: string;
  state_seconds: number;
  /** Seconds Up, null when not Up. */
  uptime_seconds: number | null;
  /** RFC 5880 name of the diagnostic of the last time the session went Down, or empty. */
  last_diagnostic: string;
  last_down_at: string | null;
  up_transitions: number;
  flaps: number;
  packets_sent: number;
  packets_received: number;
  packets_discarded: number;
  /** Largest gap between two packets sent, and received, since the session last came Up (ms). */
  max_tx_gap_ms: number;
  max_rx_gap_ms: number;
  /** Socket problem (bind failed, no route, send failed), or empty. */
  last_error: string;
}

const secs = (ms: number) => Math.max(0, Math.round(ms / 100) / 10);

export function showBfdEntry(s: SessionStatus, now = Date.now()): ShowBfdEntry {
  return {
    peer: s.name,
    address: s.peer,
    local_address: s.local ?? '',
    multihop: s.multihop,
    state: s.state,
    remote_state: s.remoteState,
    local_discriminator: s.localDiscriminator,
    remote_discriminator: s.remoteDiscriminator,
    tx_interval_ms: s.txIntervalMs,
    rx_interval_ms: s.rxIntervalMs,
    detect_time_ms: s.detectTimeMs,
    remote_multiplier: s.remoteMultiplier,
    min_tx_ms: s.configured.minTxMs,
    min_rx_ms: s.configured.minRxMs,
    multiplier: s.configured.multiplier,
    passive: s.configured.passive,
    auth: s.configured.auth ?? '',
    admin_down: s.adminDown,
    state_since: new Date(s.lastChangeAt).toISOString(),
    state_seconds: secs(now - s.lastChangeAt),
    uptime_seconds: s.upSince === null ? null : secs(now - s.upSince),
    last_diagnostic: s.lastDownDiag === null ? '' : diagName(s.lastDownDiag),
    last_down_at: s.lastDownAt === null ? null : new Date(s.lastDownAt).toISOString(),
    up_transitions: s.upTransitions,
    flaps: s.flaps,
    packets_sent: s.packetsSent,
    packets_received: s.packetsReceived,
    packets_discarded: Object.values(s.discarded).reduce((a, b) => a + b, 0),
    max_tx_gap_ms: Math.round(s.maxTxGapMs),
    max_rx_gap_ms: Math.round(s.maxRxGapMs),
    last_error: s.transportError ?? '',
  };
}
