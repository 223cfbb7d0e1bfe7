// Receivers and the BIRD feeder for the full-table ingest benchmark (ingest.bench.ts). Each
// receiver is a real daemon started in its own network namespace; `poll()` reads its session state
// and prefix count through the daemon's own CLI or control socket, as an operator would.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';
import { daemonCommand } from '../node-options.js';
import { BenchDaemon, controlRequest, daemonPid, type ProcStats, procStats, TABBY_BIN } from './bench-daemon.js';

/** Addresses of the one veth link between feeder and receiver (198.18.0.0/15 only). */
export const RX_ADDR = '198.18.0.1';
export const FEEDER_ADDR = '198.18.0.2';
export const RX_AS = 64512;
export const FEEDER_AS = 65000;
/** First AS of the per-pair AS paths in diverse mode (4-octet ASNs). */
export const DIVERSE_AS_BASE = 100_000;

/**
 * The feed and the receiver's import policy: packed or diverse through a named accept-all policy,
 * or `diverse-lp`, the diverse feed through a policy that sets LOCAL_PREF 200 (each received set
 * then has a second one after policy, in every receiver).
 */
export type Mode = 'packed' | 'diverse' | 'diverse-lp';

/** The feed a mode sends. */
export function feedOf(mode: Mode): 'packed' | 'diverse' {
  return mode === 'packed' ? 'packed' : 'diverse';
}

/**
 * How long one poll may wait for a busy receiver. Long on purpose: a late answer is still the
 * receiver's answer (its CLI is slow while it ingests), and abandoning it would only delay the
 * next look; the per-receiver timeout bounds the whole case.
 */
export const POLL_TIMEOUT_MS = 120_000;

