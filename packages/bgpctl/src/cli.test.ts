import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ControlHandler,
  ControlServer,
  daemonRegistry,
  MemoryNetwork,
  parseConfig,
  registerSpeakerMetrics,
  Speaker,
} from '@tabby/bgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatNodeStatus } from './format.js';
import { fmtTimeframe, main, parseRibWords } from './index.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('bgpctl against a running speaker', () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'tabby-bgpctl-')), 'bgpd.sock');
  const net = new MemoryNetwork();
  const mk = (id: string, peer: string, extra = '') =>
    new Speaker(
      parseConfig(
        `routerId: ${id}\nasn: 64512\nlisten: { address: ${id}, port: 179 }\n${extra}peers:\n  - { name: other, address: ${peer}, asn: 64512, description: "the other one" }\n`,
      ),
      { transport: net.transport(id) },
    );
  const a = mk('198.18.0.1', '198.18.0.2', 'originate:\n  - { prefix: 198.18.64.0/26, communities: ["64512:100"] }\n');
  const b = mk('198.18.0.2', '198.18.0.1');
  const server = new ControlServer(socket, new ControlHandler(b, { version: 'test' }).handle);

  beforeAll(async () => {
    await Promise.all([a.start(), b.start(), server.start()]);
    const end = Date.now() + 3000;
    while (b.rib.size === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  });
  afterAll(async () => {
    await server.stop();
    await a.stop();
    await b.stop();
  });

  it('show summary: OpenBGPD columns, one line per peer', async () => {
    const r = await run('-s', socket, 'show', 'summary');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toBe('BGP router ID 198.18.0.2, local AS 64512, 1 neighbor');
    expect(lines[1]?.split(/\s{2,}/)).toEqual([
      'Neighbor',
      'AS',
      'MsgRcvd',
      'MsgSent',
      'OutQ',
      'Up/Down',
      'State/PrfRcvd',
    ]);
    expect(lines[2]).toMatch(/^other\s+64512\s+\d+\s+\d+\s+0\s+\d\d:\d\d:\d\d\s+1$/);
  });

  it('--json carries the same data with stable snake_case keys and AS numbers as strings', async () => {
    const r = await run('-s', socket, '--json', 'show', 'summary');
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ router_id: '198.18.0.2', local_as: '64512' });
    expect(j.peers[0]).toMatchObject({ name: 'other', remote_as: '64512', state: 'Established', prefixes_received: 1 });
    for (const k of Object.keys(j.peers[0])) expect(k).toMatch(/^[a-z_]+$/);
  });

  it('show rib: legend, flags and attributes; detail; by address', async () => {
    const r = await run('-s', socket, 'show', 'rib');
    expect(r.out).toContain('flags: * = valid, > = selected, = = ECMP member, I = via iBGP');
    expect(r.out).toMatch(/\*>I\s+198\.18\.64\.0\/26\s+198\.18\.0\.1\s+100\s+0\s+i/);
    const d = await run('-s', socket, 'show', 'rib', '198.18.64.5', 'detail');
    expect(d.out).toContain('Communities: 64512:100');
    const json = JSON.parse((await run('-s', socket, '-j', 'show', 'rib', 'in', 'other')).out);
    expect(json).toMatchObject({ table: 'in', peer: 'other', routes: [{ prefix: '198.18.64.0/26', from: 'other' }] });
  });

  it('show neighbor and show status', async () => {
    const n = await run('-s', socket, 'show', 'neighbor', 'other');
    expect(n.out).toContain('BGP neighbor is 198.18.0.1, port 179, remote AS 64512, internal link');
    expect(n.out).toContain('description: the other one');
    expect(n.out).toMatch(/Capabilities received: .*as4 64512/);
    // One neighbor as JSON is its object; all of them a list.
    expect(JSON.parse((await run('-s', socket, '-j', 'show', 'neighbor', 'other')).out)).toMatchObject({
      name: 'other',
      state: 'Established',
    });
    expect(JSON.parse((await run('-s', socket, '-j', 'show', 'neighbor')).out)).toMatchObject([{ name: 'other' }]);
    const s = await run('-s', socket, 'show', 'status');
    expect(s.out).toContain('Peers: 1 of 1 established');
  });

  it('neighbor down / up', async () => {
    expect((await run('-s', socket, 'neighbor', 'other', 'down', '-m', 'maintenance')).out).toContain(
      'other: down requested, state Idle',
    );
    const j = JSON.parse((await run('-s', socket, '-j', 'show', 'summary')).out);
    expect(j.peers[0]).toMatchObject({ state: 'Idle', admin_down: true });
    expect((await run('-s', socket, 'neighbor', 'other', 'up')).code).toBe(0);
  });

  it('a one-line error and exit 1 for an unknown peer, a bad command, a missing socket', async () => {
    expect(await run('-s', socket, 'neighbor', 'nobody', 'clear')).toMatchObject({
      code: 1,
      err: 'bgpctl: no neighbor "nobody" (configured: other)\n',
    });
    const bad = await run('-s', socket, 'show', 'bogus');
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^bgpctl: Invalid values/);
    const missing = await run('-s', '/nonexistent/bgpd.sock', 'show', 'summary');
    expect(missing).toMatchObject({ code: 1 });
    expect(missing.err).toBe(
      'bgpctl: no control socket at /nonexistent/bgpd.sock: is the speaker running? (pick another socket with -s PATH)\n',
    );
  });

  it('exposes Prometheus metrics for the same state', async () => {
    const registry = daemonRegistry();
    registerSpeakerMetrics(registry, () => b);
    const m = await registry.metrics();
    expect(m).toMatch(/^tabby_bgp_peer_state\{peer="other",address="198\.18\.0\.1"\} 5$/m);
    expect(m).toMatch(/^tabby_bgp_peer_up\{peer="other",address="198\.18\.0\.1"\} 1$/m);
    expect(m).toMatch(/^tabby_bgp_peer_routes_received\{peer="other",address="198\.18\.0\.1"\} 1$/m);
    expect(m).toMatch(
      /^tabby_bgp_peer_messages_received_total\{peer="other",address="198\.18\.0\.1",type="update"\} [1-9]\d*$/m,
    );
    expect(m).toContain('# TYPE tabby_bgp_peer_messages_received_total counter');
  });
});

