import type { FibRoute, NeighborDetail, ReloadResult, RibResult, StatusResult, SummaryResult } from '@tabby/bgp';
import yargs from 'yargs';
import { ControlClient, ControlClientError } from './client.js';
import {
  formatFib,
  formatNeighbor,
  formatNodeStatus,
  formatRib,
  formatStatus,
  formatSummary,
  type NodeStatusResult,
} from './format.js';

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

  const print = (obj: unknown, text: string) => io.stdout(json ? `${JSON.stringify(obj, null, 2)}\n` : `${text}\n`);

  const parser = yargs(argv)
    .scriptName('bgpctl')
    .usage(
      '$0 [-s SOCKET] [--json] <command>\n\nInspect and control a running Tabby speaker (tabby bgpd, tabby node, tabby rr)\nthrough its control socket.',
    )
    .option('socket', {
      alias: 's',
      type: 'string',
      default: process.env.TABBY_BGPD_SOCKET ?? DEFAULT_SOCKET,
      describe: 'control socket path (env TABBY_BGPD_SOCKET)',
    })
    .option('json', { alias: 'j', type: 'boolean', default: false, describe: 'print JSON (stable snake_case keys)' })
    .command(
      'show <what> [words..]',
      'show summary | neighbor [PEER] | rib [PREFIX] [detail] [in|out PEER] | fib | status',
      (y) =>
        y
          .positional('what', { choices: ['summary', 'neighbor', 'rib', 'fib', 'status'] as const })
          .positional('words', { type: 'string', array: true })
          .option('limit', { type: 'number', default: 10000, describe: 'show rib: at most this many routes' })
          .example('$0 show summary', 'one line per peer: state, messages, prefixes')
          .example('$0 show neighbor tor1', 'capabilities, timers, counters, last errors')
          .example('$0 show rib 198.18.64.0/26 detail', 'every path for one prefix, with attributes')
          .example('$0 show rib in Mesh_198_18_0_2', 'what one peer sent us (after import policy)')
          .example('$0 -j show summary | jq', 'the same data as JSON'),
      (a) => {
        const words = (a.words ?? []).map(String);
        switch (a.what) {
          case 'summary':
            action = async (c) => {
              const r = await c.request<SummaryResult>('show summary');
              print(r, formatSummary(r));
            };
            break;
          case 'neighbor':
            action = async (c) => {
              const r = await c.request<NeighborDetail[]>('show neighbor', words[0] ? { peer: words[0] } : {});
              print(r, r.map(formatNeighbor).join('\n\n') || 'no neighbors configured');
            };
            break;
          case 'rib': {
            const q = parseRibWords(words);
            action = async (c) => {
              const r = await c.request<RibResult>('show rib', { ...q, limit: a.limit });
              print(r, formatRib(r, q.detail));
            };
            break;
          }
          case 'fib':
            action = async (c) => {
              const r = await c.request<FibRoute[]>('show fib');
              print(r, formatFib(r));
            };
            break;
          case 'status':
            action = async (c) => {
              const r = await c.request<StatusResult>('show status');
              print(r, formatStatus(r));
            };
            break;
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
        action = async (c) => {
          const r = await c.request<{ peer: string; state: string }>(`neighbor ${a.op}`, {
            peer: a.peer,
            ...(a.message ? { message: a.message } : {}),
          });
          print(r, `${r.peer}: ${a.op} requested, state ${r.state}`);
        };
      },
    )
    .command(
      'node <what>',
      "node status: Calico's table of each peer's address, type (mesh, global, node specific, route reflector), state and info",
      (y) => y.positional('what', { choices: ['status'] as const }),
      () => {
        action = async (c) => {
          const r = await c.request<NodeStatusResult>('node status').catch((err: Error & { code?: string }) => {
            if (err.code === 'UNKNOWN_COMMAND') {
              throw new UsageError(
                'this speaker is not a node agent (tabby bgpd has no node status): use show summary',
              );
            }
            throw err;
          });
          print(r, formatNodeStatus(r));
        };
      },
    )
    .command(
      'reload',
      'Re-read the speaker config; only peers whose settings changed are reset',
      () => {},
      () => {
        action = async (c) => {
          const r = await c.request<ReloadResult>('reload');
          const line = (what: string, xs: string[]) => (xs.length ? `${what}: ${xs.join(', ')}` : '');
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
          print(r, text);
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
  } catch (err) {
    io.stderr(`bgpctl: ${(err as Error).message}\nRun 'bgpctl --help' for usage.\n`);
    return 1;
  }
  let client: ControlClient | undefined;
  try {
    client = await ControlClient.connect(socket);
    await action(client, json);
  } catch (err) {
    if (err instanceof ControlClientError) io.stderr(`bgpctl: ${err.message}\n`);
    else if (err instanceof UsageError) io.stderr(`bgpctl: ${err.message}\n`);
    else io.stderr(`bgpctl: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    client?.close();
  }
  return code;
}
