import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadConfigFile } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { ControlServer } from './control/server.js';
import { daemonPrologue } from './daemon-support.js';
import { serveMetrics } from './metrics.js';
import { connectedResolver } from './nexthop.js';
import { Speaker } from './speaker.js';
import { tcpTransport } from './transport.js';

export const BGPD_VERSION = '0.1.0';
export const DEFAULT_CONTROL_SOCKET = '/run/tabby/bgpd.sock';

export const BGPD_HELP = `Usage: tabby bgpd --config FILE [options]

Runs Tabby's BGP speaker from a YAML config file.

Options:
  -c, --config FILE     speaker config (YAML; see docs/bgpd.md)           [required]
      --check           validate the config, print the problems, and exit (0 when valid)
  -s, --socket PATH     control socket for bgpctl (default: the config's controlSocket,
                        else ${DEFAULT_CONTROL_SOCKET})
      --log-level LEVEL trace, debug, info, warn, error (default info; env TABBY_LOG_LEVEL)
  -R, --restarted       this start is a graceful restart (RFC 4724): the kernel routes were kept, so
                        ask peers to keep ours and defer route selection until their End-of-RIB
      --log-pretty      human-readable logs instead of JSON lines
  -h, --help            this text

Signals: SIGHUP re-reads the config (only changed peers are reset); SIGTERM or SIGINT sends
Cease/Administrative Shutdown to every peer and exits.

Examples:
  tabby bgpd --check -c /etc/tabby/bgpd.yaml
  tabby bgpd -c /etc/tabby/bgpd.yaml -s /run/tabby/bgpd.sock
  bgpctl -s /run/tabby/bgpd.sock show summary
`;

/** Runs the `bgpd` daemon; resolves with the exit code once it stops. */
export async function runBgpd(argv: string[]): Promise<number> {
  const start = daemonPrologue('bgpd', argv, parse, BGPD_HELP, loadConfigFile);
  if ('exit' in start) return start.exit;
  const { args, file, config } = start;
  if (args.check) {
    process.stdout.write(
      `${file}: OK (router ID ${config.routerId}, AS ${config.asn}, ${config.peers.length} peers, ${config.policies.size} policies)\n`,
    );
    return 0;
  }
  const level = args['log-level'] ?? process.env.TABBY_LOG_LEVEL ?? 'info';
  const log = pino(
    { level, base: { daemon: 'bgpd' } },
    args['log-pretty'] ? prettyStream() : pino.destination({ dest: 2, sync: false }),
  );
  // Next hops must be on a connected subnet (multihop peers excepted), as BIRD's direct gateway mode.
  let speaker: Speaker | null = null;
  const resolver = connectedResolver(30_000, () => speaker?.revalidate());
  speaker = new Speaker(config, {
    transport: tcpTransport,
    logger: log,
    nextHopReachable: resolver.reachable,
    restarting: args.restarted ?? false,
  });
  const socketPath = args.socket ?? config.controlSocket ?? DEFAULT_CONTROL_SOCKET;
  const handler = new ControlHandler(speaker, {
    version: BGPD_VERSION,
    configFile: file,
    reload: () => loadConfigFile(file),
  });
  const control = new ControlServer(socketPath, handler.handle);
  try {
    mkdirSync(dirname(socketPath), { recursive: true });
    await control.start();
    await speaker.start();
  } catch (err) {
    log.error({ err: (err as Error).message }, 'start-up failed');
    process.stderr.write(`tabby bgpd: ${(err as Error).message}\n`);
    await control.stop().catch(() => {});
    return 1;
  }
  const metrics = config.metricsPort ? await serveMetrics(speaker, config.metricsPort) : null;
  log.info({ config: file, socket: socketPath, routerId: config.routerId, asn: config.asn }, 'bgpd started');
  return new Promise<number>((resolve) => {
    const stop = async (signal: string) => {
      log.info({ signal }, 'shutting down');
      await speaker?.stop();
      resolver.stop();
      await control.stop();
      metrics?.close();
      // Give the NOTIFICATIONs a moment to leave before the process goes.
      setTimeout(() => resolve(0), 200);
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => {
      try {
        const r = speaker?.reload(loadConfigFile(file));
        log.info({ ...r }, 'config reloaded');
      } catch (err) {
        log.error({ err: (err as Error).message }, 'config not reloaded; the running one stays');
      }
    });
  });
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      check: { type: 'boolean' },
      socket: { type: 'string', short: 's' },
      'log-level': { type: 'string' },
      'log-pretty': { type: 'boolean' },
      restarted: { type: 'boolean', short: 'R' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/** A minimal human-readable log stream (no pino-pretty dependency). */
function prettyStream(): { write(s: string): void } {
  return {
    write(line: string) {
      try {
        const { time, level, msg, daemon: _d, pid: _p, hostname: _h, ...rest } = JSON.parse(line);
        const names: Record<number, string> = {
          10: 'TRACE',
          20: 'DEBUG',
          30: 'INFO',
          40: 'WARN',
          50: 'ERROR',
          60: 'FATAL',
        };
        const extra = Object.entries(rest)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        process.stderr.write(`${new Date(time).toISOString()} ${names[level] ?? level} ${msg ?? ''} ${extra}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
}
