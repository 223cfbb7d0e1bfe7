import type {
  BfdShowEntry,
  FibRoute,
  NeighborDetail,
  ReloadResult,
  RibResult,
  StatusResult,
  SummaryResult,
} from '@tabby/bgp';
import yargs from 'yargs';
import { bfdAnswerOk, formatBfd, formatBfdDetail } from './bfd.js';
import { ControlClient, ControlClientError, DEFAULT_TIMEOUT_MS } from './client.js';
import {
  formatFib,
  formatNeighbor,
  formatNodeStatus,
  formatRib,
  formatStatus,
  formatSummary,
  type NodeStatusResult,
} from './format.js';
import {
  formatNetwork,
  NETWORK_HELP,
  NETWORK_OPS,
  type NetworkOp,
  networkAnswerOk,
  networkRequest,
} from './network.js';

export const DEFAULT_SOCKET = '/run/tabby/bgpd.sock';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

const stdio: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
};

class UsageError extends Error {}

/** The speaker answered something that is not the result of the command (a bug or another program). */
class AnswerError extends Error {}

/** Most routes one `show rib` may ask for (the speaker's limit too). */
const MAX_LIMIT = 1_000_000;
/** Peers `reload` names per kind of change; the rest are counted (`--json` has every name). */
const RELOAD_NAMES = 10;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Checks the outline of an answer before it is printed; `what` names the command for the error. */
function expectShape<T>(v: unknown, what: string, ok: (v: unknown) => boolean): T {
  if (!ok(v)) throw new AnswerError(`unexpected answer from the speaker to "${what}"`);
  return v as T;
}

const SHAPES = {
  summary: (v: unknown) =>
    isObject(v) && typeof v.router_id === 'string' && Array.isArray(v.peers) && v.peers.every(isObject),
  neighbor: (v: unknown) => isObject(v) && typeof v.name === 'string' && isObject(v.messages) && isObject(v.updates),
  rib: (v: unknown) =>
    isObject(v) && typeof v.table === 'string' && Array.isArray(v.routes) && v.routes.every(isObject),
  fib: (v: unknown) => Array.isArray(v) && v.every((r) => isObject(r) && Array.isArray(r.next_hops)),
  status: (v: unknown) => isObject(v) && typeof v.version === 'string' && isObject(v.graceful_restart),
  peerOp: (v: unknown) => isObject(v) && typeof v.peer === 'string' && typeof v.state === 'string',
  reload: (v: unknown) =>
    isObject(v) &&
    ['peers_added', 'peers_removed', 'peers_reset', 'peers_changed', 'peers_unchanged'].every((k) =>
      Array.isArray(v[k]),
    ),
  nodeStatus: (v: unknown) =>
    isObject(v) && typeof v.node === 'string' && Array.isArray(v.peers) && v.peers.every(isObject),
};

/** No words after a command that takes none. */
function noWords(command: string, words: string[]): void {
  if (words.length) throw new UsageError(`unexpected "${words[0]}": bgpctl ${command} takes no more words`);
}

/** Parses `show rib` words: `[PREFIX] [detail] [in PEER | out PEER]`. */
export function parseRibWords(words: string[]): {
  prefix?: string;
  detail: boolean;
  table: 'loc' | 'in' | 'out';
  peer?: string;
} {
  const out: ReturnType<typeof parseRibWords> = { detail: false, table: 'loc' };
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === 'detail') out.detail = true;
    else if (w === 'in' || w === 'out') {
      const peer = words[++i];
      if (!peer) throw new UsageError(`"${w}" needs a peer name or address: show rib ${w} PEER`);
      out.table = w;
      out.peer = peer;
    } else if (!out.prefix && /^[0-9a-fA-F:.]+(\/\d+)?$/.test(w)) out.prefix = w;
    else throw new UsageError(`unexpected "${w}": show rib [PREFIX] [detail] [in PEER | out PEER]`);
  }
  return out;
}