describe('bgpctl helpers', () => {
  it.each([
    [null, 'Never'],
    [59, '00:00:59'],
    [3 * 3600 + 5, '03:00:05'],
    [86400 * 2 + 3600 + 60, '2d01h01m'],
    [86400 * 15 + 7200, '2w1d02h'],
  ])('fmtTimeframe(%s) = %s', (s, text) => {
    expect(fmtTimeframe(s)).toBe(text);
  });

  it('parses show rib words', () => {
    expect(parseRibWords(['10.0.0.0/8', 'detail', 'in', 'tor'])).toEqual({
      prefix: '10.0.0.0/8',
      detail: true,
      table: 'in',
      peer: 'tor',
    });
    expect(() => parseRibWords(['out'])).toThrow(/needs a peer/);
    expect(() => parseRibWords(['wat'])).toThrow(/unexpected "wat"/);
  });
});

describe('bgpctl as a tool scripts can trust', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tabby-bgpctl-'));
  let n = 0;
  /** A fake speaker: answers each request line with what `answer` returns (undefined: nothing). */
  async function fake(answer: (req: { id: number; command: string }) => string | undefined) {
    const path = join(dir, `fake-${n++}.sock`);
    const srv = net.createServer((s) => {
      let buf = '';
      s.setEncoding('utf8');
      s.on('error', () => {});
      s.on('data', (d: string) => {
        buf += d;
        for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
          const a = answer(JSON.parse(buf.slice(0, nl)));
          buf = buf.slice(nl + 1);
          if (a === 'CLOSE') s.destroy();
          else if (a !== undefined) s.write(a);
        }
      });
    });
    await new Promise<void>((r) => srv.listen(path, () => r()));
    return { path, close: () => new Promise<void>((r) => srv.close(() => r())) };
  }

  it('gives up after --timeout with one line when the speaker never answers', async () => {
    const f = await fake(() => undefined);
    const r = await run('-s', f.path, '--timeout', '0.3', 'show', 'summary');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^bgpctl: no answer to "show summary" from .* within 0\.3 s .*\n$/);
    expect(r.err.split('\n')).toHaveLength(2);
    await f.close();
  });

  it('refuses bad arguments and stray words with a usage line, before asking anything', async () => {
    for (const argv of [
      ['show', 'rib', '--limit', 'abc'],
      ['show', 'rib', '--limit', '0'],
      ['show', 'rib', '--limit', '1.5'],
      ['show', 'summary', 'extra'],
      ['show', 'neighbor', 'a', 'b'],
      ['show', 'fib', 'x'],
      ['show', 'status', 'now'],
      ['show', 'summary', '--limit', '5'],
      ['--timeout', 'abc', 'show', 'summary'],
      ['--timeout', '0', 'show', 'summary'],
      ['neighbor', 'a', 'up', '-m', 'hello'],
      ['neighbor', 'a', 'down', '-m', 'x'.repeat(256)],
    ]) {
      const r = await run('-s', '/nonexistent/bgpd.sock', ...argv);
      expect([argv.join(' '), r.code]).toEqual([argv.join(' '), 1]);
      expect(r.err).toMatch(/^bgpctl: .*\nRun 'bgpctl --help' for usage\.\n$/);
    }
  });

  it('reload: counts what changed and names the first ten of each kind; --json names them all', async () => {
    const names = Array.from({ length: 10_000 }, (_, i) => `c${i}`);
    const result = {
      peers_added: ['new'],
      peers_removed: [],
      peers_reset: names,
      peers_changed: [],
      peers_unchanged: ['a', 'b'],
      policies_changed: false,
    };
    const f = await fake((req) => `${JSON.stringify({ id: req.id, ok: true, result })}\n`);
    const r = await run('-s', f.path, 'reload');
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'reload done',
        'added (1): new',
        'reset (session-level change) (10000): c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, and 9990 more (--json lists them all)',
        '2 unchanged',
        '',
      ].join('\n'),
    );
    const j = await run('-s', f.path, '--json', 'reload');
    expect(JSON.parse(j.out).peers_reset).toHaveLength(10_000);
    await f.close();
  });

  it('never crashes on a malformed answer: one line, exit 1', async () => {
    const answers = [
      'null\n',
      '5\n',
      '"x"\n',
      'not json\n',
      '{"id":1}\n',
      '{"id":1,"ok":true,"result":null}\n',
      '{"id":1,"ok":true,"result":{"router_id":5}}\n',
      '{"id":1,"ok":false,"error":null}\n',
      '{"id":1,"ok":false}\n',
      'CLOSE',
    ];
    for (const a of answers) {
      const f = await fake(() => a);
      for (const argv of [
        ['show', 'summary'],
        ['--json', 'show', 'summary'],
      ]) {
        const r = await run('-s', f.path, '--timeout', '2', ...argv);
        expect([a, argv[0], r.code]).toEqual([a, argv[0], 1]);
        expect(r.err).toMatch(/^bgpctl: [^\n]+\n$/);
        expect(r.err).not.toMatch(/TypeError|Cannot read|at /);
      }
      await f.close();
    }
    // Right outline, wrong inside: --json prints it as it came; the text form cannot, and says so.
    const f = await fake(
      () => '{"id":1,"ok":true,"result":{"router_id":"x","local_as":"1","peers":[{"name":null}]}}\n',
    );
    const r = await run('-s', f.path, 'show', 'summary');
    expect(r).toEqual({ code: 1, out: '', err: 'bgpctl: unexpected answer from the speaker: it cannot be printed\n' });
    await f.close();
  });
});

