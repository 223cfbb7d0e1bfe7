import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLab } from './demo.js';
import { InProcessLab } from './in-process.js';
import { checkLabFree, LabBusyError, tcpListener, unixListener } from './preflight.js';

/** A port free on 127.0.0.11 right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host: '127.0.0.11', port: 0 }, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function second(opts: { port: number; socketDir: string }): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runLab(
    { nodes: 2, pods: 0, ...opts },
    { stdout: (s) => (out += s), stderr: (s) => (err += s) },
    new Promise(() => {}),
  );
  return { code, out, err };
}

describe('a second lab while one runs', () => {
  let port: number;
  const socketDir = mkdtempSync(join(tmpdir(), 'tabby-lab-busy-'));
  let first: InProcessLab;

  beforeAll(async () => {
    port = await freePort();
    first = new InProcessLab({ nodes: 2, pods: 0, port, socketDir });
    await first.up();
  });
  afterAll(async () => {
    await first?.down();
  });

  it('on the same control sockets: one line naming the socket and this process, exit 1, nothing brought up', async () => {
    const r = await second({ port, socketDir });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const sock = join(socketDir, 'node-1.sock').replace(/[.]/g, '\\.');
    expect(r.err).toMatch(
      new RegExp(
        `^tabby lab: control socket ${sock} is held by pid ${process.pid} \\(.*\\): another tabby lab or demo is running \\(stop it with Ctrl-C there\\)\\n$`,
      ),
    );
    // The first lab's sockets still answer.
    expect(unixListener(join(socketDir, 'node-1.sock'))).toMatch(new RegExp(`^pid ${process.pid} `));
  });

  it('on the same BGP port: one line naming the address:port and its holder', async () => {
    const r = await second({ port, socketDir: mkdtempSync(join(tmpdir(), 'tabby-lab-busy2-')) });
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.split('\n')).toHaveLength(2);
    expect(r.err).toMatch(
      new RegExp(
        `^tabby lab: 127\\.0\\.0\\.11:${port} is held by pid ${process.pid} .*: is another tabby lab or demo running\\? Stop it \\(Ctrl-C there\\) or use --port\\n$`,
      ),
    );
    expect(tcpListener('127.0.0.12', port)).toMatch(new RegExp(`^pid ${process.pid} `));
  });

  it('a free port and fresh sockets pass; the memory transport needs no port', async () => {
    const other = await freePort();
    await expect(
      checkLabFree({ addresses: ['127.0.0.11'], port: other, sockets: [join(socketDir, 'none.sock')] }),
    ).resolves.toBeUndefined();
    await expect(
      new InProcessLab({ nodes: 2, port, transport: 'memory', socketDir: tmpdir() }).checkFree(),
    ).resolves.toBeUndefined();
    await expect(new InProcessLab({ nodes: 2, port, socketDir }).checkFree()).rejects.toBeInstanceOf(LabBusyError);
  });
});
