import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import {
  exec,
  freePort,
  haveCommands,
  RedisServer,
  startEtcd,
  startEtcdCluster,
  startRedis,
  waitFor,
} from './index.js';

function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port });
    const wire = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      if (buf.endsWith('\r\n')) {
        s.end();
        resolve(buf);
      }
    });
    s.on('error', reject);
    s.write(wire);
  });
}

describe('freePort', () => {
  it('returns distinct usable ports', async () => {
    const a = await freePort();
    const b = await freePort();
    expect(a).toBeGreaterThan(0);
    expect(a).not.toBe(b);
  });
});

describe.skipIf(!haveCommands('redis-server'))('startRedis', () => {
  let redis: RedisServer;
  afterAll(() => redis?.destroy());

  it('starts on loopback, keeps acknowledged writes across a stop and start', async () => {
    redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}/0`);
    expect(await redisCommand(redis.port, 'SET', 'k', 'v')).toBe('+OK\r\n');
    await redis.stop();
    expect(redis.running).toBe(false);
    await expect(redisCommand(redis.port, 'PING')).rejects.toThrow();
    await redis.start();
    expect(await redisCommand(redis.port, 'GET', 'k')).toBe('$1\r\nv\r\n');
  });

  it('saveData, restoreData and wipeData: a backup put back, and a server that comes back empty', async () => {
    await redisCommand(redis.port, 'SET', 'b', 'old');
    await redis.stop();
    const copy = redis.saveData();
    await redis.start();
    await redisCommand(redis.port, 'SET', 'b', 'new');
    await redis.stop();
    redis.restoreData(copy);
    await redis.start();
    expect(await redisCommand(redis.port, 'GET', 'b')).toBe('$3\r\nold\r\n');
    await redis.kill();
    redis.wipeData();
    await redis.start();
    expect(await redisCommand(redis.port, 'GET', 'b')).toBe('$-1\r\n');
    expect(existsSync(copy)).toBe(true);
  });

  it('a server whose port was taken fails with "exited during start-up" (what startRedis retries on)', async () => {
    const taken = new RedisServer(redis.port);
    try {
      await expect(taken.start()).rejects.toThrow(/exited during start-up/);
    } finally {
      await taken.destroy();
    }
  });
});

describe.skipIf(!haveCommands('etcd', 'etcdctl'))('startEtcd', () => {
  it('starts a healthy single-member etcd and stores keys', async () => {
    const etcd = await startEtcd();
    try {
      const env = { ...process.env, ETCDCTL_API: '3' };
      await exec(['etcdctl', '--endpoints', etcd.endpoint, 'put', '/tabby/k', 'v'], { env });
      const got = await exec(['etcdctl', '--endpoints', etcd.endpoint, 'get', '--print-value-only', '/tabby/k'], {
        env,
      });
      expect(got.stdout.trim()).toBe('v');
    } finally {
      await etcd.destroy();
    }
    expect(etcd.running).toBe(false);
  });
});

describe.skipIf(!haveCommands('etcd', 'etcdctl'))('startEtcdCluster', () => {
  it('starts three healthy members; a killed member starts again on its data; destroy leaves no process and no data', async () => {
    const cluster = await startEtcdCluster(3);
    const env = { ...process.env, ETCDCTL_API: '3' };
    const ctl = (endpoint: string, ...args: string[]) => exec(['etcdctl', '--endpoints', endpoint, ...args], { env });
    const [a, b, c] = cluster.endpoints as [string, string, string];
    try {
      expect(cluster.url).toMatch(/^etcd:\/\/127\.0\.0\.1:\d+,127\.0\.0\.1:\d+,127\.0\.0\.1:\d+$/);
      await ctl(a, 'put', '/tabby/k', 'v1');
      await cluster.members[0]?.kill();
      // If it led, a put during the election can time out: put again (the same value) until one lands.
      await waitFor('a put through member 2', () => ctl(b, 'put', '/tabby/k', 'v2'), 30_000);
      await cluster.members[0]?.start();
      const got = await ctl(a, 'get', '--print-value-only', '/tabby/k');
      expect(got.stdout.trim()).toBe('v2');
      expect((await ctl(c, 'member', 'list')).stdout.trim().split('\n')).toHaveLength(3);
    } finally {
      await cluster.destroy();
    }
    for (const m of cluster.members) {
      expect(m.running).toBe(false);
      expect(existsSync(m.dataDir)).toBe(false);
    }
  });
});
