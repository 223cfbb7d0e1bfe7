import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canUseNetns, exec, NetLab, type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Every daemon's /metrics as Prometheus scrapes it: the real processes (the built bin) in
// namespaces, sessions up, the node programming its kernel table. And the Grafana dashboard in
// deploy/ asks only for metrics that these scrapes show.
const ROOT = join(import.meta.dirname, '..', '..', '..');
const TABBY = join(ROOT, 'packages', 'cli', 'bin', 'tabby.js');
const DASHBOARD = join(ROOT, 'deploy', 'grafana', 'tabby-dashboard.json');
const PORT = 9473;

/** One scrape: samples (`name{labels}` → value) and each metric family's type. */
interface Scrape {
  text: string;
  samples: Map<string, number>;
  types: Map<string, string>;
}

function parse(text: string): Scrape {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return { text, samples, types };
}

async function scrape(ns: Netns): Promise<Scrape> {
  const script = `const r = await fetch('http://127.0.0.1:${PORT}/metrics'); if (!r.ok) process.exit(1); process.stdout.write(await r.text());`;
  return parse((await ns.exec([process.execPath, '--input-type=module', '-e', script])).stdout);
}

/** The sum of a metric's samples whose labels contain every `match` (`address="..."`). */
function sum(s: Scrape, name: string, ...match: string[]): number {
  let total = 0;
  for (const [series, v] of s.samples) {
    const brace = series.indexOf('{');
    if ((brace < 0 ? series : series.slice(0, brace)) !== name) continue;
    if (match.every((m) => series.includes(m))) total += v;
  }
  return total;
}

/** Metric names a PromQL expression reads (Tabby's, and the process and Node.js defaults). */
function queriedMetrics(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...withoutStrings.matchAll(/\b(?:tabby|process|nodejs)_[a-zA-Z0-9_]*/g)].map((m) => m[0]);
}

/** Every PromQL expression in a Grafana dashboard: panel targets and query variables. */
function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'expr' || k === 'query' || k === 'definition') && typeof x === 'string') out.push(x);
        else walk(x);
      }
    }
  };
  walk(dashboard);
  return out;
}

/** Names a scrape exports: each family, with a histogram's and a summary's series suffixes. */
function exported(scrapes: Scrape[]): Set<string> {
  const names = new Set<string>();
  for (const s of scrapes)
    for (const [name, type] of s.types) {
      names.add(name);
      if (type === 'histogram') for (const x of ['_bucket', '_sum', '_count']) names.add(name + x);
      if (type === 'summary') for (const x of ['_sum', '_count']) names.add(name + x);
    }
  return names;
}

