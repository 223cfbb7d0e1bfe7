import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BfdShowEntry, ControlError, ControlServer } from '@tabby/bgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatBfd, formatBfdDetail } from './bfd.js';
import { main } from './index.js';

const row: BfdShowEntry = {
  peer: 'tor1',
  address: '198.18.0.2',
  local_address: '198.18.0.1',
  multihop: false,
  state: 'Up',
  remote_state: 'Up',
  local_discriminator: 1,
  remote_discriminator: 3_000_000_007,
  tx_interval_ms: 100,
  rx_interval_ms: 150,
  detect_time_ms: 450,
  remote_multiplier: 3,
  min_tx_ms: 100,
  min_rx_ms: 150,
  multiplier: 3,
  passive: false,
  auth: '',
  admin_down: false,
  state_since: '2026-12-05T05:00:00.000Z',
  state_seconds: 65,
  uptime_seconds: 65,
  last_diagnostic: 'Control Detection Time Expired',
  last_down_at: '2026-12-05T04:59:58.000Z',
  up_transitions: 2,
  flaps: 1,
  packets_sent: 700,
  packets_received: 690,
  packets_discarded: 0,
  max_tx_gap_ms: 118,
  max_rx_gap_ms: 131,
  last_error: '',
  bgp_state: 'Established',
  bgp_held: false,
};
const down: BfdShowEntry = {
  ...row,
  peer: 'tor2',
  address: '198.18.1.2',
  state: 'Down',
  remote_state: 'Down',
  remote_discriminator: 0,
  tx_interval_ms: 0,
  rx_interval_ms: 0,
  detect_time_ms: 0,
  uptime_seconds: null,
  bgp_state: 'Idle',
  bgp_held: true,
  last_error: 'cannot send to 198.18.1.2: ENETUNREACH (send)',
};

describe('bgpctl show bfd', () => {
  it('text: one line per session with discriminators, negotiated timers, last diagnostic and the BGP side', () => {
    const lines = formatBfd([row, down]).split('\n');
    expect(lines[0]).toBe('BFD sessions: 2, 1 Up');
    expect(lines[1]?.split(/\s{2,}/)).toEqual([
      'Peer',
      'Address',
      'State',
      'Remote',
      'LD/RD',
      'TX/RX ms',
      'Detect',
      'Uptime',
      'Flaps',
      'Last diag',
      'BGP',
    ]);
    expect(lines[2]?.split(/\s{2,}/)).toEqual([
      'tor1',
      '198.18.0.2',
      'Up',
      'Up',
      '1/3000000007',
      '100/150',
      '450 ms',
      '00:01:05',
      '1',
      'Control Detection Time Expired',
      'Established',
    ]);
    expect(lines[3]).toMatch(
      /^tor2\s+198\.18\.1\.2\s+Down\s+Down\s+1\/0\s+-\/-\s+-\s+-\s+1\s+Control Detection Time Expired\s+Idle \(held: BFD Down\)$/,
    );
    expect(lines[4]).toBe('tor2: cannot send to 198.18.1.2: ENETUNREACH (send)');
    expect(formatBfd([])).toBe('no BFD sessions (no peer has bfd enabled)');
    const detail = formatBfdDetail(down);
    expect(detail).toContain('BGP session     Idle: held until BFD is Up (it went Down)');
    expect(detail).toContain('Configured      min TX 100 ms, min RX 150 ms, multiplier 3');
    expect(detail).toContain('Largest gap     118 ms between packets sent, 131 ms received (since Up)');
  });

  describe('against a control socket', () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'tabby-bgpctl-bfd-')), 'bgpd.sock');
    const server = new ControlServer(socket, (command, args) => {
      if (command !== 'show bfd') throw new ControlError('UNKNOWN_COMMAND', 'no');
      if (args.peer === 'nobody')
        throw new ControlError('UNKNOWN_PEER', 'no neighbor "nobody" (configured: tor1, tor2)');
      return args.peer === undefined ? [row, down] : [row, down].filter((r) => r.peer === args.peer);
    });
    beforeAll(() => server.start());
    afterAll(() => server.stop());
    const run = async (...argv: string[]) => {
      let out = '';
      let err = '';
      const code = await main(['-s', socket, ...argv], { stdout: (s) => (out += s), stderr: (s) => (err += s) });
      return { code, out, err };
    };

    it('show bfd, show bfd PEER, --json, an unknown peer', async () => {
      const all = await run('show', 'bfd');
      expect(all.code).toBe(0);
      expect(all.out).toContain('BFD sessions: 2, 1 Up');
      const one = await run('show', 'bfd', 'tor1');
      expect(one.out).toContain('Discriminators  local 1, remote 3000000007');
      const json = await run('--json', 'show', 'bfd');
      expect(JSON.parse(json.out)).toEqual([row, down]);
      const bad = await run('show', 'bfd', 'nobody');
      expect([bad.code, bad.err]).toEqual([1, 'bgpctl: no neighbor "nobody" (configured: tor1, tor2)\n']);
      const extra = await run('show', 'bfd', 'tor1', 'x');
      expect(extra.code).toBe(1);
    });
  });
});
