import { parseArgs } from 'node:util';
import {
  ControlHandler,
  daemonLogger,
  daemonPrologue,
  daemonRegistry,
  registerSpeakerMetrics,
  serveDaemon,
  tcpTransport,
} from '@tabby/bgp';
import { DATASTORE_ENV, openDatastore, registerDatastoreMetrics } from '@tabby/datastore';
import { loadRrConfigFile, type RrConfig } from './config.js';
import { RouteReflector } from './reflector.js';

export const RR_VERSION = '0.1.0';
export const DEFAULT_RR_CONTROL_SOCKET = '/run/tabby/rr.sock';

export const RR_HELP = `Usage: tabby rr --config FILE [options]

Runs a BGP route reflector (RFC 4456): one speaker with a cluster ID that reflects its clients'
routes to each other, adding ORIGINATOR_ID and CLUSTER_LIST. Clients are listed in the config,
or, with a datastore, every Node whose labels match datastore.nodeSelector and that has a
spec.bgp.ipv4Address (nodes join and leave as they come and go; other sessions are kept).

Options:
  -c, --config FILE     reflector config (YAML; see docs/route-reflector.md)      [required]
      --check           validate the config, print the problems, and exit (0 when valid)
  -s, --socket PATH     control socket for bgpctl (default: the config's controlSocket,
                        else ${DEFAULT_RR_CONTROL_SOCKET})
      --datastore URL   where Node resources live: memory, file:///path.json, redis://host:port/db,
                        etcd://host:port (default: $${DATASTORE_ENV}, else datastore.url from the file);
                        used only when the config has a datastore section
      --log-level LEVEL trace, debug, info, warn, error (default info; env TABBY_LOG_LEVEL)
      --metrics-port PORT
                        serve Prometheus /metrics on PORT (default: the config's metricsPort,
                        else off; the metrics are listed in docs/operations.md)
      --metrics-address ADDR
                        the address /metrics listens on (default 127.0.0.1)
  -h, --help            this text

A minimal config (198.18.0.10 reflects for every node labelled rr-group=a, plus one listed client):

  routerId: 198.18.0.10
  asn: 64512
  clusterId: 198.18.0.100          # required: the RFC 4456 cluster ID (dotted quad)
  clients:
    - { address: 198.18.0.1, name: tor-a }
  nonClients:                      # other reflectors (for example of the same cluster)
    - { address: 198.18.0.11 }
  datastore:
    nodeSelector: "rr-group == 'a'"

Client rule for datastore nodes: a node with no routeReflectorClusterID, or a different one, is a
client; a node with this reflector's cluster ID is a non-client (reflectors of one cluster do not
reflect client routes to each other); nodes with another AS and the reflector itself are skipped.

Signals: SIGHUP re-reads the config (only changed peers are reset); SIGTERM or SIGINT sends
Cease/Administrative Shutdown to every peer and exits.

Examples:
  tabby rr --check -c /etc/tabby/rr.yaml
  tabby rr -c /etc/tabby/rr.yaml --datastore etcd://10.0.0.5:2379
  bgpctl -s ${DEFAULT_RR_CONTROL_SOCKET} show summary
  bgpctl -s ${DEFAULT_RR_CONTROL_SOCKET} --json show rib
  tabby rr -c /etc/tabby/rr.yaml --metrics-port 9474 --metrics-address 0.0.0.0   # for a remote Prometheus
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      check: { type: 'boolean' },
      socket: { type: 'string', short: 's' },
      datastore: { type: 'string' },
      'log-level': { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-address': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

function describeConfig(c: RrConfig): string {
  const ds = c.datastore ? `, datastore nodes matching ${JSON.stringify(c.datastore.nodeSelector)}` : '';
  return `router ID ${c.routerId}, AS ${c.asn}, cluster ID ${c.clusterId}, ${c.clients.length} listed clients, ${c.nonClients.length} non-clients${ds}`;
}

/** Runs the `tabby rr` daemon; resolves with the exit code once it stops. */
export async function runRr(argv: string[]): Promise<number> {
  const start = daemonPrologue('rr', argv, parse, RR_HELP, loadRrConfigFile);
  if ('exit' in start) return start.exit;
  const { args, file, config, endpoint } = start;
  const datastoreUrl = args.datastore || process.env[DATASTORE_ENV] || undefined;
  if (args.check) {
    process.stdout.write(`${file}: OK (${describeConfig(config)})\n`);
    return 0;
  }
  if (config.datastore && !(datastoreUrl || config.datastore.url)) {
    process.stderr.write(
      `tabby rr: ${file} has a datastore section but no URL: set datastore.url, --datastore URL or ${DATASTORE_ENV}\n`,
    );
    return 1;
  }
  // Open the datastore once up front so that a bad URL fails the start, not a background loop.
  try {
    if (config.datastore) await openDatastore(datastoreUrl || config.datastore.url || 'memory').close();
  } catch (err) {
    process.stderr.write(`tabby rr: ${(err as Error).message}\n`);
    return 1;
  }
  const log = daemonLogger('rr', args['log-level']);
  const opener = (url: string) => openDatastore(url, { logger: log });
  const rr = new RouteReflector(config, {
    transport: tcpTransport,
    logger: log,
    openDatastore: opener,
    ...(datastoreUrl ? { datastoreUrl } : {}),
  });
  const registry = daemonRegistry();
  registerSpeakerMetrics(registry, () => rr.speaker);
  registerDatastoreMetrics(registry, () => rr.datastore);
  return serveDaemon({
    name: 'rr',
    log,
    socketPath: args.socket ?? config.controlSocket ?? DEFAULT_RR_CONTROL_SOCKET,
    handler: new ControlHandler(rr.speaker, {
      version: RR_VERSION,
      configFile: file,
      reload: () => rr.prepareReload(loadRrConfigFile(file)),
    }),
    metrics: endpoint && { endpoint, registry: async () => registry },
    start: () => rr.start(),
    stop: () => rr.stop(),
    reload: () => rr.reload(loadRrConfigFile(file)),
    started: { config: file, summary: describeConfig(config) },
  });
}
