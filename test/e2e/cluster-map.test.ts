/// <reference lib="dom" />
// (page.evaluate callbacks run in the browser)
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { workloadInterfaceName } from '@tabby/fib';
import { clusterYaml, NetnsLab, netnsLabSource, type Pod } from '@tabby/lab';
import { available, canUseNetns, haveCommands, NetLab, waitFor } from '@tabby/test-helpers';
import { type ClusterView, type Hop, UiServer } from '@tabby/ui';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';

/** Debian's chromium (apt-get install chromium); required under CI=true. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
/** Set to a folder (docs/images) to save the map and tracer screenshots there. */
const SHOTS = process.env.TABBY_MAP_SCREENSHOTS;

interface RouteGet {
  gateway?: string;
  dev?: string;
}

async function routeGet(ns: { ip: (a: string[]) => Promise<{ stdout: string }> }, args: string[]): Promise<RouteGet> {
  return (JSON.parse((await ns.ip(['-j', 'route', 'get', ...args])).stdout) as RouteGet[])[0]!;
}

const NODE_UI_PORT = 18080;

/** GET on n1's own map, from inside its namespace (where its 127.0.0.1 is). */
async function nodeMap<T>(lab: NetnsLab, path: string): Promise<T> {
  const script = `const r = await fetch('http://127.0.0.1:${NODE_UI_PORT}${path}'); process.stdout.write(await r.text());`;
  const out = await lab.nodes[0]!.ns.exec([process.execPath, '--input-type=module', '-e', script]);
  return JSON.parse(out.stdout) as T;
}

/** Class names of the map's session lines and nodes, as the page has them now. */
function mapState(page: Page) {
  return page.evaluate(() => ({
    nodes: [...document.querySelectorAll('#map g.node')].map(
      (g) => `${g.getAttribute('data-node')} ${g.getAttribute('class')}`,
    ),
    sessions: [...document.querySelectorAll('#map line.session')].map(
      (l) => `${l.getAttribute('data-a')}-${l.getAttribute('data-b')} ${l.getAttribute('class')}`,
    ),
  }));
}

