import { readFileSync } from 'node:fs';
import { EtcdDatastore } from './backends/etcd.js';
import { FileDatastore } from './backends/file.js';
import { MemoryDatastore } from './backends/memory.js';
import { RedisDatastore } from './backends/redis.js';
import type { Datastore } from './datastore.js';
import { BadUrlError } from './errors.js';
import { type Logger, nullLogger } from './logger.js';

/** The environment variable that names the datastore when no `--datastore` flag is given. */
export const DATASTORE_ENV = 'TABBY_DATASTORE';

/** `--datastore` flag, else `$TABBY_DATASTORE`, else `memory`. */
export function resolveDatastoreUrl(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return flag || env[DATASTORE_ENV] || 'memory';
}

/**
 * Opens a datastore by URL:
 * - `memory` (in-process, nothing persisted), `file:///path.json` (memory saved to a file);
 * - `redis://[:password@]host:port/db`, `rediss://...` (TLS); query: `ca`, `cert`, `key` (PEM
 *   file paths), `prefix` (key prefix);
 * - `etcd://[user:password@]host:port[,host:port]`, `etcds://...` (TLS); query: `ca`, `cert`, `key`.
 */
export function openDatastore(url: string, opts: { logger?: Logger } = {}): Datastore {
  const logger = opts.logger ?? nullLogger;
  if (url === 'memory' || url === 'memory://') return new MemoryDatastore();
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BadUrlError(url, 'expected memory, file:///path.json, redis://host:port/db or etcd://host:port');
  }
  const pem = (name: string): Buffer | undefined => {
    const p = u.searchParams.get(name);
    if (!p) return undefined;
    try {
      return readFileSync(p);
    } catch (err) {
      throw new BadUrlError(url, `cannot read ${name} file ${p}: ${(err as Error).message}`);
    }
  };
  switch (u.protocol) {
    case 'file:':
      if (!u.pathname || u.pathname === '/')
        throw new BadUrlError(url, 'file:// needs a path such as file:///tmp/tabby.json');
      return new FileDatastore(decodeURIComponent(u.pathname));
    case 'redis:':
    case 'rediss:': {
      const ca = pem('ca');
      const cert = pem('cert');
      const key = pem('key');
      const tls =
        u.protocol === 'rediss:' || ca
          ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
          : undefined;
      const prefix = u.searchParams.get('prefix') ?? undefined;
      const clean = new URL(url);
      clean.search = '';
      return new RedisDatastore({
        url: clean.toString(),
        logger,
        ...(prefix ? { keyPrefix: prefix } : {}),
        ...(tls ? { redis: { tls } } : {}),
      });
    }
    case 'etcd:':
    case 'etcds:': {
      const scheme = u.protocol === 'etcds:' ? 'https' : 'http';
      // URL() keeps only the first host; re-split the authority for `host:port,host:port`.
      const authority = url.slice(url.indexOf('//') + 2).split(/[/?]/)[0] ?? '';
      const hostsPart = authority.includes('@') ? authority.slice(authority.lastIndexOf('@') + 1) : authority;
      const hosts = hostsPart
        .split(',')
        .filter(Boolean)
        .map((h) => `${scheme}://${h.includes(':') ? h : `${h}:2379`}`);
      if (!hosts.length) throw new BadUrlError(url, 'no etcd host given');
      const ca = pem('ca');
      if (scheme === 'https' && !ca) throw new BadUrlError(url, 'etcds:// needs ?ca=/path/to/ca.pem');
      const cert = pem('cert');
      const key = pem('key');
      return new EtcdDatastore({
        hosts,
        logger,
        ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
        ...(u.username
          ? { auth: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } }
          : {}),
      });
    }
    default:
      throw new BadUrlError(url, `unknown scheme ${u.protocol} (use memory, file:, redis:, rediss:, etcd: or etcds:)`);
  }
}
