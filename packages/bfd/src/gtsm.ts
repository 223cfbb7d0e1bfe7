import { spawn } from 'node:child_process';
import { SINGLE_HOP_TTL } from './constants.js';
import { BfdServiceError, ServiceErrorCode } from './errors.js';

/** The nftables table the service owns (in the network namespace it runs in). */
export const GTSM_TABLE = 'tabby_bfd';

/**
 * RFC 5881 §5 in the kernel: single-hop BFD Control packets whose TTL / Hop Limit is not 255 are
 * dropped before they reach the socket (Node's dgram cannot read the received TTL). The table is
 * created or replaced whole, so applying it twice is harmless.
 */
export function gtsmRuleset(singleHopPort: number): string {
  return `table inet ${GTSM_TABLE} {}
delete table inet ${GTSM_TABLE}
table inet ${GTSM_TABLE} {
  chain input {
    type filter hook input priority -150; policy accept;
    udp dport ${singleHopPort} ip ttl != ${SINGLE_HOP_TTL} counter drop
    udp dport ${singleHopPort} ip6 hoplimit != ${SINGLE_HOP_TTL} counter drop
  }
}
`;
}

function nft(args: string[], input?: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    let stderr = '';
    const p = spawn('nft', args, { stdio: ['pipe', 'ignore', 'pipe'] });
    p.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    p.on('error', (err) =>
      resolve({
        code: -1,
        stderr: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'nft is not installed' : err.message,
      }),
    );
    p.on('close', (code) => resolve({ code, stderr }));
    p.stdin.on('error', () => {});
    p.stdin.end(input ?? '');
  });
}

/** Installs the GTSM table; throws `BfdServiceError` (BFD_GTSM_FAILED) with nft's first error line. */
export async function installGtsm(singleHopPort: number): Promise<void> {
  const r = await nft(['-f', '-'], gtsmRuleset(singleHopPort));
  if (r.code !== 0) {
    const line = r.stderr.split('\n').find((l) => l.trim()) ?? `exit ${r.code}`;
    throw new BfdServiceError(
      ServiceErrorCode.Gtsm,
      `bfd: cannot install the nftables TTL check (gtsm: nftables): ${line.trim()}`,
    );
  }
}

/** Removes the GTSM table (nothing if it is not there). */
export async function removeGtsm(): Promise<void> {
  await nft(['delete', 'table', 'inet', GTSM_TABLE]);
}
