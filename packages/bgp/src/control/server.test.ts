import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ControlError } from './protocol.js';
import { ControlServer } from './server.js';

const servers: ControlServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

function socketPath(): string {
  return join(mkdtempSync(join(tmpdir(), 'tabby-ctl-')), 'bgpd.sock');
}

/** Sends raw lines and collects `n` response lines. */
function talk(path: string, lines: string[], n: number): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const s = net.createConnection({ path });
    let buf = '';
    const out: unknown[] = [];
    s.setEncoding('utf8');
    s.on('data', (d: string) => {
      buf += d;
      let nl = buf.indexOf('\n');
      while (nl >= 0) {
        out.push(JSON.parse(buf.slice(0, nl)));
        buf = buf.slice(nl + 1);
        nl = buf.indexOf('\n');
      }
      if (out.length >= n) {
        s.end();
        resolve(out);
      }
    });
    s.on('error', reject);
    s.write(lines.map((l) => `${l}\n`).join(''));
  });
}

async function start(handler: ConstructorParameters<typeof ControlServer>[1]): Promise<ControlServer> {
  const srv = new ControlServer(socketPath(), handler);
  await srv.start();
  servers.push(srv);
  return srv;
}

describe('ControlServer', () => {
  it('answers requests in order with ids, results and coded errors, on a 0660 socket', async () => {
    const srv = await start((command, args) => {
      if (command === 'echo') return args;
      throw new ControlError('UNKNOWN_COMMAND', `unknown command "${command}"`);
    });
    expect(statSync(srv.path).mode & 0o777).toBe(0o660);
    const out = await talk(
      srv.path,
      ['{"id":1,"command":"echo","args":{"x":1}}', '{"id":2,"command":"nope"}', 'not json'],
      3,
    );
    expect(out).toEqual([
      { id: 1, ok: true, result: { x: 1 } },
      { id: 2, ok: false, error: { code: 'UNKNOWN_COMMAND', message: 'unknown command "nope"' } },
      { id: 0, ok: false, error: expect.objectContaining({ code: 'BAD_REQUEST' }) },
    ]);
  });

  it('keeps answering other clients while one request is stuck', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((r) => {
      release = r;
    });
    const srv = await start(async (command) => {
      if (command === 'slow') await stuck;
      return command;
    });
    const slow = talk(srv.path, ['{"id":1,"command":"slow"}'], 1);
    const fast = await talk(srv.path, ['{"id":7,"command":"fast"}'], 1);
    expect(fast).toEqual([{ id: 7, ok: true, result: 'fast' }]);
    release();
    expect(await slow).toEqual([{ id: 1, ok: true, result: 'slow' }]);
  });

  it('replaces a stale socket file but refuses one that is in use', async () => {
    const first = await start(() => 'one');
    const second = new ControlServer(first.path, () => 'two');
    await expect(second.start()).rejects.toMatchObject({ code: 'SOCKET_IN_USE' });
    await first.stop();
    servers.length = 0;
    // A daemon killed with SIGKILL leaves its socket file behind with nobody listening.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(first.path)}, () => console.log('up'))`,
    ]);
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(existsSync(first.path)).toBe(true);
    const third = await start(() => 'three');
    expect(await talk(third.path, ['{"id":1,"command":"x"}'], 1)).toEqual([{ id: 1, ok: true, result: 'three' }]);
  });
});
