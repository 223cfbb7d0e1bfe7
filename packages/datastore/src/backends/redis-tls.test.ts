import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, haveCommands, tcpOpen, waitFor } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatastore } from '../open.js';

const run = promisify(execFile);

// The shared helper starts plain-TCP Redis only, so this suite runs its own TLS-only redis-server
// on 127.0.0.1 with a throwaway CA, and tears it down in afterAll.
describe.skipIf(!haveCommands('openssl', 'redis-server'))('redis over TLS (rediss://)', () => {
  let dir: string;
  let port: number;
  let proc: ChildProcess | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tabby-redis-tls-'));
    const f = (n: string) => join(dir, n);
    const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
    await ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=tabby-test-ca',
    );
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f('server.key'),
      '-out',
      f('server.csr'),
      '-subj',
      '/CN=127.0.0.1',
    );
    writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    await ssl(
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('server.pem'),
      '-days',
      '1',
      '-extfile',
      f('ext.cnf'),
    );
    port = await freePort();
    const args = ['--bind', '127.0.0.1', '--port', '0', '--tls-port', String(port)];
    args.push('--tls-cert-file', f('server.pem'), '--tls-key-file', f('server.key'), '--tls-ca-cert-file', f('ca.pem'));
    args.push('--tls-auth-clients', 'no', '--dir', dir, '--save', '', '--appendonly', 'no');
    proc = spawn('redis-server', args, { stdio: 'ignore' });
    await waitFor('TLS redis-server to listen', () => tcpOpen('127.0.0.1', port));
  });

  afterAll(() => {
    proc?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('connects with the CA from the URL, and refuses a server it cannot verify', async () => {
    const ds = openDatastore(`rediss://127.0.0.1:${port}/0?ca=${encodeURIComponent(join(dir, 'ca.pem'))}`);
    try {
      await ds.create('/tls/k', 'v');
      expect((await ds.get('/tls/k'))?.value).toBe('v');
    } finally {
      await ds.close();
    }
    const untrusted = openDatastore(`rediss://127.0.0.1:${port}/0`);
    try {
      await expect(untrusted.get('/tls/k')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await untrusted.close();
    }
  });
});