/** Prefix i of the feed: distinct /24s from 11.0.0.0 up (16 /8s hold 1,048,576 of them). */
export function prefixText(i: number): string {
  const a = (11 << 24) + i * 256;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`;
}

export interface PollResult {
  established: boolean;
  /** Prefixes the receiver holds from the feeder (after import). */
  count: number;
  /** Nothing is left to decide or export (Tabby's pending selection and export backlog; others decide as they import). */
  settled: boolean;
  /** The longest the receiver's event loop was held so far (ms; Tabby only). */
  loopMaxMs?: number;
}

/** A receiver daemon under test. */
export abstract class Receiver extends BenchDaemon {
  abstract poll(): Promise<PollResult>;

  constructor(
    ns: Netns,
    /** `diverse-lp`: the import policy sets LOCAL_PREF 200. */
    readonly mode: Mode,
  ) {
    super(ns, 'tabby-ingest-');
  }

  protected get setsLocalPref(): boolean {
    return this.mode === 'diverse-lp';
  }
}

export class TabbyReceiver extends Receiver {
  readonly name = 'Tabby';
  protected readonly comm = 'node';
  readonly socket = join(this.dir, 'bgpd.sock');
  readonly configFile = join(this.dir, 'bgpd.yaml');

  constructor(ns: Netns, mode: Mode) {
    super(ns, mode);
    writeFileSync(
      this.configFile,
      `controlSocket: ${this.socket}
routerId: ${RX_ADDR}
asn: ${RX_AS}
listen: { address: ${RX_ADDR}, port: 179 }
gracefulRestart: { enabled: true, restartTime: 120 }
policies:
  - ${this.setsLocalPref ? '{ name: accept-all, rules: [{ set: { localPref: 200 }, action: accept }] }' : '{ name: accept-all, default: accept }'}
peers:
  - { name: feeder, address: ${FEEDER_ADDR}, asn: ${FEEDER_AS}, passive: true, families: [ipv4-unicast], import: [accept-all] }
`,
    );
  }

  async version(): Promise<string> {
    return `Tabby bgpd (Node ${process.version})`;
  }

  /** BGP_INGEST_TABBY_NODE_ARGS: extra Node options (e.g. `--cpu-prof`); bgpd then stops with SIGTERM. */
  private readonly nodeArgs = (process.env.BGP_INGEST_TABBY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  protected override stopSignal: NodeJS.Signals = this.nodeArgs.length ? 'SIGTERM' : 'SIGKILL';

  protected argv(): string[] {
    return [...daemonCommand(TABBY_BIN, this.nodeArgs), 'bgpd', '-c', this.configFile, '--log-level', 'info'];
  }

  protected async ready(): Promise<boolean> {
    await controlRequest(this.socket, 'show status');
    return true;
  }

  async poll(): Promise<PollResult> {
    // `show status` is O(1) in the speaker (`show summary` walks the Adj-RIB-In to count accepted).
    const s = (await controlRequest(this.socket, 'show status', POLL_TIMEOUT_MS)) as {
      peers_established: number;
      loc_rib_prefixes: number;
      pending_selection?: number;
      export_backlog?: number;
      event_loop_max_delay_ms?: number;
    };
    return {
      established: s.peers_established > 0,
      count: s.loc_rib_prefixes,
      settled: !s.pending_selection && !s.export_backlog,
      ...(s.event_loop_max_delay_ms !== undefined ? { loopMaxMs: s.event_loop_max_delay_ms } : {}),
    };
  }
}

/**
 * BIRD 2 as a receiver, configured as Tabby is (a named accept-all import filter, export none,
 * graceful restart on): `show protocols all feeder` gives the state and the imported count (O(1)).
 */
export class BirdReceiver extends Receiver {
  readonly name = 'BIRD';
  protected readonly comm = 'bird';
  readonly socket = join(this.dir, 'bird.ctl');
  readonly configFile = join(this.dir, 'bird.conf');

  constructor(ns: Netns, mode: Mode) {
    super(ns, mode);
    writeFileSync(
      this.configFile,
      `router id ${RX_ADDR};
protocol device {}
filter accept_all { ${this.setsLocalPref ? 'bgp_local_pref = 200; ' : ''}accept; }
protocol bgp feeder {
  local ${RX_ADDR} as ${RX_AS};
  neighbor ${FEEDER_ADDR} as ${FEEDER_AS};
  passive on;
  graceful restart on;
  ipv4 { import filter accept_all; export none; };
}
`,
    );
  }

  async version(): Promise<string> {
    const r = await exec(['bird', '--version'], { allowFailure: true });
    return `${r.stdout}${r.stderr}`.trim();
  }

  protected argv(): string[] {
    return ['bird', '-f', '-c', this.configFile, '-s', this.socket];
  }

  birdc(args: string[]): Promise<string> {
    return exec(['birdc', '-s', this.socket, ...args], { allowFailure: true, timeoutMs: POLL_TIMEOUT_MS }).then(
      (r) => r.stdout,
    );
  }

  protected async ready(): Promise<boolean> {
    return (await this.birdc(['show', 'status'])).includes('Daemon is up');
  }

  async poll(): Promise<PollResult> {
    const out = await this.birdc(['show', 'protocols', 'all', 'feeder']);
    const m = /Routes:\s+(\d+) imported/.exec(out);
    return { established: /\bEstablished\b/.test(out), count: m ? Number(m[1]) : 0, settled: true };
  }
}

/**
 * FRR's bgpd alone (no zebra, no kernel), read through vtysh on its own vty socket directory. The
 * route-map comes before the neighbor that names it: a neighbor whose route-map is not defined yet
 * denies every route until FRR's route-map delay timer resolves the name, and routes denied then
 * stay out (the fast feeder's whole table arrived in that window: 0 prefixes after 300 s).
 */
export class FrrReceiver extends Receiver {
  readonly name = 'FRR';
  protected readonly comm = 'bgpd';
  readonly configFile = join(this.dir, 'bgpd.conf');
  static readonly BIN = '/usr/lib/frr/bgpd';

  constructor(ns: Netns, mode: Mode) {
    super(ns, mode);
    writeFileSync(
      this.configFile,
      `hostname rx
log stdout warnings
!${this.setsLocalPref ? '\nroute-map LP permit 10\n set local-preference 200\n!' : ''}
router bgp ${RX_AS}
 bgp router-id ${RX_ADDR}
 no bgp ebgp-requires-policy
 neighbor ${FEEDER_ADDR} remote-as ${FEEDER_AS}
 neighbor ${FEEDER_ADDR} passive
 address-family ipv4 unicast
  neighbor ${FEEDER_ADDR} activate${this.setsLocalPref ? `\n  neighbor ${FEEDER_ADDR} route-map LP in` : ''}
 exit-address-family
!
`,
    );
  }

  async version(): Promise<string> {
    const r = await exec([FrrReceiver.BIN, '--version'], { allowFailure: true });
    return (r.stdout.split('\n')[0] ?? '').trim() || 'FRR bgpd';
  }

  protected argv(): string[] {
    return [
      FrrReceiver.BIN,
      '-Z',
      '-f',
      this.configFile,
      '-i',
      join(this.dir, 'bgpd.pid'),
      '-z',
      join(this.dir, 'zserv.api'),
      '--vty_socket',
      this.dir,
      '-A',
      '127.0.0.1',
      // Skip the user/group switch (and its check that root is in the frrvty group).
      '-S',
      '-l',
      RX_ADDR,
    ];
  }

  async vtysh(command: string): Promise<string> {
    const r = await exec(['vtysh', '--vty_socket', this.dir, '-d', 'bgpd', '-c', command], {
      allowFailure: true,
      timeoutMs: POLL_TIMEOUT_MS,
    });
    return r.stdout;
  }

  protected async ready(): Promise<boolean> {
    return (await this.vtysh('show bgp summary json')).includes('{');
  }

  async poll(): Promise<PollResult> {
    const out = await this.vtysh('show bgp ipv4 unicast summary json');
    const j = JSON.parse(out) as { peers?: Record<string, { state?: string; pfxRcd?: number }> };
    const p = j.peers?.[FEEDER_ADDR];
    return { established: p?.state === 'Established', count: p?.pfxRcd ?? 0, settled: true };
  }
}

/** GoBGP: `gobgp neighbor ADDR -j` (gRPC on the namespace's loopback) for state and accepted count. */
export class GobgpReceiver extends Receiver {
  readonly name = 'GoBGP';
  protected readonly comm = 'gobgpd';
  readonly configFile = join(this.dir, 'gobgpd.toml');

  constructor(ns: Netns, mode: Mode) {
    super(ns, mode);
    writeFileSync(
      this.configFile,
      `[global.config]
  as = ${RX_AS}
  router-id = "${RX_ADDR}"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "${FEEDER_ADDR}"
    peer-as = ${FEEDER_AS}
  [neighbors.transport.config]
    passive-mode = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
`,
    );
  }

  async version(): Promise<string> {
    const r = await exec(['gobgpd', '--version'], { allowFailure: true });
    return `${r.stdout}${r.stderr}`.trim();
  }

  protected argv(): string[] {
    return ['gobgpd', '-f', this.configFile, '-t', 'toml', '--api-hosts=127.0.0.1:50051', '--log-level=warn'];
  }

  gobgp(args: string[]): Promise<string> {
    return this.ns.exec(['gobgp', ...args], { allowFailure: true, timeoutMs: POLL_TIMEOUT_MS }).then((r) => r.stdout);
  }

  protected async ready(): Promise<boolean> {
    return (await this.gobgp(['global'])).includes('AS');
  }

  async poll(): Promise<PollResult> {
    const out = await this.gobgp(['neighbor', FEEDER_ADDR, '-j']);
    const j = JSON.parse(out) as {
      state?: { session_state?: number | string };
      afi_safis?: { state?: { received?: number; accepted?: number } }[];
    };
    const s = j.state?.session_state;
    let count = 0;
    for (const a of j.afi_safis ?? []) count += a.state?.accepted ?? 0;
    return { established: s === 6 || s === 'ESTABLISHED' || s === 'established', count, settled: true };
  }
}

/**
 * The feeder: BIRD 2 with a static protocol holding the prefixes (blackholes) and a BGP protocol
 * that exports them. The BGP protocol starts disabled and is enabled once the static routes are
 * all in the table, so the measurement never includes the feeder's own config loading.
 */
export class BirdFeeder {
  readonly dir = mkdtempSync(join(tmpdir(), 'tabby-ingest-feeder-'));
  readonly socket = join(this.dir, 'bird.ctl');
  readonly configFile = join(this.dir, 'bird.conf');
  proc: NsProcess | null = null;

  constructor(
    readonly ns: Netns,
    readonly count: number,
    readonly mode: Mode,
  ) {
    writeFileSync(this.configFile, BirdFeeder.config(count, mode));
  }

  /**
   * Packed: every route has the same attributes (AS path `65000` once BIRD prepends itself).
   * Diverse: prefixes 2k and 2k+1 carry AS path `65000 (100000+k)`, a distinct path per pair.
   */
  static config(count: number, mode: Mode): string {
    const lines: string[] = [
      `router id ${FEEDER_ADDR};`,
      'timeformat protocol iso long ms;',
      'protocol device {}',
      'protocol static feed {',
      '  ipv4 { import all; };',
    ];
    for (let i = 0; i < count; i++) {
      lines.push(
        mode === 'packed'
          ? `  route ${prefixText(i)} blackhole;`
          : `  route ${prefixText(i)} blackhole { bgp_path.prepend(${DIVERSE_AS_BASE + (i >> 1)}); };`,
      );
    }
    lines.push(
      '}',
      'protocol bgp toreceiver {',
      `  local ${FEEDER_ADDR} as ${FEEDER_AS};`,
      `  neighbor ${RX_ADDR} as ${RX_AS};`,
      '  disabled;',
      '  connect delay time 1;',
      '  ipv4 { import none; export all; };',
      '}',
      '',
    );
    return lines.join('\n');
  }

  birdc(args: string[]): Promise<string> {
    return exec(['birdc', '-s', this.socket, ...args], { allowFailure: true, timeoutMs: 30_000 }).then((r) => r.stdout);
  }

  /** Starts BIRD and waits until every static route is in its table. */
  async start(timeoutMs: number): Promise<void> {
    this.proc = this.ns.spawn(['bird', '-f', '-c', this.configFile, '-s', this.socket], {
      env: { ...process.env, TZ: 'UTC' },
    });
    try {
      await waitFor(
        'feeder routes loaded',
        async () => {
          const out = await this.birdc(['show', 'protocols', 'all', 'feed']);
          const m = /Routes:\s+(\d+) imported/.exec(out);
          return m !== null && Number(m[1]) === this.count;
        },
        timeoutMs,
        250,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nfeeder bird output:\n${this.proc.output.slice(-2000)}`);
    }
    this.pid = daemonPid(this.proc.pid!, 'bird');
  }

  pid = 0;

  stats(): ProcStats | null {
    return this.pid ? procStats(this.pid) : null;
  }

  enable(): Promise<string> {
    return this.birdc(['enable', 'toreceiver']);
  }

  /** When the feeder's session reached Established (wall clock, ms), or null when it is not up. */
  async establishedAt(): Promise<number | null> {
    const out = await this.birdc(['show', 'protocols', 'toreceiver']);
    const line = out.split('\n').find((l) => l.startsWith('toreceiver'));
    if (!line || !/Established/.test(line)) return null;
    const m = /(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})/.exec(line);
    return m ? Date.parse(`${m[1]}T${m[2]}Z`) : null;
  }

  protected stopSignal: NodeJS.Signals = 'SIGKILL';

  async stop(): Promise<void> {
    await this.proc?.kill(this.stopSignal);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
