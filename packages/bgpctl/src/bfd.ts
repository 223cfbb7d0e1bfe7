import type { BfdShowEntry } from '@tabby/bgp';
import { fmtTimeframe } from './format.js';

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The outline of a `show bfd` answer: a list of sessions. */
export function bfdAnswerOk(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.every(
      (r) =>
        isObject(r) &&
        typeof r.peer === 'string' &&
        typeof r.state === 'string' &&
        isObject(r) &&
        'local_discriminator' in r,
    )
  );
}

function pad(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) for (const [i, c] of r.entries()) widths[i] = Math.max(widths[i] ?? 0, c.length);
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const ms = (n: number) => (n ? `${n}` : '-');

/** `show bfd`: one line per session (birdc's `show bfd sessions` with discriminators and the BGP side). */
export function formatBfd(rows: BfdShowEntry[]): string {
  if (!rows.length) return 'no BFD sessions (no peer has bfd enabled)';
  const up = rows.filter((r) => r.state === 'Up').length;
  const head = [
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
  ];
  const body = rows.map((r) => [
    r.peer,
    r.address + (r.multihop ? ' (multihop)' : ''),
    r.state,
    r.remote_state,
    `${r.local_discriminator}/${r.remote_discriminator}`,
    `${ms(r.tx_interval_ms)}/${ms(r.rx_interval_ms)}`,
    r.detect_time_ms ? `${r.detect_time_ms} ms` : '-',
    r.uptime_seconds === null ? '-' : fmtTimeframe(r.uptime_seconds),
    String(r.flaps),
    r.last_diagnostic || '-',
    `${r.bgp_state || '-'}${r.bgp_held ? ' (held: BFD Down)' : ''}`,
  ]);
  const errors = rows.filter((r) => r.last_error).map((r) => `${r.peer}: ${r.last_error}`);
  return [`BFD sessions: ${rows.length}, ${up} Up`, pad([head, ...body]), ...errors].join('\n');
}

/** `show bfd PEER`: every field of one session. */
export function formatBfdDetail(r: BfdShowEntry): string {
  const lines: [string, string][] = [
    ['BFD session', `${r.peer}, ${r.address}${r.multihop ? ' multihop (UDP 4784)' : ' single hop (UDP 3784)'}`],
    ['Local address', r.local_address || '(resolving)'],
    [
      'State',
      `${r.state} since ${r.state_since} (${fmtTimeframe(r.state_seconds)}), remote ${r.remote_state}${r.admin_down ? ', admin down' : ''}`,
    ],
    ['Discriminators', `local ${r.local_discriminator}, remote ${r.remote_discriminator}`],
    [
      'Configured',
      `min TX ${r.min_tx_ms} ms, min RX ${r.min_rx_ms} ms, multiplier ${r.multiplier}${r.passive ? ', passive' : ''}${r.auth ? `, ${r.auth}` : ''}`,
    ],
    [
      'Negotiated',
      `TX every ${ms(r.tx_interval_ms)} ms, peer's TX ${ms(r.rx_interval_ms)} ms, detection ${ms(r.detect_time_ms)} ms (peer's multiplier ${r.remote_multiplier || '-'})`,
    ],
    ['Uptime', r.uptime_seconds === null ? 'not Up' : fmtTimeframe(r.uptime_seconds)],
    ['Last down', r.last_down_at ? `${r.last_down_at}: ${r.last_diagnostic}` : 'never'],
    ['Transitions', `${r.up_transitions} to Up, ${r.flaps} flaps`],
    ['Packets', `${r.packets_sent} sent, ${r.packets_received} received, ${r.packets_discarded} discarded`],
    ['Largest gap', `${r.max_tx_gap_ms} ms between packets sent, ${r.max_rx_gap_ms} ms received (since Up)`],
    ['BGP session', `${r.bgp_state || '-'}${r.bgp_held ? ': held until BFD is Up (it went Down)' : ''}`],
  ];
  if (r.last_error) lines.push(['Last error', r.last_error]);
  const w = Math.max(...lines.map(([k]) => k.length));
  return lines.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}
