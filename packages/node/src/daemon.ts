import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import {
  applyDaemonNodeOptions,
  DaemonLifecycle,
  daemonLogger,
  daemonRegistry,
  type Logger,
  type MetricsEndpoint,
  metricsEndpoint,
  nodeOptionsLogged,
  registerSpeakerMetrics,
  StopRequestedError,
  serveMetrics,
  tcpTransport,
} from '@tabby/bgp';
import { ConfdMetrics } from '@tabby/confd';
import {
  type Datastore,
  type NodeResource,
  openDatastore,
  ResourceStore,
  registerDatastoreMetrics,
  registerIpamMetrics,
  resolveDatastoreUrl,
} from '@tabby/datastore';
import {
  FibDataplane,
  FibMetrics,
  KernelDriver,
  KernelLinkDriver,
  MemoryDriver,
  MemoryLinkDriver,
  RouteTable,
} from '@tabby/fib';
import { UiServer, uiPort } from '@tabby/ui';
import { NodeAgent } from './agent.js';
import { lockNodeName } from './instance-lock.js';
import { nodeMapSource } from './map-source.js';
import { SpeakerConfigRenderer } from './speaker-config.js';

const run = promisify(execFile);

export const NODE_HELP = `Usage: tabby node [options]

Runs the per-node agent: reads this node's Node resource, claims an IPAM block, peers with the
other nodes (mesh, route reflectors, BGPPeers), announces its blocks, and programs the kernel
routing table (routes it owns only: protocol 80 and 186, cali* interfaces).

Options:
      --name NAME          node name (default: $NODENAME, else the host name)
      --datastore URL      memory | file:///x.json | redis://host:port/db | etcd://host:port
                           (default: $TABBY_DATASTORE, else memory)
      --uplink IF          interface facing the other nodes (default: the one that holds the
                           node's address or its subnet, else eth0)
      --ip-autodetect IF   when the Node has no ipv4Address: take the first global IPv4 address
                           of interface IF and write it to the Node (default: --uplink, else eth0)
  -s, --socket PATH        control socket for bgpctl (default /run/tabby/node.sock)
      --fib kernel|memory  program the kernel (default) or only a memory table
      --health-port PORT   serve /readiness and /liveness on this port (127.0.0.1; off by default)
      --ui PORT            serve the cluster map on 127.0.0.1:PORT: this node's sessions, routes and
                           blocks, the other nodes as it sees them, a path tracer through its table
      --metrics-port PORT  serve Prometheus /metrics on this port (off by default): sessions, FIB,
                           datastore, confd, IPAM, process (listed in docs/operations.md)
      --metrics-address A  the address /metrics listens on (default 127.0.0.1)
      --hold-time S        BGP hold time for every session (default 90)
      --speaker-template F confd template the speaker config is rendered from (default: the
                           shipped bgpd.yaml.template; see tabby confd --help)
      --start-timeout S    exit with the reason when start-up (datastore reachable, first full
                           read, speaker listening) is not over after S seconds (default 60)
  -R, --restarted          graceful restart: kernel routes were kept; defer selection until peers' End-of-RIB
      --log-level LEVEL    trace, debug, info (default), warn, error
  -h, --help               this text

SIGTERM or SIGINT stops the agent within 2 s and leaves kernel routes in place; peers that
negotiated the graceful restart N bit keep this node's routes until it is back (start it again
with -R). Helper processes (ip monitor) die with the agent, even when it is killed. One agent per
node name runs on a host: a second one exits at once naming the first.

Exit status: 0 after a signal; 1 when start-up fails (bad flags, datastore not reachable within
--start-timeout, BGP port or control socket taken, speaker config that does not render).
`;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      datastore: { type: 'string' },
      uplink: { type: 'string' },
      'ip-autodetect': { type: 'string' },
      socket: { type: 'string', short: 's' },
      fib: { type: 'string' },
      'health-port': { type: 'string' },
      ui: { type: 'string' },
      'metrics-port': { type: 'string' },
      'metrics-address': { type: 'string' },
      'hold-time': { type: 'string' },
      'speaker-template': { type: 'string' },
      'start-timeout': { type: 'string' },
      restarted: { type: 'boolean', short: 'R' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }).values;
}

/** The first global IPv4 address of an interface, with its prefix length (`198.18.0.1/24`). */
export async function interfaceAddress(ifname: string): Promise<string | undefined> {
  const { stdout } = await run('ip', ['-json', '-4', 'addr', 'show', 'dev', ifname]);
  const links = JSON.parse(stdout || '[]') as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  const a = links[0]?.addr_info?.find((x) => x.scope === 'global');
  return a ? `${a.local}/${a.prefixlen}` : undefined;
}

