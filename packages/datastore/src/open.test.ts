import { describe, expect, it } from 'vitest';
import { BadUrlError } from './errors.js';
import { openDatastore, parseEtcdUrl, redactUrl } from './open.js';

/** The BadUrlError `url` throws: one line, never the password. */
function badUrl(url: string): BadUrlError {
  let err: unknown;
  try {
    openDatastore(url);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BadUrlError);
  const e = err as BadUrlError;
  expect(e.code).toBe('BAD_DATASTORE_URL');
  expect(e.message).not.toContain('\n');
  expect(e.message).not.toContain('s3cret');
  expect(e.url).not.toContain('s3cret');
  return e;
}

describe('etcd URLs', () => {
  it('takes several members, with and without ports, IPv6 in brackets', () => {
    expect(parseEtcdUrl('etcd://10.0.0.1:2379,10.0.0.2:22379,etcd-3.example').members).toEqual([
      '10.0.0.1:2379',
      '10.0.0.2:22379',
      'etcd-3.example:2379',
    ]);
    expect(parseEtcdUrl('etcd://[::1]:2379,[fd00::2]/').members).toEqual(['[::1]:2379', '[fd00::2]:2379']);
  });

  it('takes user:password@ (percent-encoded) in front of the member list', () => {
    const u = parseEtcdUrl('etcd://root:p%40ss%3Aw%2Crd@127.0.0.1:1,127.0.0.1:2');
    expect(u).toMatchObject({ username: 'root', password: 'p@ss:w,rd', members: ['127.0.0.1:1', '127.0.0.1:2'] });
  });

  it('etcds:// with ca, cert and key', () => {
    const u = parseEtcdUrl('etcds://a:1,b:2?ca=/etc/ca.pem&cert=/etc/c.pem&key=/etc/k.pem');
    expect(u.tls).toBe(true);
    expect(Object.fromEntries(u.query)).toEqual({ ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '/etc/k.pem' });
  });

  it('opens every member, preferring the first; the description has no credentials', async () => {
    const ds = openDatastore('etcd://root:s3cret@127.0.0.1:1,127.0.0.1:2,127.0.0.1:3');
    try {
      expect(ds.description).toBe('etcd http://127.0.0.1:1,http://127.0.0.1:2,http://127.0.0.1:3');
      // Nothing listens there: every member is tried, and the error says so for each.
      const err = await ds.get('/x').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UNAVAILABLE' });
      expect((err as Error).message).toMatch(
        /get failed: no member reachable: 127\.0\.0\.1:1: connect ECONNREFUSED 127\.0\.0\.1:1; 127\.0\.0\.1:2: .*127\.0\.0\.1:3/,
      );
      expect((err as Error).message).not.toContain('s3cret');
      expect(ds.health().connected).toBe(false);
    } finally {
      await ds.close();
    }
  });

  it('a bad URL names the wrong part', () => {
    expect(badUrl('etcd://').message).toMatch(/no etcd member given/);
    expect(badUrl('etcd://a:1,,b:2').message).toMatch(/member 2 is empty \(a stray comma\?\)/);
    expect(badUrl('etcd://a:1,b:x').message).toMatch(/member 2 "b:x": port "x" is not a number from 1 to 65535/);
    expect(badUrl('etcd://a:1,b:70000').message).toMatch(/port "70000"/);
    expect(badUrl('etcd://a b:1').message).toMatch(/member 1 "a b:1" is not host:port/);
    expect(badUrl('etcd://root:s3cret@a:1/v3').message).toMatch(/unexpected path \/v3/);
    expect(badUrl('etcd://root:s3cret@a:1?cafile=x').message).toMatch(/unknown query parameter "cafile"/);
    expect(badUrl('etcd://:s3cret@a:1').message).toMatch(/user name before "@" is empty/);
    expect(badUrl('etcds://root:s3cret@a:1').message).toMatch(/etcds:\/\/ needs \?ca=/);
    expect(badUrl('etcd://a:1?ca=/x').message).toMatch(/need etcds:\/\//);
    expect(badUrl('etcds://a:1?ca=/nonexistent/ca.pem').message).toMatch(/cannot read ca file \/nonexistent\/ca\.pem/);
    expect(badUrl('etcds://a:1?ca=/x&cert=/y').message).toMatch(/cert and key go together/);
    expect(badUrl('etcd://root:s3cret@a:1,b:x').message).toContain('"etcd://root:***@a:1,b:x"');
  });
});

describe('other URLs', () => {
  it('redis: unknown query parameters and databases that are not numbers are refused, without the password', () => {
    expect(badUrl('redis://:s3cret@127.0.0.1:6379/0?tls=1').message).toMatch(/unknown query parameter "tls"/);
    expect(badUrl('redis://:s3cret@127.0.0.1:6379/abc').message).toMatch(/database "abc" is not a number/);
    expect(badUrl('redis://:s3cret@127.0.0.1:port/0').message).toMatch(/expected memory/);
    expect(badUrl('mysql://u:s3cret@h/db').message).toMatch(/unknown scheme mysql:/);
  });

  it('redactUrl hides the password only', () => {
    expect(redactUrl('redis://:pw@h:1/0')).toBe('redis://:***@h:1/0');
    expect(redactUrl('etcd://u:p@ss@h:1,h:2')).toBe('etcd://u:***@h:1,h:2');
    expect(redactUrl('etcd://h:1,h:2?ca=/x')).toBe('etcd://h:1,h:2?ca=/x');
    expect(redactUrl('etcd://u@h:1')).toBe('etcd://u@h:1');
  });
});
