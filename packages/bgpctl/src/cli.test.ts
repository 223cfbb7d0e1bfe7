import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlHandler, ControlServer, MemoryNetwork, parseConfig, renderMetrics, Speaker } from '@tabby/bgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

  it('exposes Prometheus metrics for the same state', () => {
    const m = renderMetrics(b);
    expect(m).toMatch(/^bgp_peer_state\{peer="other",address="198\.18\.0\.1"\} \d$/m);
    expect(m).toMatch(/^bgp_routes_received\{peer="other",address="198\.18\.0\.1"\} 1$/m);
    expect(m).toContain('# TYPE bgp_messages_received_total counter');
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