/** Runs `tabby node`; resolves with the exit code once stopped. */
export async function runNode(argv: string[]): Promise<number> {
  applyDaemonNodeOptions();
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`tabby node: ${(err as Error).message}\nRun 'tabby node --help' for usage.\n`);
    return 1;
  }
  if (args.help) {
    process.stdout.write(NODE_HELP);
    return 0;
  }
  const fib = args.fib ?? 'kernel';
  if (fib !== 'kernel' && fib !== 'memory') {
    process.stderr.write(`tabby node: --fib must be kernel or memory, not "${fib}"\n`);
    return 1;
  }
  const holdTime = args['hold-time'] === undefined ? undefined : Number(args['hold-time']);
  if (
    holdTime !== undefined &&
    !(Number.isInteger(holdTime) && (holdTime === 0 || (holdTime >= 3 && holdTime <= 65535)))
  ) {
    process.stderr.write(
      `tabby node: --hold-time must be 0 or a whole number of seconds from 3 to 65535 (RFC 4271), not "${args['hold-time']}"\n`,
    );
    return 1;
  }
  const template = args['speaker-template'];
  if (template !== undefined) {
    try {
      new SpeakerConfigRenderer({ nodeName: 'check', templatePath: template }); // reads and parses it
    } catch (err) {
      process.stderr.write(`tabby node: --speaker-template ${template}: ${(err as Error).message}\n`);
      return 1;
    }
  }
  const startTimeout = args['start-timeout'] === undefined ? 60 : Number(args['start-timeout']);
  if (!(Number.isFinite(startTimeout) && startTimeout > 0)) {
    process.stderr.write(
      `tabby node: --start-timeout must be a positive number of seconds, not "${args['start-timeout']}"\n`,
    );
    return 1;
  }
  let metricsAt: MetricsEndpoint | undefined;
  let uiAt: number | undefined;
  try {
    metricsAt = metricsEndpoint(args);
    uiAt = uiPort(args.ui);
  } catch (err) {
    process.stderr.write(`tabby node: ${(err as Error).message}\n`);
    return 1;
  }
  const name = args.name ?? process.env.NODENAME ?? hostname();
  const log = daemonLogger('node', args['log-level']).child({ node: name });
  const lifecycle = new DaemonLifecycle(log);
  const socket = args.socket ?? '/run/tabby/node.sock';
  let lock: { release(): void };
  try {
    lock = await lockNodeName(name, { pid: process.pid, socket, since: new Date().toISOString() });
  } catch (err) {
    return lifecycle.failed('node', err);
  }
  const url = resolveDatastoreUrl(args.datastore);
  let ds: Datastore;
  try {
    ds = openDatastore(url, { logger: log });
  } catch (err) {
    lock.release();
    return lifecycle.failed('node', err);
  }
  const uplink = args.uplink;
  let agent: NodeAgent | undefined;
  let health: http.Server | null = null;
  let map: UiServer | null = null;
  const memoryFib = new MemoryDriver();
  let metricsServer: http.Server | null = null;
  const registry = daemonRegistry();
  registerSpeakerMetrics(registry, () => agent?.speaker);
  const fibMetrics = new FibMetrics(registry, () => agent?.dataplane);
  registerDatastoreMetrics(registry, () => ds);
  registerIpamMetrics(registry, () => ds);
  const confdMetrics = new ConfdMetrics(registry);
  const release = async () => {
    health?.close();
    await map?.stop();
    metricsServer?.close();
    await agent?.stop();
    await ds.close();
    lock.release();
  };
  try {
    // Metrics first: a start-up that waits for the datastore shows in tabby_datastore_connected.
    if (metricsAt) metricsServer = await serveMetrics(registry, metricsAt);
    // Start-up has a deadline: an agent that cannot reach its datastore, or cannot finish its
    // first pass, exits non-zero with the reason (its supervisor restarts it) instead of running
    // half-started.
    const deadline = Date.now() + startTimeout * 1000;
    const late = () => new StartTimeoutError(ds.description, startTimeout, lastError);
    let lastError = '';
    // The datastore may not be up yet: retry with back-off (1, 2, 4 ... 30 s) until the deadline.
    for (let attempt = 0; ; attempt++) {
      try {
        await lifecycle.starting(
          withDeadline(
            ensureAddress(new ResourceStore(ds), name, args['ip-autodetect'] ?? uplink ?? 'eth0', log),
            deadline,
            late,
          ),
        );
        break;
      } catch (err) {
        if (err instanceof NodeAddressError || err instanceof StopRequestedError || err instanceof StartTimeoutError)
          throw err;
        lastError = (err as Error).message;
        const delay = Math.min(30_000, 1000 * 2 ** attempt, Math.max(0, deadline - Date.now()));
        if (delay <= 0) throw late();
        log.warn({ err: lastError, retryIn: delay / 1000 }, 'datastore not reachable yet');
        await lifecycle.sleep(delay);
      }
    }
    mkdirSync(dirname(socket), { recursive: true });
    agent = new NodeAgent({
      nodeName: name,
      datastore: ds,
      transport: tcpTransport,
      controlSocket: socket,
      ...(uplink ? { uplink } : {}),
      logger: log,
      restarting: args.restarted ?? false,
      ...(holdTime !== undefined ? { holdTime } : {}),
      ...(template !== undefined ? { speakerTemplate: template } : {}),
      confdMetrics,
      dataplane: (local) => {
        memoryFib.addLink(local.uplink);
        return fib === 'kernel'
          ? new FibDataplane({
              localNode: local,
              routeTable: new RouteTable({
                driver: new KernelDriver({ logger: log }),
                logger: log,
                observer: fibMetrics,
              }),
              links: new KernelLinkDriver({ logger: log }),
              logger: log,
            })
          : new FibDataplane({
              localNode: local,
              routeTable: new RouteTable({ driver: memoryFib, observer: fibMetrics }),
              links: new MemoryLinkDriver(),
            });
      },
    });
    lastError = 'the first full read of the datastore did not finish';
    await lifecycle.starting(withDeadline(agent.start(), deadline, late));
    if (args['health-port']) health = await serveHealth(agent, Number(args['health-port']));
    if (uiAt !== undefined) {
      const source = nodeMapSource({
        agent,
        datastore: ds,
        ...(fib === 'memory' ? { memoryRoutes: async () => (await memoryFib.read()).routes } : {}),
      });
      map = new UiServer({ source, port: uiAt });
      log.info({ url: await map.start() }, 'cluster map served');
    }
  } catch (err) {
    await release().catch(() => {});
    return lifecycle.failed('node', err);
  }
  log.info({ datastore: ds.description, socket, ...nodeOptionsLogged() }, 'node agent started');
  return lifecycle.stopped(release);
}

