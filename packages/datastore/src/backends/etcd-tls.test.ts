import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, haveCommands, tcpOpen } from '@tabby/test-helpers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Datastore } from '../datastore.js';
import { DatastoreError } from '../errors.js';
import { openDatastore } from '../open.js';
import { collect } from '../testing/compliance.js';

const run = promisify(execFile);

// The shared EtcdServer helper speaks plain HTTP only, so this suite runs its own TLS-only etcd
// members on 127.0.0.1 with a throwaway CA (as redis-tls.test.ts does), and tears them down in afterAll.
describe.skipIf(!haveCommands('etcd', 'openssl'))('etcd over TLS (etcds://)', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  let port: number; // server certificate verification only
  let mtlsPort: number; // --client-cert-auth
  const f = (n: string) => join(dir, n);
  const q = (n: string) => encodeURIComponent(f(n));

  const ssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  const makeCa = (name: string) =>
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-subj',
      `/CN=tabby-test-${name}`,
    );
  const makeCert = async (name: string, cn: string, ext: string) => {
    await ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.csr`),
      '-subj',
      `/CN=${cn}`,
    );
    writeFileSync(f(`${name}.cnf`), ext);
    await ssl(
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-extfile',
      f(`${name}.cnf`),
    );
  };

  /**
   * Starts a TLS etcd member on free ports. The ports are free when picked but another process
   * may take one before etcd binds it: an etcd that exits during start-up is tried again on new
   * ports (three times), and its last words are in the error.
   */
  const startEtcd = async (name: string, clientCertAuth: boolean): Promise<number> => {
    let last = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const client = `https://127.0.0.1:${await freePort()}`;
      const peer = `http://127.0.0.1:${await freePort()}`;
      rmSync(f(`${name}.etcd`), { recursive: true, force: true });
      const args = ['--name', name, '--data-dir', f(`${name}.etcd`)];
      args.push('--listen-client-urls', client, '--advertise-client-urls', client);
      args.push(
        '--listen-peer-urls',
        peer,
        '--initial-advertise-peer-urls',
        peer,
        '--initial-cluster',
        `${name}=${peer}`,
      );
      args.push('--cert-file', f('server.pem'), '--key-file', f('server.key'));
      // etcd 3.4 requires a client certificate as soon as it has a --trusted-ca-file, so the
      // verification-only member gets none.
      if (clientCertAuth) args.push('--trusted-ca-file', f('ca.pem'), '--client-cert-auth');
      args.push('--log-level', 'warn');
      const proc = spawn('etcd', args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-4000);
      });
      procs.push(proc);
      const p = Number(new URL(client).port);
      const deadline = Date.now() + 10_000;
      while (proc.exitCode === null && Date.now() < deadline) {
        if (await tcpOpen('127.0.0.1', p)) return p;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (proc.exitCode === null) throw new Error(`TLS etcd ${name} did not listen on ${p} within 10 s:\n${stderr}`);
      last = `TLS etcd ${name} exited with ${proc.exitCode} during start-up (attempt ${attempt}):\n${stderr}`;
    }
    throw new Error(last);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tabby-etcd-tls-'));
    await Promise.all([makeCa('ca'), makeCa('other-ca')]);
    await Promise.all([
      makeCert('server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n'),
      makeCert('client', 'tabby-client', 'extendedKeyUsage=clientAuth\n'),
    ]);
    [port, mtlsPort] = await Promise.all([startEtcd('tls', false), startEtcd('mtls', true)]);
  }, 20_000);

  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const using = async (ds: Datastore, f: (ds: Datastore) => Promise<void>) => {
    try {
      await f(ds);
    } finally {
      await ds.close();
    }
  };

  it('verifies the server with the CA from the URL: create, get, list and watch work', async () => {
    await using(openDatastore(`etcds://127.0.0.1:${port}?ca=${q('ca.pem')}`), async (ds) => {
      expect(ds.description).toBe(`etcd https://127.0.0.1:${port}`);
      const w = ds.watch('/tls/');
      try {
        await collect(w, (evs) => evs.some((e) => e.type === 'in-sync'));
        const created = await ds.create('/tls/a', 'one');
        await ds.create('/tls/b', 'two');
        expect(await ds.get('/tls/a')).toEqual(created);
        const l = await ds.list('/tls/');
        expect(l.items.map((i) => [i.key, i.value])).toEqual([
          ['/tls/a', 'one'],
          ['/tls/b', 'two'],
        ]);
        const evs = await collect(w, (evs) => evs.some((e) => e.type === 'added' && e.key === '/tls/b'));
        expect(evs.filter((e) => e.type === 'added').map((e) => (e.type === 'added' ? e.value : ''))).toEqual([
          'one',
          'two',
        ]);
      } finally {
        w.close();
      }
    });
  });

  it('several members (etcds://h1:p1,h2:p2?ca=): the first one down, the client fails over to the next', async () => {
    const dead = await freePort();
    await using(openDatastore(`etcds://127.0.0.1:${dead},127.0.0.1:${port}?ca=${q('ca.pem')}`), async (ds) => {
      expect(ds.description).toBe(`etcd https://127.0.0.1:${dead},https://127.0.0.1:${port}`);
      await ds.create('/tls-members/k', 'v');
      expect((await ds.get('/tls-members/k'))?.value).toBe('v');
    });
  });

  it('refuses a server its CA did not sign', async () => {
    await using(openDatastore(`etcds://127.0.0.1:${port}?ca=${q('other-ca.pem')}`), async (ds) => {
      const err = await ds.get('/tls/a').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatastoreError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect((err as Error).message).toContain(`etcd https://127.0.0.1:${port}: get failed`);
      expect((err as Error).message).toMatch(/unable to verify the first certificate/);
    });
  });

  it('with --client-cert-auth: no client certificate is refused, cert= and key= work', async () => {
    await using(openDatastore(`etcds://127.0.0.1:${mtlsPort}?ca=${q('ca.pem')}`), async (ds) => {
      const err = await ds.get('/mtls/k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DatastoreError);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      // The server ends the handshake (TLS alert), so no request is sent and there is nothing
      // for the backend to call an auth refusal: the stable code is UNAVAILABLE.
      expect((err as Error).message).toContain(`etcd https://127.0.0.1:${mtlsPort}: get failed`);
      expect((err as Error).message).toMatch(/certificate/);
    });
    const url = `etcds://127.0.0.1:${mtlsPort}?ca=${q('ca.pem')}&cert=${q('client.pem')}&key=${q('client.key')}`;
    await using(openDatastore(url), async (ds) => {
      await ds.create('/mtls/k', 'v');
      expect((await ds.get('/mtls/k'))?.value).toBe('v');
      expect((await ds.list('/mtls/')).items.map((i) => i.key)).toEqual(['/mtls/k']);
    });
  });
});
