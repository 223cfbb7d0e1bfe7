import { describe, expect, it } from 'vitest';
import { daemonRegistry, registerSpeakerMetrics } from './metrics.js';
import type { Speaker } from './speaker.js';

/** A speaker as the collectors read it: one peer in `state`, its counters, an empty RIB. */
function fakeSpeaker(state: string, establishedTransitions: number): Speaker {
  const counters = { open: 1, update: 2, notification: 0, keepalive: 3, route_refresh: 0, total: 6 };
  const peer = {
    config: { name: 'p', address: '198.18.0.2' },
    state,
    establishedTransitions,
    advertisedCount: 4,
    source: 1,
    counters: () => ({ sent: counters, received: counters }),
  };
  return {
    peers: new Map([['p', peer]]),
    rib: { routeCount: () => 7, size: 7, paths: 8 },
    attrs: { size: 2 },
    backlog: { selection: 0, export: 0 },
    bfd: { sessions: async () => [] },
  } as unknown as Speaker;
}

describe('speaker metrics', () => {
  it('two daemons in one process keep their own registries and values', async () => {
    const a = daemonRegistry();
    const b = daemonRegistry();
    registerSpeakerMetrics(a, () => fakeSpeaker('Established', 3));
    registerSpeakerMetrics(b, () => fakeSpeaker('Active', 1));
    const [ta, tb] = [await a.metrics(), await b.metrics()];
    const labels = '{peer="p",address="198.18.0.2"}';
    expect(ta).toContain(`tabby_bgp_peer_up${labels} 1\n`);
    expect(ta).toContain(`tabby_bgp_peer_state${labels} 5\n`);
    expect(ta).toContain(`tabby_bgp_peer_flaps_total${labels} 2\n`); // 3 times up, up now
    expect(tb).toContain(`tabby_bgp_peer_up${labels} 0\n`);
    expect(tb).toContain(`tabby_bgp_peer_flaps_total${labels} 1\n`);
    expect(ta).toContain(`tabby_bgp_peer_routes_received${labels} 7\n`);
    expect(ta).toContain(`tabby_bgp_peer_routes_advertised${labels} 4\n`);
    expect(ta).toContain('tabby_bgp_peer_messages_sent_total{peer="p",address="198.18.0.2",type="keepalive"} 3\n');
    expect(ta).toContain('# TYPE process_cpu_seconds_total counter');
    expect(tb).toContain('# TYPE process_cpu_seconds_total counter');
  });

  it('before the speaker exists: the families, no sessions', async () => {
    const r = daemonRegistry();
    registerSpeakerMetrics(r, () => null);
    const text = await r.metrics();
    expect(text).toContain('# TYPE tabby_bgp_peer_state gauge');
    expect(text).toContain('tabby_bgp_loc_rib_prefixes 0\n');
    expect(text).not.toMatch(/^tabby_bgp_peer_state\{/m);
  });
});