/** Start-up did not finish before `--start-timeout`. */
class StartTimeoutError extends Error {
  readonly code = 'START_TIMEOUT';
  constructor(datastore: string, seconds: number, last: string) {
    super(`not started after ${seconds} s (datastore ${datastore}: ${last || 'no answer'}); see --start-timeout`);
  }
}

/** `work`, or the error `late()` makes once `deadline` (epoch ms) passes. */
function withDeadline<T>(work: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()));
  });
  work.catch(() => {});
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** The node has no address and none can be detected: a configuration error, not a transient one. */
class NodeAddressError extends Error {
  readonly code = 'NODE_ADDRESS';
}

/** Address detection: a Node without an IPv4 address gets the interface's, written back. */
async function ensureAddress(store: ResourceStore, name: string, ifname: string, log: Logger): Promise<void> {
  const node = (await store.get('Node', name).catch(() => undefined)) as NodeResource | undefined;
  if (node?.spec?.bgp?.ipv4Address) return;
  const address = await interfaceAddress(ifname).catch(() => undefined);
  if (!address) {
    throw new NodeAddressError(
      `Node ${name} has no spec.bgp.ipv4Address and interface ${ifname} has no global IPv4 address: set one, or pick an interface with --ip-autodetect`,
    );
  }
  const next = {
    apiVersion: 'projectcalico.org/v3',
    kind: 'Node',
    metadata: { ...(node?.metadata ?? { name }) },
    spec: { ...(node?.spec ?? {}), bgp: { ...(node?.spec?.bgp ?? {}), ipv4Address: address } },
  } as NodeResource;
  await store.apply(next);
  log.info({ interface: ifname, address }, 'detected the node address and wrote it to the Node');
}

/** `/readiness`: in sync and every session Established; `/liveness`: the process answers. */
function serveHealth(agent: NodeAgent, port: number): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    if (req.url === '/liveness') {
      res.writeHead(200).end('ok\n');
      return;
    }
    if (req.url === '/readiness') {
      const st = agent.status();
      res.writeHead(st.ready ? 200 : 503, { 'content-type': 'application/json' }).end(`${JSON.stringify(st)}\n`);
      return;
    }
    res.writeHead(404).end('try /readiness or /liveness\n');
  });
  return new Promise((resolve, reject) => {
    srv.once('error', (err) => reject(new Error(`--health-port ${port}: ${err.message}`)));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}
