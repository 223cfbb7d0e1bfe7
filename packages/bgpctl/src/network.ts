import type { NetworkChangeResult, NetworkShowResult } from '@tabby/bgp';

export const NETWORK_OPS = ['add', 'delete', 'flush', 'show'] as const;
export type NetworkOp = (typeof NETWORK_OPS)[number];

export const NETWORK_HELP = `Announce or withdraw prefixes at run time, without editing the config (as OpenBGPD's
bgpctl network). Runtime networks are not persisted: a restart of the speaker loses them; a
reload keeps them. Networks of the config file (originate) are changed there, not here.

  network add PREFIX [COMMUNITY ...]   announce PREFIX (again: replace its communities)
  network delete PREFIX                withdraw a prefix added with network add
  network flush                        withdraw every prefix added with network add
  network show                         every announced network and where it comes from

COMMUNITY is aa:nn (each 0..65535), a:b:c (a large community, each 0..4294967295) or a
well-known name: no-export, no-advertise, no-export-subconfed, no-peer, blackhole,
graceful-shutdown. A speaker holds at most 10000 runtime networks.`;

/** A usage mistake in the words after `network`. */
export class NetworkUsageError extends Error {}

/** What `network OP WORDS` asks the speaker: a command and its arguments. */
export function networkRequest(op: NetworkOp, words: string[]): { command: string; args: Record<string, unknown> } {
  const [prefix, ...rest] = words;
  switch (op) {
    case 'add':
      if (!prefix) throw new NetworkUsageError('network add needs a prefix: network add PREFIX [COMMUNITY ...]');
      return { command: 'network add', args: { prefix, communities: rest } };
    case 'delete':
      if (!prefix) throw new NetworkUsageError('network delete needs a prefix: network delete PREFIX');
      if (rest.length) throw new NetworkUsageError(`unexpected "${rest[0]}": network delete takes one prefix`);
      return { command: 'network delete', args: { prefix } };
    default:
      if (prefix) throw new NetworkUsageError(`unexpected "${prefix}": network ${op} takes no more words`);
      return { command: `network ${op}`, args: {} };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks the outline of the answer to `network OP`. */
export function networkAnswerOk(op: NetworkOp, v: unknown): boolean {
  if (!isObject(v)) return false;
  if (op === 'show')
    return Array.isArray(v.networks) && v.networks.every((n) => isObject(n) && Array.isArray(n.communities));
  if (op === 'flush') return Array.isArray(v.withdrawn);
  return typeof v.prefix === 'string' && typeof v.action === 'string';
}

/** The answer as text. */
export function formatNetwork(op: NetworkOp, v: unknown): string {
  if (op === 'show') return formatNetworks(v as NetworkShowResult);
  if (op === 'flush') {
    const w = (v as { withdrawn: string[] }).withdrawn;
    return w.length ? `withdrawn: ${w.join(', ')}` : 'no runtime networks to withdraw';
  }
  const r = v as NetworkChangeResult;
  return `${r.prefix} ${r.action} (${r.runtime} runtime network${r.runtime === 1 ? '' : 's'})`;
}

export function formatNetworks(r: NetworkShowResult): string {
  const tail = `${r.runtime} runtime network${r.runtime === 1 ? '' : 's'} (at most ${r.runtime_limit}; not persisted: lost when the speaker restarts)`;
  if (!r.networks.length) return `no networks announced\n${tail}`;
  const rows = [
    ['Prefix', 'Origin', 'Communities'],
    ...r.networks.map((n) => [
      n.prefix,
      n.origin,
      [...n.communities, ...n.large_communities, ...(n.blackhole ? ['(blackhole)'] : [])].join(' '),
    ]),
  ];
  const w0 = Math.max(...rows.map((x) => x[0]!.length));
  const w1 = Math.max(...rows.map((x) => x[1]!.length));
  const lines = rows.map(([p, o, c]) => `${p!.padEnd(w0)}  ${o!.padEnd(w1)}  ${c}`.trimEnd());
  return [...lines, tail].join('\n');
}
