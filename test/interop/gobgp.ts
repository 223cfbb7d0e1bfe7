import { type Netns, waitFor } from '@tabby/test-helpers';
import { NsDaemon } from './ns-daemon.js';

/** A real GoBGP daemon in a namespace (gRPC API on the namespace's own loopback). */
export class GobgpDaemon extends NsDaemon {
  constructor(ns: Netns, config: string) {
    super(ns, 'gobgp', 'gobgpd.toml', config);
  }

  async start(): Promise<void> {
    this.proc = this.ns.spawn(['gobgpd', '-f', this.configFile, '-t', 'toml', '--api-hosts=127.0.0.1:50051']);
    try {
      await waitFor('gobgpd API', async () => (await this.gobgp(['global'], true)).includes('AS'), 30_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ngobgpd output:\n${this.log}`);
    }
  }

  async gobgp(args: string[], allowFailure = false): Promise<string> {
    const r = await this.ns.exec(['gobgp', ...args], { allowFailure });
    return r.stdout;
  }

  /** Neighbor state as GoBGP reports it (`ESTABLISHED`, `ACTIVE`, ...). */
  async neighborState(address: string): Promise<string> {
    const out = await this.gobgp(['neighbor', address, '-j'], true);
    try {
      const j = JSON.parse(out) as { state?: { session_state?: number | string } };
      const s = j.state?.session_state;
      return typeof s === 'number'
        ? (['', 'IDLE', 'CONNECT', 'ACTIVE', 'OPENSENT', 'OPENCONFIRM', 'ESTABLISHED'][s] ?? String(s))
        : String(s ?? '');
    } catch {
      return '';
    }
  }

  /** The global RIB of a family as GoBGP's text table, keyed by prefix. */
  async rib(family: 'ipv4' | 'ipv6' = 'ipv4'): Promise<Map<string, string>> {
    const out = await this.gobgp(['global', 'rib', '-a', family], true);
    const map = new Map<string, string>();
    for (const line of out.split('\n')) {
      const m = /^\*>?\s+(\S+)\s/.exec(line);
      if (m) map.set(m[1]!, line);
    }
    return map;
  }
}

/**
 * A gobgpd.toml: AS `asn`, router ID 198.18.0.3, one neighbour (Tabby at 198.18.0.1, AS 64512,
 * hold time 9 s) carrying `families` over its one session.
 */
export function gobgpToml(asn: number, families: string[] = ['ipv4-unicast']): string {
  const afiSafis = families
    .map((f) => `  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "${f}"\n`)
    .join('');
  return `[global.config]
  as = ${asn}
  router-id = "198.18.0.3"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "198.18.0.1"
    peer-as = 64512
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
${afiSafis}`;
}