/** Runs bgpctl with `argv` and resolves with the exit code. */
export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let code = 0;
  let action: ((c: ControlClient, json: boolean) => Promise<void>) | undefined;
  let socket = DEFAULT_SOCKET;
  let json = false;

  let timeoutMs = DEFAULT_TIMEOUT_MS;

  /** Prints the answer as JSON, or as text made by `text` (a malformed answer is an error, not a crash). */
  const print = (obj: unknown, text: () => string) => {
    let out: string;
    try {
      out = json ? JSON.stringify(obj, null, 2) : text();
    } catch {
      throw new AnswerError('unexpected answer from the speaker: it cannot be printed');
    }
    io.stdout(`${out}\n`);
  };

  const parser = yargs(argv)
    .scriptName('bgpctl')
    .usage(
      '$0 [-s SOCKET] [--json] [--timeout SECONDS] <command>\n\nInspect and control a running Tabby speaker (tabby bgpd, tabby node, tabby rr)\nthrough its control socket. Exit 0 with the answer on stdout, or 1 with one line on stderr.',
    )
    .option('socket', {
      alias: 's',
      type: 'string',
      default: process.env.TABBY_BGPD_SOCKET ?? DEFAULT_SOCKET,
      describe: 'control socket path (env TABBY_BGPD_SOCKET)',
    })
    .option('json', { alias: 'j', type: 'boolean', default: false, describe: 'print JSON (stable snake_case keys)' })
    .option('timeout', {
      alias: 't',
      type: 'string',
      describe: `seconds to wait for the speaker to connect and to answer (default ${DEFAULT_TIMEOUT_MS / 1000})`,
    })
    .command(
      'show <what> [words..]',
      'show summary | neighbor [PEER] | rib [PREFIX] [detail] [in|out PEER] | fib | status | bfd [PEER]',
      (y) =>
        y
          .positional('what', { choices: ['summary', 'neighbor', 'rib', 'fib', 'status', 'bfd'] as const })
          .positional('words', { type: 'string', array: true })
          .option('limit', {
            type: 'string',
            describe: `show rib: at most this many routes (1 to ${MAX_LIMIT}; default 10000)`,
          })
          .example('$0 show summary', 'one line per peer: state, messages, prefixes')
          .example('$0 show neighbor tor1', 'capabilities, timers, counters, last errors')
          .example('$0 show rib 198.18.64.0/26 detail', 'every path for one prefix, with attributes')
          .example('$0 show rib in Mesh_198_18_0_2', 'what one peer sent us, as received (rejected routes too)')
          .example('$0 show bfd', 'BFD sessions: state, discriminators, negotiated timers, last diagnostic')
          .example('$0 -j show summary | jq', 'the same data as JSON'),
      (a) => {
        const words = (a.words ?? []).map(String);
        if (a.what !== 'rib' && a.limit !== undefined)
          throw new UsageError(`--limit is for show rib, not show ${a.what}`);
        switch (a.what) {
          case 'summary':
            noWords('show summary', words);
            action = async (c) => {
              const r = expectShape<SummaryResult>(await c.request('show summary'), 'show summary', SHAPES.summary);
              print(r, () => formatSummary(r));
            };
            break;
          case 'neighbor': {
            const [peer, ...extra] = words;
            noWords('show neighbor PEER', extra);
            action = async (c) => {
              if (peer) {
                // One peer: its object (not a one-element list).
                const r = await c.request('show neighbor', { peer });
                const n = expectShape<NeighborDetail>(r, 'show neighbor', SHAPES.neighbor);
                print(n, () => formatNeighbor(n));
                return;
              }
              const r = await c.request('show neighbor');
              const all = expectShape<NeighborDetail[]>(
                r,
                'show neighbor',
                (v) => Array.isArray(v) && v.every(SHAPES.neighbor),
              );
              print(all, () => all.map(formatNeighbor).join('\n\n') || 'no neighbors configured');
            };
            break;
          }
          case 'rib': {
            const q = parseRibWords(words);
            const limit = Number(a.limit ?? 10000);
            if (!/^\d+$/.test(a.limit ?? '10000') || limit < 1 || limit > MAX_LIMIT) {
              throw new UsageError(`--limit must be a whole number from 1 to ${MAX_LIMIT}, not "${a.limit}"`);
            }
            action = async (c) => {
              const r = expectShape<RibResult>(await c.request('show rib', { ...q, limit }), 'show rib', SHAPES.rib);
              print(r, () => formatRib(r, q.detail));
            };
            break;
          }
          case 'fib':
            noWords('show fib', words);
            action = async (c) => {
              const r = expectShape<FibRoute[]>(await c.request('show fib'), 'show fib', SHAPES.fib);
              print(r, () => formatFib(r));
            };
            break;
          case 'status':
            noWords('show status', words);
            action = async (c) => {
              const r = expectShape<StatusResult>(await c.request('show status'), 'show status', SHAPES.status);
              print(r, () => formatStatus(r));
            };
            break;
          case 'bfd': {
            const [peer, ...extra] = words;
            noWords('show bfd PEER', extra);
            action = async (c) => {
              const r = expectShape<BfdShowEntry[]>(
                await c.request('show bfd', peer ? { peer } : {}),
                'show bfd',
                bfdAnswerOk,
              );
              print(r, () => {
                if (!peer) return formatBfd(r);
                return r[0] ? formatBfdDetail(r[0]) : `${peer}: no BFD session (bfd is not enabled for this peer)`;
              });
            };
            break;
          }
        }
      },
    )
    .command(
      'neighbor <peer> <op>',
      'neighbor PEER up | down | clear | refresh',
      (y) =>
        y
          .positional('peer', { type: 'string', describe: 'peer name or address' })
          .positional('op', {
            choices: ['up', 'down', 'clear', 'refresh'] as const,
            describe:
              'up: enable; down: shut down (Cease/Administrative Shutdown); clear: reset the session; refresh: ask the peer to resend its routes',
          })
          .option('message', {
            alias: 'm',
            type: 'string',
            describe: 'shutdown communication (RFC 8203) for down/clear',
          }),
      (a) => {
        if (a.message !== undefined && (a.op === 'up' || a.op === 'refresh')) {
          throw new UsageError(`-m MESSAGE is for neighbor PEER down|clear, not ${a.op}`);
        }
        if (a.message !== undefined && Buffer.byteLength(a.message) > 255) {
          throw new UsageError(`-m MESSAGE is ${Buffer.byteLength(a.message)} bytes; the limit is 255 (RFC 8203)`);
        }
        action = async (c) => {
          const res = await c.request(`neighbor ${a.op}`, {
            peer: a.peer,
            ...(a.message !== undefined ? { message: a.message } : {}),
          });
          const r = expectShape<{ peer: string; state: string }>(res, `neighbor ${a.op}`, SHAPES.peerOp);
          print(r, () => `${r.peer}: ${a.op} requested, state ${r.state}`);
        };
      },
    )
    .command(
      'network <op> [words..]',
      'network add PREFIX [COMMUNITY ...] | delete PREFIX | flush | show: announce at run time (not persisted)',
      (y) =>
        y
          .positional('op', { choices: NETWORK_OPS, describe: 'what to do' })
          .positional('words', { type: 'string', array: true, describe: 'PREFIX, then COMMUNITY ... for add' })
          .example('$0 network add 198.18.70.0/24 64512:70', 'announce with a community')
          .example('$0 network add 2001:db8:70::/48 no-export 1:2:3', 'a well-known and a large one')
          .example('$0 network delete 198.18.70.0/24', 'withdraw it again')
          .example('$0 -j network show', 'every network, its origin and communities')
          .epilogue(NETWORK_HELP),
      (a) => {
        const op = a.op as NetworkOp;
        const { command, args } = networkRequest(op, (a.words ?? []).map(String));
        action = async (c) => {
          const r = expectShape<unknown>(await c.request(command, args), command, (v) => networkAnswerOk(op, v));
          print(r, () => formatNetwork(op, r));
        };
      },
    )
    .command(
      'node <what>',
      "node status: Calico's table of each peer's address, type (mesh, global, node specific, route reflector), state and info",
      (y) => y.positional('what', { choices: ['status'] as const }),
      () => {
        action = async (c) => {
          const res = await c.request('node status').catch((err: Error & { code?: string }) => {
            if (err.code === 'UNKNOWN_COMMAND') {
              throw new UsageError(
                'this speaker is not a node agent (tabby bgpd has no node status): use show summary',
              );
            }
            throw err;
          });
          const r = expectShape<NodeStatusResult>(res, 'node status', SHAPES.nodeStatus);
          print(r, () => formatNodeStatus(r));
        };
      },
    )
    .command(
      'reload',
      'Re-read the speaker config; only peers whose settings changed are reset',
      () => {},
      () => {
        action = async (c) => {
          const r = expectShape<ReloadResult>(await c.request('reload'), 'reload', SHAPES.reload);
          // A reflector may reset thousands of peers at once: name the first few, count the rest.
          const line = (what: string, xs: string[]) =>
            xs.length
              ? `${what} (${xs.length}): ${xs.slice(0, RELOAD_NAMES).join(', ')}${xs.length > RELOAD_NAMES ? `, and ${xs.length - RELOAD_NAMES} more (--json lists them all)` : ''}`
              : '';
          const text = [
            'reload done',
            line('added', r.peers_added),
            line('removed', r.peers_removed),
            line('reset (session-level change)', r.peers_reset),
            line('changed without reset', r.peers_changed),
            `${r.peers_unchanged.length} unchanged`,
            r.policies_changed ? 'policies changed: routes re-evaluated' : '',
          ]
            .filter(Boolean)
            .join('\n');
          print(r, () => text);
        };
      },
    )
    .demandCommand(1, 'Name a command; see bgpctl --help.')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      throw new UsageError(err?.message ?? msg);
    });

  try {
    const args = await parser.parseAsync();
    if (args.help || !action) return 0;
    socket = args.socket;
    json = args.json;
    if (args.timeout !== undefined) {
      const t = Number(args.timeout);
      if (!/^\d+(\.\d+)?$/.test(args.timeout) || t <= 0 || t > 3600) {
        throw new UsageError(`--timeout must be a number of seconds above 0, at most 3600, not "${args.timeout}"`);
      }
      timeoutMs = Math.round(t * 1000);
    }
  } catch (err) {
    io.stderr(`bgpctl: ${(err as Error).message}\nRun 'bgpctl --help' for usage.\n`);
    return 1;
  }
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(socket, timeoutMs);
    await action(client, json);
  } catch (err) {
    if (err instanceof ControlClientError || err instanceof UsageError || err instanceof AnswerError) {
      io.stderr(`bgpctl: ${err.message}\n`);
    } else io.stderr(`bgpctl: unexpected failure: ${(err as Error)?.message ?? String(err)}\n`);
    code = 1;
  } finally {
    client?.close();
  }
  return code;
}
