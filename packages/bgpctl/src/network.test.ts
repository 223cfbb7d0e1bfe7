import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlHandler, ControlServer, MemoryNetwork, parseConfig, Speaker } from '@tabby/bgp';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from './index.js';
import { formatNetworks, networkRequest } from './network.js';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('bgpctl network', () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'tabby-bgpctl-net-')), 'bgpd.sock');
  const speaker = new Speaker(
    parseConfig(
      'routerId: 198.18.0.1\nasn: 64512\nlisten: { enabled: false }\noriginate:\n  - { prefix: 198.18.64.0/26, communities: ["64512:100"] }\npeers: []\n',
      'bgpd.yaml',
    ),
    { transport: new MemoryNetwork().transport('198.18.0.1') },
  );
  const server = new ControlServer(socket, new ControlHandler(speaker, { version: 'test' }).handle);

  beforeAll(async () => {
    await Promise.all([speaker.start(), server.start()]);
  });
  afterAll(async () => {
    await server.stop();
    await speaker.stop();
  });

  it('add, show (text and --json), delete, flush', async () => {
    expect(await run('-s', socket, 'network', 'add', '198.18.70.0/24', '64512:70', 'no-export', '64512:1:2')).toEqual({
      code: 0,
      out: '198.18.70.0/24 added (1 runtime network)\n',
      err: '',
    });
    const text = await run('-s', socket, 'network', 'show');
    expect(text.out).toBe(
      [
        'Prefix          Origin   Communities',
        '198.18.64.0/26  config   64512:100',
        '198.18.70.0/24  runtime  64512:70 no-export 64512:1:2',
        '1 runtime network (at most 10000; not persisted: lost when the speaker restarts)',
        '',
      ].join('\n'),
    );
    const json = JSON.parse((await run('-s', socket, '--json', 'network', 'show')).out);
    expect(json.networks[1]).toEqual({
      prefix: '198.18.70.0/24',
      origin: 'runtime',
      communities: ['64512:70', 'no-export'],
      large_communities: ['64512:1:2'],
      blackhole: false,
    });
    expect((await run('-s', socket, 'network', 'delete', '198.18.70.0/24')).out).toBe(
      '198.18.70.0/24 deleted (0 runtime networks)\n',
    );
    await run('-s', socket, 'network', 'add', '2001:db8:70::/48');
    expect((await run('-s', socket, 'network', 'flush')).out).toBe('withdrawn: 2001:db8:70::/48\n');
    expect((await run('-s', socket, 'network', 'flush')).out).toBe('no runtime networks to withdraw\n');
  });

  it("the speaker's refusals are one line on stderr and exit 1", async () => {
    expect(await run('-s', socket, 'network', 'add', '198.18.70.1/24')).toEqual({
      code: 1,
      out: '',
      err: 'bgpctl: 198.18.70.1/24 has host bits set; did you mean 198.18.70.0/24?\n',
    });
    const bad = await run('-s', socket, 'network', 'add', '198.18.70.0/24', '64512:70000');
    expect(bad.err).toMatch(/^bgpctl: "64512:70000" is not a community: aa:nn .*\n$/);
    expect((await run('-s', socket, 'network', 'delete', '198.18.64.0/26')).err).toBe(
      'bgpctl: 198.18.64.0/26 comes from the config file (bgpd.yaml): remove it there and reload\n',
    );
  });

  it('usage mistakes are caught before the speaker is asked', async () => {
    const r = await run('-s', '/nonexistent/sock', 'network', 'add');
    expect(r).toMatchObject({ code: 1, out: '' });
    expect(r.err).toContain('network add needs a prefix: network add PREFIX [COMMUNITY ...]');
    expect((await run('-s', '/nonexistent/sock', 'network', 'show', 'x')).err).toContain(
      'unexpected "x": network show takes no more words',
    );
    expect((await run('-s', '/nonexistent/sock', 'network', 'remove', 'x')).err).toMatch(/Invalid values|Choices/);
    expect(networkRequest('delete', ['198.18.70.0/24'])).toEqual({
      command: 'network delete',
      args: { prefix: '198.18.70.0/24' },
    });
  });

  it('--help teaches the commands, the community forms and that nothing is persisted', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const r = await run('network', '--help');
    const help = log.mock.calls.flat().join('\n');
    log.mockRestore();
    expect(r.code).toBe(0);
    expect(help).toContain('network add PREFIX [COMMUNITY ...]');
    expect(help).toContain('not persisted');
    expect(help).toContain('a:b:c');
    expect(help).toContain('bgpctl network add 198.18.70.0/24 64512:70 ');
    expect(formatNetworks({ networks: [], runtime: 0, runtime_limit: 10 })).toMatch(/^no networks announced\n/);
  });
});