describe.skipIf(
  !(
    canUseNetns() &&
    haveCommands('redis-server', 'redis-cli') &&
    available('chromium (apt-get install chromium)', CHROMIUM !== undefined)
  ),
)('e2e: the cluster map in headless chromium over a netns lab', () => {
  it('shows every node and session, traces pod to pod as ip route get does, and turns a killed node red', async () => {
    const net = new NetLab();
    const lab = new NetnsLab(net);
    const pods: Pod[] = [];
    let server: UiServer | undefined;
    let browser: Browser | undefined;
    try {
      await lab.start(3);
      await lab.apply(clusterYaml(3));
      // n1 also serves its own map (tabby node --ui), on 127.0.0.1 inside its namespace.
      await Promise.all(lab.nodes.map((n, i) => lab.startNode(n, i === 0 ? ['--ui', String(NODE_UI_PORT)] : [])));
      for (const n of lab.nodes) pods.push(await lab.addPod(n, `web-${n.name}`));
      const [a, , c] = pods as [Pod, Pod, Pod];
      await waitFor('web-n1 reaches web-n3', () => lab.ping(a, c.ip), 60_000);

      const source = netnsLabSource(lab, pods, 0);
      // What one read of the lab costs (reported, not asserted): the server does one every 250 ms.
      const readStart = performance.now();
      for (let i = 0; i < 10; i++) await source.view();
      console.log(
        `cluster map: one read of the 3-node lab takes ${((performance.now() - readStart) / 10).toFixed(1)} ms`,
      );
      server = new UiServer({ source, port: 0, intervalMs: 250 });
      const url = await server.start();
      browser = await puppeteer.launch({
        executablePath: CHROMIUM!,
        // Root in a container: no user namespaces for chromium's sandbox.
        args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage'],
      });
      const page = await browser.newPage();
      await page.setViewport({ width: 1280, height: 760 });
      await page.goto(url);

      // The map: three nodes, three mesh sessions, all Established (green).
      await page.waitForFunction(() => document.querySelectorAll('#map line.session.established').length === 3, {
        timeout: 30_000,
      });
      const before = await mapState(page);
      expect(before.nodes).toEqual(['n1 node up', 'n2 node up', 'n3 node up']);
      expect(before.sessions).toEqual([
        'n1-n2 session established',
        'n1-n3 session established',
        'n2-n3 session established',
      ]);
      expect(await page.$$eval('#map g.pod', (gs) => gs.map((g) => g.getAttribute('data-pod')))).toEqual(
        pods.map((p) => p.name),
      );
      const card = await page.$eval('#card-n1 pre.routes', (e) => e.textContent ?? '');
      expect(card).toMatch(/^blackhole 198\.19\.\d+\.\d+\/26 proto /m);
      if (SHOTS) {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, 'cluster-map.png') });
      }

      // The tracer: web-n1 to web-n3, each hop as the kernel decides it in that namespace.
      await page.click('button[data-tab="tracer"]');
      await page.select('#from', a.name);
      await page.select('#to', c.name);
      await page.click('#trace');
      await page.waitForSelector('#hops[data-state="done"]', { timeout: 10_000 });
      const hops = await page.$$eval('#hops li', (lis) =>
        lis.map((li) => ({
          at: li.getAttribute('data-at'),
          kind: li.getAttribute('data-kind'),
          text: li.querySelector('code')?.textContent ?? '',
        })),
      );
      expect(hops.map((h) => `${h.at} ${h.kind}`)).toEqual([
        `${a.name} pod`,
        'n1 veth',
        'n1 host-route',
        'n1 next-hop',
        'n3 cali-route',
        `${c.name} pod`,
      ]);
      const inPod = await routeGet(a.ns, [c.ip]);
      expect(hops[0]!.text).toBe(`${a.ip} → ${c.ip} via ${inPod.gateway} dev ${inPod.dev}`);
      const ifA = workloadInterfaceName('default', a.name);
      expect(hops[1]!.text).toContain(`in on ${ifA}`);
      const onN1 = await routeGet(lab.nodes[0]!.ns, [c.ip, 'from', a.ip, 'iif', ifA]);
      expect(onN1).toMatchObject({ gateway: '198.18.0.3', dev: 'eth0' });
      expect(hops[2]!.text).toMatch(new RegExp(`^198\\.19\\.\\d+\\.\\d+/26 via ${onN1.gateway} dev ${onN1.dev} proto`));
      expect(hops[3]!.text).toBe(`out ${onN1.dev} to ${onN1.gateway} (n3)`);
      const onN3 = await routeGet(lab.nodes[2]!.ns, [c.ip, 'from', a.ip, 'iif', 'eth0']);
      expect(onN3.dev).toBe(workloadInterfaceName('default', c.name));
      expect(hops[4]!.text).toBe(`${c.ip} dev ${onN3.dev} proto 80 scope link`);
      await page.waitForSelector('#map g.node.on-path[data-node="n3"]');
      if (SHOTS) await page.screenshot({ path: join(SHOTS, 'path-tracer.png') });

      // tabby node --ui on n1: the cluster as n1 sees it, and a trace through n1's own table.
      // (It reads Nodes and WorkloadEndpoints from the datastore every 5 s.)
      const own = await waitFor(
        "n1's own map lists every pod",
        async () => {
          const v = await nodeMap<ClusterView>(lab, '/api/view');
          return v.pods.length === pods.length ? v : null;
        },
        15_000,
      );
      expect(own.title).toBe('n1: the cluster as this node sees it');
      expect(own.nodes.map((n) => `${n.name} ${n.up} ${n.blocks.length}`)).toEqual([
        'n1 true 1',
        'n2 true 1',
        'n3 true 1',
      ]);
      expect(own.sessions.map((x) => `${x.a}-${x.b} ${x.class}`)).toEqual(['n1-n2 established', 'n1-n3 established']);
      expect(own.pods.map((p) => p.name)).toEqual(pods.map((p) => p.name));
      const ownTrace = await nodeMap<{ hops: Hop[] }>(lab, `/api/trace?from=${a.name}&to=${c.name}`);
      expect(ownTrace.hops.map((h) => `${h.at} ${h.kind}`)).toEqual([
        `${a.name} pod`,
        'n1 veth',
        'n1 host-route',
        'n1 next-hop',
        'n3 beyond',
      ]);
      expect(ownTrace.hops[3]!.text).toBe(hops[3]!.text);

      // Kill n3's agent: its sessions turn red and n3 shows as not answering; n1-n2 stays green.
      const killed = Date.now();
      await lab.nodes[2]!.proc!.kill('SIGKILL');
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#map line.session')]
            .filter((l) => l.getAttribute('data-b') === 'n3')
            .every((l) => l.classList.contains('down')) &&
          document.querySelector('#map g.node[data-node="n3"]')?.classList.contains('down'),
        { timeout: 30_000, polling: 50 },
      );
      // Speed is reported, not asserted (no timed assertions): see docs/getting-started.md.
      console.log(`cluster map: n3's sessions red ${Date.now() - killed} ms after its agent was killed`);
      const after = await mapState(page);
      expect(after.sessions).toEqual(['n1-n2 session established', 'n1-n3 session down', 'n2-n3 session down']);
      expect(after.nodes.find((n) => n.startsWith('n3 '))).toMatch(/^n3 node down\b/);
      if (SHOTS) {
        await page.click('button[data-tab="nodes"]');
        await page.screenshot({ path: join(SHOTS, 'cluster-map-node-down.png') });
      }
      await waitFor(
        "n1's own map shows n1-n3 down",
        async () => (await nodeMap<ClusterView>(lab, '/api/view')).sessions.find((x) => x.b === 'n3')?.class === 'down',
        10_000,
      );
    } finally {
      await browser?.close();
      await server?.stop();
      await lab.stop().catch(() => {});
      await net.destroy();
    }
  }, 150_000);
});
