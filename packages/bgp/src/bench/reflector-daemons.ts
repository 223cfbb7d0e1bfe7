// The reflectors of the reflector benchmark (reflector.bench.ts): Tabby's bgpd with `clusterId` and
// route-reflector client peers, and BIRD 2 with `rr client`, each configured for N passive iBGP
// clients at consecutive addresses from `firstClient`.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exec, type Netns } from '@tabby/test-helpers';
import { daemonCommand } from '../node-options.js';
import { BenchDaemon, BGPD_BIN, controlRequest } from './bench-daemon.js';

export type ReflectorName = 'Tabby' | 'BIRD';

export const RR_ADDR = '198.18.0.1';
export const CLUSTER_ID = '198.18.0.100';
export const ASN = 64512;
/** 198.19.0.1: the first client's source address (on the client namespace's `lo`). */
export const FIRST_CLIENT = ((198 << 24) | (19 << 16) | 1) >>> 0;

const ipText = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
export const clientAddr = (i: number) => ipText(FIRST_CLIENT + i);

/** A reflector daemon in the benchmark's namespace, configured for `clients` clients. */
export abstract class Reflector extends BenchDaemon {
  abstract override readonly name: ReflectorName;

  constructor(
    ns: Netns,
    readonly clients: number,
    readonly hold: number,
  ) {
    super(ns, 'tabby-rr-bench-', 60_000);
  }
}

export class TabbyReflector extends Reflector {
  readonly name = 'Tabby';
  protected readonly comm = 'node';
  readonly socket = join(this.dir, 'bgpd.sock');
  readonly configFile = join(this.dir, 'bgpd.yaml');

  constructor(ns: Netns, clients: number, hold: number) {
    super(ns, clients, hold);
    const lines = [
      `controlSocket: ${this.socket}`,
      `routerId: ${RR_ADDR}`,
      `asn: ${ASN}`,
      `clusterId: ${CLUSTER_ID}`,
      `listen: { address: ${RR_ADDR}, port: 179 }`,
      `holdTime: ${hold}`,
      'gracefulRestart: { enabled: true, restartTime: 120 }',
      'policies:',
      '  - { name: accept-all, default: accept }',
      'peers:',
    ];
    for (let i = 0; i < clients; i++) {
      lines.push(
        `  - { name: c${i}, address: ${clientAddr(i)}, asn: ${ASN}, passive: true, routeReflectorClient: true, families: [ipv4-unicast], import: [accept-all], export: [accept-all] }`,
      );
    }
    writeFileSync(this.configFile, `${lines.join('\n')}\n`);
  }

  async version(): Promise<string> {
    return `Tabby bgpd (Node ${process.version})`;
  }

  private readonly nodeArgs = (process.env.BGP_RR_TABBY_NODE_ARGS ?? '').split(' ').filter(Boolean);
  protected override stopSignal: NodeJS.Signals = this.nodeArgs.length ? 'SIGTERM' : 'SIGKILL';

  protected argv(): string[] {
    return [...daemonCommand(BGPD_BIN, this.nodeArgs), '-c', this.configFile, '--log-level', 'warn'];
  }

  protected async ready(): Promise<boolean> {
    await controlRequest(this.socket, 'show status');
    return true;
  }
}

export class BirdReflector extends Reflector {
  readonly name = 'BIRD';
  protected readonly comm = 'bird';
  readonly socket = join(this.dir, 'bird.ctl');
  readonly configFile = join(this.dir, 'bird.conf');

  constructor(ns: Netns, clients: number, hold: number) {
    super(ns, clients, hold);
    const lines = [
      `router id ${RR_ADDR};`,
      'protocol device {}',
      'filter accept_all { accept; }',
      'template bgp rrc {',
      `  local ${RR_ADDR} as ${ASN};`,
      '  direct;',
      '  passive on;',
      '  graceful restart on;',
      `  hold time ${hold};`,
      `  keepalive time ${hold / 3};`,
      '  rr client;',
      `  rr cluster id ${CLUSTER_ID};`,
      '  ipv4 { import filter accept_all; export filter accept_all; gateway direct; };',
      '}',
    ];
    for (let i = 0; i < clients; i++)
      lines.push(`protocol bgp c${i} from rrc { neighbor ${clientAddr(i)} as ${ASN}; }`);
    writeFileSync(this.configFile, `${lines.join('\n')}\n`);
  }

  async version(): Promise<string> {
    const r = await exec(['bird', '--version'], { allowFailure: true });
    return `${r.stdout}${r.stderr}`.trim();
  }

  protected argv(): string[] {
    return ['bird', '-f', '-c', this.configFile, '-s', this.socket];
  }

  protected async ready(): Promise<boolean> {
    const r = await exec(['birdc', '-s', this.socket, 'show', 'status'], { allowFailure: true });
    return r.stdout.includes('Daemon is up');
  }
}
