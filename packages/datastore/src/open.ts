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

/** The URL with its password replaced by `***`, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^/?#]*@/i, '$1***@');
}

const EXPECTED = 'expected memory, file:///path.json, redis://host:port/db or etcd://host:port[,host:port...]';

/** An etcd URL taken apart: `etcd[s]://[user[:password]@]host[:port][,host[:port]...][/][?query]`. */
export interface EtcdUrl {
  tls: boolean;
  /** `host:port` (`[v6]:port`) of every member, in the URL's order; port 2379 when left out. */
  members: string[];
  username?: string;
  password?: string;
  /** `ca`, `cert`, `key`: PEM file paths. */
  query: Map<string, string>;
}

const ETCD_QUERY = ['ca', 'cert', 'key'];
const REDIS_QUERY = ['ca', 'cert', 'key', 'prefix'];

function checkQuery(search: URLSearchParams, allowed: string[], scheme: string, shown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of search) {
    if (!allowed.includes(k))
      throw new BadUrlError(shown, `unknown query parameter "${k}" (${scheme} URLs take ${allowed.join(', ')})`);
    out.set(k, v);
  }
  return out;
}

function decode(part: string, what: string, shown: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadUrlError(shown, `the ${what} is not valid percent-encoding`);
  }
}

/**
 * Parses an etcd URL by hand: Node's URL parser rejects the `host:port,host:port` list that etcd
 * clients (and Calico) use. Errors name the part that is wrong and never show the password.
 */
export function parseEtcdUrl(url: string): EtcdUrl {
  const shown = redactUrl(url);
  const m = /^(etcds?):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/i.exec(url);
  if (!m) throw new BadUrlError(shown, 'expected etcd://host:port[,host:port...] or etcds://...');
  const [, scheme = '', authority = '', path = '', search = '', fragment] = m;
  if (fragment !== undefined) throw new BadUrlError(shown, `unexpected fragment ${fragment}`);
  if (path !== '' && path !== '/')
    throw new BadUrlError(shown, `unexpected path ${path} (an etcd URL names members, then ?ca=&cert=&key=)`);
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostList = at >= 0 ? authority.slice(at + 1) : authority;
  const out: EtcdUrl = {
    tls: scheme.toLowerCase() === 'etcds',
    members: [],
    query: checkQuery(new URLSearchParams(search), ETCD_QUERY, 'etcd', shown),
  };
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name', shown);
    if (!user) throw new BadUrlError(shown, 'the user name before "@" is empty');
    out.username = user;
    out.password = colon >= 0 ? decode(userinfo.slice(colon + 1), 'password', shown) : '';
  }
  if (!hostList) throw new BadUrlError(shown, 'no etcd member given (etcd://host:port[,host:port...])');
  hostList.split(',').forEach((member, i) => {
    const which = `member ${i + 1}`;
    if (!member) throw new BadUrlError(shown, `${which} is empty (a stray comma?)`);
    const mm = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(.*))?$/.exec(member);
    if (!mm) throw new BadUrlError(shown, `${which} "${member}" is not host:port`);
    const [, host = '', port] = mm;
    if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535))
      throw new BadUrlError(shown, `${which} "${member}": port "${port}" is not a number from 1 to 65535`);
    out.members.push(`${host}:${port ?? 2379}`);
  });
  if (out.tls && !out.query.has('ca')) throw new BadUrlError(shown, 'etcds:// needs ?ca=/path/to/ca.pem');
  if (!out.tls && out.query.size) throw new BadUrlError(shown, 'ca, cert and key need etcds:// (TLS)');
  if (out.query.has('cert') !== out.query.has('key'))
    throw new BadUrlError(shown, 'cert and key go together (the client certificate and its private key)');
  return out;
}

/**
 * Opens a datastore by URL:
 * - `memory` (in-process, nothing persisted), `file:///path.json` (memory saved to a file);
 * - `redis://[[user]:password@]host:port/db`, `rediss://...` (TLS); query: `ca`, `cert`, `key`
 *   (PEM file paths), `prefix` (key prefix);
 * - `etcd://[user:password@]host:port[,host:port...]`, `etcds://...` (TLS, `ca` required);
 *   query: `ca`, `cert`, `key`. Requests fail over between the members.
 *
 * A bad URL throws BadUrlError, one line naming the wrong part; passwords never appear in it
 * nor in the datastore's `description`.
 */
export function openDatastore(url: string, opts: { logger?: Logger } = {}): Datastore {
  const logger = opts.logger ?? nullLogger;
  if (url === 'memory' || url === 'memory://') return new MemoryDatastore();
  const shown = redactUrl(url);
  const pem = (name: string, path: string | undefined): Buffer | undefined => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new BadUrlError(shown, `cannot read ${name} file ${path}: ${(err as Error).message}`);
    }
  };
  if (/^etcds?:/i.test(url)) {
    const e = parseEtcdUrl(url);
    const ca = pem('ca', e.query.get('ca'));
    const cert = pem('cert', e.query.get('cert'));
    const key = pem('key', e.query.get('key'));
    return new EtcdDatastore({
      hosts: e.members.map((m) => `${e.tls ? 'https' : 'http'}://${m}`),
      logger,
      ...(ca ? { tls: { ca, ...(cert ? { cert } : {}), ...(key ? { key } : {}) } } : {}),
      ...(e.username !== undefined ? { auth: { username: e.username, password: e.password ?? '' } } : {}),
    });
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new BadUrlError(shown, EXPECTED);
  }
  switch (u.protocol) {
    case 'file:':
      if (!u.pathname || u.pathname === '/')
        throw new BadUrlError(shown, 'file:// needs a path such as file:///tmp/tabby.json');
      return new FileDatastore(decodeURIComponent(u.pathname));
    case 'redis:':
    case 'rediss:': {
      const query = checkQuery(u.searchParams, REDIS_QUERY, 'redis', shown);
      if (!u.hostname) throw new BadUrlError(shown, 'no Redis host given (redis://host:port/db)');
      if (u.pathname !== '' && u.pathname !== '/' && !/^\/\d+$/.test(u.pathname))
        throw new BadUrlError(shown, `database "${u.pathname.slice(1)}" is not a number (redis://host:port/0)`);
      const ca = pem('ca', query.get('ca'));
      const cert = pem('cert', query.get('cert'));
      const key = pem('key', query.get('key'));
      const tls =
        u.protocol === 'rediss:' || ca
          ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) }
          : undefined;
      const prefix = query.get('prefix');
      const clean = new URL(url);
      clean.search = '';
      return new RedisDatastore({
        url: clean.toString(),
        logger,
        ...(prefix ? { keyPrefix: prefix } : {}),
        ...(tls ? { redis: { tls } } : {}),
      });
    }
    default:
      throw new BadUrlError(
        shown,
        `unknown scheme ${u.protocol} (use memory, file:, redis:, rediss:, etcd: or etcds:)`,
      );
  }
}