describe.skipIf(!canUseNetns())('metrics of tabby node, tabby rr and tabby bgpd', () => {
  const lab = new NetLab();
  const dir = mkdtempSync(join(tmpdir(), 'tabby-metrics-'));
  const procs: NsProcess[] = [];
  let nodeNs: Netns;
  let rrNs: Netns;
  let bgpdNs: Netns;
  const write = (name: string, text: string) => {
    const f = join(dir, name);
    writeFileSync(f, text);
    return f;
  };

  beforeAll(async () => {
    // node (198.18.43.1) -- rr (198.18.43.2 / 198.18.44.1) -- bgpd (198.18.44.2): both clients of the rr.
    nodeNs = await lab.netns('mnode');
    rrNs = await lab.netns('mrr');
    bgpdNs = await lab.netns('mbgpd');
    await lab.link(nodeNs, 'eth0', '198.18.43.1/24', rrNs, 'eth0', '198.18.43.2/24');
    await lab.link(rrNs, 'eth1', '198.18.44.1/24', bgpdNs, 'eth0', '198.18.44.2/24');
    const ds = `file://${join(dir, 'ds.json')}`;
    const resources = write(
      'cluster.yaml',
      [
        'apiVersion: projectcalico.org/v3\nkind: BGPConfiguration\nmetadata: { name: default }\nspec: { nodeToNodeMeshEnabled: false, asNumber: 64512 }',
        'apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: { name: pods }\nspec: { cidr: 198.19.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never }',
        'apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: { name: m1 }\nspec: { bgp: { ipv4Address: 198.18.43.1/24 } }',
        'apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: { name: rr }\nspec: { peerIP: 198.18.43.2, asNumber: 64512 }',
      ].join('\n---\n'),
    );
    await exec([process.execPath, TABBY, 'apply', '-f', resources, '--datastore', ds]);
    const rr = write(
      'rr.yaml',
      'routerId: 198.18.43.2\nasn: 64512\nclusterId: 198.18.43.2\nholdTime: 9\nconnectRetryTime: 1\nclients:\n  - { address: 198.18.43.1 }\n  - { address: 198.18.44.2, bfd: true }\n',
    );
    const bgpd = write(
      'bgpd.yaml',
      'routerId: 198.18.44.2\nasn: 64512\nholdTime: 9\nconnectRetryTime: 1\npeers:\n  - { address: 198.18.44.1, asn: 64512, bfd: true }\n',
    );
    const metrics = ['--metrics-port', String(PORT)];
    procs.push(
      rrNs.spawn([process.execPath, TABBY, 'rr', '-c', rr, '-s', join(dir, 'rr.sock'), ...metrics]),
      bgpdNs.spawn([process.execPath, TABBY, 'bgpd', '-c', bgpd, '-s', join(dir, 'bgpd.sock'), ...metrics]),
      nodeNs.spawn([
        process.execPath,
        TABBY,
        'node',
        '--name',
        'm1',
        '--datastore',
        ds,
        '-s',
        join(dir, 'node.sock'),
        '--hold-time',
        '9',
        ...metrics,
      ]),
    );
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) await p.kill('SIGKILL');
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const output = () => procs.map((p) => p.output).join('\n');
  /** Scrapes until `ready` holds for the scrape (the daemons converge meanwhile). */
  const scrapeWhen = (ns: Netns, what: string, ready: (s: Scrape) => boolean) =>
    waitFor(
      what,
      async () => {
        const s = await scrape(ns);
        return ready(s) ? s : null;
      },
      25_000,
      200,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${output()}`);
    });

  let node: Scrape;
  let rr: Scrape;
  let bgpd: Scrape;

  it('tabby rr: both client sessions Established, the node block in and out, BFD Up with bgpd', async () => {
    rr = await scrapeWhen(
      rrNs,
      'rr sessions up, the block reflected',
      (s) =>
        sum(s, 'tabby_bgp_peer_up') === 2 &&
        sum(s, 'tabby_bgp_peer_routes_advertised', '198.18.44.2') === 1 &&
        sum(s, 'tabby_bfd_session_up') === 1,
    );
    expect(sum(rr, 'tabby_bfd_session_state', 'address="198.18.44.2"')).toBe(3);
    expect(sum(rr, 'tabby_bfd_control_packets_received_total', 'address="198.18.44.2"')).toBeGreaterThan(0);
    expect(sum(rr, 'tabby_bgp_peer_state', 'address="198.18.43.1"')).toBe(5);
    expect(sum(rr, 'tabby_bgp_peer_routes_received', 'address="198.18.43.1"')).toBe(1);
    expect(sum(rr, 'tabby_bgp_peer_messages_received_total', 'address="198.18.43.1"', 'type="open"')).toBeGreaterThan(
      0,
    );
    // No flap: a connection collision once made one (packages/bgp/src/collision.test.ts). The logs say why if one comes back.
    expect(sum(rr, 'tabby_bgp_peer_flaps_total'), output()).toBe(0);
    expect(sum(rr, 'tabby_bgp_loc_rib_prefixes')).toBe(1);
    expect(sum(rr, 'process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('tabby bgpd: its session Established, the reflected block received, BFD Up', async () => {
    bgpd = await scrapeWhen(
      bgpdNs,
      'bgpd session up and the block in',
      (s) =>
        sum(s, 'tabby_bgp_peer_up', 'address="198.18.44.1"') === 1 && sum(s, 'tabby_bgp_peer_routes_received') === 1,
    );
    expect(sum(bgpd, 'tabby_bgp_peer_state', 'address="198.18.44.1"')).toBe(5);
    expect(sum(bgpd, 'tabby_bgp_peer_established_transitions_total'), output()).toBe(1);
    expect(sum(bgpd, 'tabby_bgp_peer_messages_received_total', 'type="update"')).toBeGreaterThan(0);
    const bfd = await scrapeWhen(
      bgpdNs,
      'bgpd BFD session Up',
      (s) => sum(s, 'tabby_bfd_session_up', 'address="198.18.44.1"') === 1,
    );
    expect(sum(bfd, 'tabby_bfd_session_flaps_total')).toBe(0);
    expect(sum(bfd, 'tabby_bfd_detect_time_seconds')).toBeGreaterThan(0);
  });

  it('tabby node: session, datastore, confd, IPAM, and FIB routes programmed as the kernel holds them', async () => {
    node = await scrapeWhen(
      nodeNs,
      'node session up and its block programmed',
      (s) => sum(s, 'tabby_bgp_peer_up') === 1 && sum(s, 'tabby_fib_routes_programmed', 'class="blackhole"') === 1,
    );
    expect(sum(node, 'tabby_bgp_peer_state', 'address="198.18.43.2"')).toBe(5);
    expect(sum(node, 'tabby_datastore_connected')).toBe(1);
    expect(sum(node, 'tabby_datastore_outage_seconds')).toBe(0);
    expect(sum(node, 'tabby_datastore_watchers')).toBeGreaterThan(0);
    expect(sum(node, 'tabby_confd_renders_total', 'template="bgpd.yaml.template"')).toBeGreaterThan(0);
    expect(sum(node, 'tabby_confd_render_errors_total')).toBe(0);
    expect(sum(node, 'tabby_confd_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 600);
    expect(sum(node, 'tabby_ipam_blocks', 'pool="pods"')).toBe(1);
    expect(sum(node, 'tabby_ipam_addresses', 'pool="pods"')).toBe(65536);
    expect(sum(node, 'tabby_ipam_addresses_free', 'pool="pods"')).toBe(65536);
    expect(sum(node, 'tabby_fib_in_sync')).toBe(1);
    expect(sum(node, 'tabby_fib_apply_duration_seconds_count', 'mode="full"')).toBeGreaterThan(0);
    expect(sum(node, 'tabby_fib_resyncs_total')).toBeGreaterThan(0);
    expect(sum(node, 'tabby_fib_conflicts')).toBe(0);
    // What the FIB counts as programmed is what the kernel holds with Tabby's protocols.
    const kernel = JSON.parse((await nodeNs.ip(['-json', 'route', 'show', 'table', 'main'])).stdout || '[]') as {
      protocol?: string;
    }[];
    const owned = kernel.filter((r) => r.protocol === '80' || r.protocol === 'bgp').length;
    expect(owned).toBeGreaterThan(0);
    expect(sum(node, 'tabby_fib_routes_programmed')).toBe(owned);
    expect(sum(node, 'tabby_fib_routes_desired')).toBe(owned);
  });

  it('the Grafana dashboard queries only metrics the daemons export, and covers each area', async () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as unknown;
    const queried = new Set(dashboardExpressions(dashboard).flatMap(queriedMetrics));
    // Fresh scrapes, so that this test also runs alone.
    const have = exported(
      await Promise.all([nodeNs, rrNs, bgpdNs].map((ns) => scrapeWhen(ns, '/metrics', (x) => x.types.size > 0))),
    );
    expect([...queried].filter((m) => !have.has(m))).toEqual([]);
    for (const area of ['tabby_bgp_', 'tabby_bfd_', 'tabby_fib_', 'tabby_datastore_', 'tabby_confd_', 'tabby_ipam_'])
      expect([...queried].some((m) => m.startsWith(area))).toBe(true);
    expect(queried).toContain('tabby_bgp_peer_flaps_total');
    expect(queried).toContain('tabby_fib_apply_duration_seconds_bucket');
  });
});