describe('bgpctl node status', () => {
  const peer = {
    peer_address: '198.18.0.2',
    peer_type: 'node-to-node mesh',
    state: 'up',
    since: '2026-12-04T18:04:46.000Z',
    info: 'Established',
  };
  it('says why a node is not ready, and the last error only when it says more', () => {
    const notReady = formatNodeStatus({
      node: 'n1',
      ready: false,
      reason: 'datastore redis://198.18.0.254:6379/0 unreachable: connect ECONNREFUSED 198.18.0.254:6379',
      error: '',
      peers: [peer],
    });
    expect(notReady.split('\n')[0]).toBe(
      'Tabby node n1 is running (not ready: datastore redis://198.18.0.254:6379/0 unreachable: connect ECONNREFUSED 198.18.0.254:6379).',
    );
    expect(notReady).not.toContain('Last error');
    const failing = formatNodeStatus({
      node: 'n1',
      ready: false,
      reason: 'sessions not Established: 198.18.0.2 (Active)',
      error: 'FIB apply failed',
      peers: [],
    });
    expect(failing.split('\n').slice(0, 2)).toEqual([
      'Tabby node n1 is running (not ready: sessions not Established: 198.18.0.2 (Active)).',
      'Last error: FIB apply failed',
    ]);
    expect(formatNodeStatus({ node: 'n1', ready: true, error: '', peers: [peer] }).split('\n')[0]).toBe(
      'Tabby node n1 is running (ready).',
    );
  });
});
