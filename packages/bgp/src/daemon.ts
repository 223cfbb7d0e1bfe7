import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.js';
import { ControlHandler } from './control/handler.js';
import { daemonLogger, daemonPrologue, serveDaemon } from './daemon-support.js';
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
      --metrics-port PORT
                        serve Prometheus /metrics on PORT (default: the config's metricsPort,
                        else off; the metrics are listed in docs/operations.md)
      --metrics-address ADDR
                        the address /metrics listens on (default 127.0.0.1)
  -h, --help            this text

Signals: SIGHUP re-reads the config (only changed peers are reset); SIGTERM or SIGINT sends
Cease/Administrative Shutdown to every peer and exits.

Examples:
  tabby bgpd --check -c /etc/tabby/bgpd.yaml
  tabby bgpd -c /etc/tabby/bgpd.yaml -s /run/tabby/bgpd.sock
  bgpctl -s /run/tabby/bgpd.sock show summary
  tabby bgpd -c /etc/tabby/bgpd.yaml --metrics-port 9473     # then: curl -s 127.0.0.1:9473/metrics
`;

/** Runs the `bgpd` daemon; resolves with the exit code once it stops. */
export async function runBgpd(argv: string[]): Promise<number> {
  const start = daemonPrologue('bgpd', argv, parse, BGPD_HELP, loadConfigFile);
  if ('exit' in start) return start.exit;
  const { args, file, config, endpoint } = start;
  if (args.check) {
    process.stdout.write(
      `${file}: OK (router ID ${config.routerId}, AS ${config.asn}, ${config.peers.length} peers, ${config.policies.size} policies)\n`,
    );
    return 0;
  }
  const log = daemonLogger('bgpd', args['log-level'], args['log-pretty']);
  // Next hops must be on a connected subnet (multihop peers excepted), as BIRD's direct gateway mode.
  let interfacesChanged = () => {};
  const resolver = connectedResolver(30_000, () => interfacesChanged());
  const sp = new Speaker(config, {
    transport: tcpTransport,
    logger: log,
    nextHopReachable: resolver.reachable,
    restarting: args.restarted ?? false,
  });
  interfacesChanged = () => sp.revalidate();
  return serveDaemon({
    name: 'bgpd',
    log,
    socketPath: args.socket ?? config.controlSocket ?? DEFAULT_CONTROL_SOCKET,
    handler: new ControlHandler(sp, { version: BGPD_VERSION, configFile: file, reload: () => loadConfigFile(file) }),
    metrics: endpoint && {
      endpoint,
      registry: async () => {
        const { daemonRegistry, registerSpeakerMetrics } = await import('./metrics.js');
        const registry = daemonRegistry();
        registerSpeakerMetrics(registry, () => sp);
        return registry;
      },
    },
    start: () => sp.start(),
    stop: async () => {
      await sp.stop();
      resolver.stop();
    },
    reload: () => sp.reload(loadConfigFile(file)),
    started: { config: file, routerId: config.routerId, asn: config.asn },
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
      'metrics-port': { type: 'string' },
      'metrics-address': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}
