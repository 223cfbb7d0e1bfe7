import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { SessionStatus } from './engine.js';
import { registerBfdMetrics } from './metrics.js';
import { pair } from './pair.test-support.js';
import { showBfdEntry } from './show.js';

function statusAfterFlap(): SessionStatus {
  const p = pair();
  p.clock.advance(1_000_000); // a clock that reads as a real date
  p.start();
  p.runUntil(() => p.a.fsm.stateName === 'Up' && p.b.fsm.stateName === 'Up', 5000);
  p.clock.advance(1000);
  p.cut();
  p.clock.advance(1000);
  p.restore();
  p.runUntil(() => p.a.fsm.stateName === 'Up', 5000);
  p.clock.advance(2000);
  return {
    ...p.a.fsm.status(),
    id: 1,
    name: 'bird4',
    peer: '198.18.0.2',
    local: '198.18.0.1',
    multihop: false,
    configured: { minTxMs: 100, minRxMs: 100, multiplier: 3, passive: false, auth: null },
    adminDown: false,
    discarded: { BFD_AUTH_FAILED: 2 },
    transportError: null,
  };
}

describe('show bfd and metrics', () => {
  it('showBfdEntry: what bgpctl show bfd prints', () => {
    const s = statusAfterFlap();
    const e = showBfdEntry(s, s.upSince! + 2500);
    expect(e).toMatchObject({
      peer: 'bird4',
      address: '198.18.0.2',
      local_address: '198.18.0.1',
      state: 'Up',
      remote_state: 'Up',
      local_discriminator: 0x0a0a0a0a,
      remote_discriminator: 0x0b0b0b0b,
      tx_interval_ms: 100,
      rx_interval_ms: 100,
      detect_time_ms: 300,
      uptime_seconds: 2.5,
      last_diagnostic: 'Control Detection Time Expired',
      up_transitions: 2,
      flaps: 1,
      packets_discarded: 2,
      last_error: '',
    });
    expect(e.last_down_at).toMatch(/^1970-01-01T00:16:/);
    // Largest gaps since it came Up: the session's own figures, whole ms.
    expect([e.max_tx_gap_ms, e.max_rx_gap_ms]).toEqual([Math.round(s.maxTxGapMs), Math.round(s.maxRxGapMs)]);
    expect(e.max_tx_gap_ms).toBeGreaterThan(0);
  });

  it('registerBfdMetrics: the same on a daemon registry, read from the sessions at each scrape', async () => {
    const registry = new Registry();
    let sessions: SessionStatus[] = [];
    let reads = 0;
    registerBfdMetrics(registry, async () => {
      reads += 1;
      return sessions;
    });
    expect(await registry.metrics()).toContain('# TYPE tabby_bfd_session_state gauge');
    sessions = [statusAfterFlap()];
    reads = 0;
    const text = await registry.metrics();
    expect(reads).toBe(1); // one read serves every metric of a scrape
    const labels = '{peer="bird4",address="198.18.0.2",local="198.18.0.1",multihop="false"}';
    expect(text).toContain(`tabby_bfd_session_state${labels} 3\n`);
    expect(text).toContain(`tabby_bfd_session_up${labels} 1\n`);
    expect(text).toContain(`tabby_bfd_session_flaps_total${labels} 1\n`);
    expect(text).toContain(`tabby_bfd_session_up_transitions_total${labels} 2\n`);
    expect(text).toContain(`tabby_bfd_control_packets_discarded_total${labels} 2\n`);
    expect(text).toContain(`tabby_bfd_detect_time_seconds${labels} 0.3\n`);
    expect(text).toContain('# TYPE tabby_bfd_session_flaps_total counter');
  });
});
