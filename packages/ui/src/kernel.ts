import { execFile } from 'node:child_process';
import { longestMatch, type RouteDecision } from './trace.js';

/** `ip` against a network namespace (`ip -n NS ...`), or the current one (`null`). */
function ipArgv(netns: string | null, args: string[]): string[] {
  return netns ? ['-n', netns, ...args] : args;
}

/** Runs `ip`; resolves with its output, or with the error's first line. */
function ip(netns: string | null, args: string[]): Promise<{ ok: boolean; out: string; command: string }> {
  const argv = ipArgv(netns, args);
  const command = `ip ${argv.join(' ')}`;
  return new Promise((resolve) => {
    execFile('ip', argv, { timeout: 3000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) resolve({ ok: false, out: (stderr || err.message).trim().split('\n')[0] ?? '', command });
      else resolve({ ok: true, out: stdout, command });
    });
  });
}

/** A namespace's main table, one line per route as `ip route` prints it (IPv4, then IPv6 if `v6`). */
export async function kernelRoutes(netns: string | null, v6 = false): Promise<string[]> {
  const lines: string[] = [];
  for (const family of v6 ? ['-4', '-6'] : ['-4']) {
    const r = await ip(netns, [family, 'route', 'show']);
    if (!r.ok) throw new Error(`${r.command}: ${r.out}`);
    for (const l of r.out.split('\n')) if (l.trim() && !l.startsWith('fe80::')) lines.push(l.trim());
  }
  return lines;
}

/**
 * What the kernel does with a packet for `dst` (`ip -j route get`), sent from this namespace or,
 * with `iif`, arriving from `src` on that interface; with the table entry that matched.
 */
export async function kernelRouteGet(
  netns: string | null,
  dst: string,
  opts: { src?: string; iif?: string } = {},
): Promise<RouteDecision> {
  const args = ['-j', 'route', 'get', dst];
  if (opts.iif) args.push('from', opts.src ?? '0.0.0.0', 'iif', opts.iif);
  const r = await ip(netns, args);
  const from = r.command.replace(' -j ', ' ');
  if (!r.ok) return { type: 'error', from, error: r.out };
  const got = (JSON.parse(r.out || '[]') as { type?: string; dev?: string; gateway?: string }[])[0];
  if (!got) return { type: 'error', from, error: 'no answer' };
  const decision: RouteDecision = {
    type: got.type ?? 'unicast',
    from,
    ...(got.dev ? { dev: got.dev } : {}),
    ...(got.gateway ? { gateway: got.gateway } : {}),
  };
  const match = await ip(netns, [dst.includes(':') ? '-6' : '-4', 'route', 'show', 'match', dst]);
  if (match.ok) {
    const lines = match.out
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => ({ dst: l.split(' ')[0]!, line: l.trim() }));
    const best = longestMatch(lines, dst);
    if (best) decision.route = best.line;
  }
  return decision;
}
