import { createHash } from 'node:crypto';
import net from 'node:net';

/** Who holds a node name's lock: what the running agent tells a second one. */
export interface LockHolder {
  pid: number;
  node: string;
  socket: string;
  since: string;
}

/** Another agent with the same node name runs on this host. */
export class NodeAlreadyRunningError extends Error {
  readonly code = 'NODE_ALREADY_RUNNING';
  constructor(
    readonly node: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(
      holder
        ? `node "${node}" is already running on this host (pid ${holder.pid}, control socket ${holder.socket}, since ${holder.since}): stop it first`
        : `node "${node}" is already running on this host (its lock is held, but the holder did not answer): stop it first`,
    );
  }
}

/** The lock's name: an abstract UNIX socket (no file; the kernel drops it when its process dies). */
function lockPath(node: string): string {
  const name = `tabby/node/${node}`;
  // Abstract socket names share sun_path's 108 bytes with the leading NUL.
  return `\0${Buffer.byteLength(name) <= 100 ? name : `tabby/node/${createHash('sha256').update(node).digest('hex')}`}`;
}

/**
 * One agent per node name per host: the lock is an abstract UNIX socket named after the node. The
 * kernel releases it when the process ends, even on SIGKILL, so no stale lock is ever left. A
 * second agent finds the name taken, asks the holder who it is, and fails with
 * NodeAlreadyRunningError. Abstract sockets belong to a network namespace: "host" here is the
 * agent's network namespace (a DaemonSet pod on the host network, or one lab node).
 */
export async function lockNodeName(node: string, holder: Omit<LockHolder, 'node'>): Promise<{ release(): void }> {
  const path = lockPath(node);
  const me = `${JSON.stringify({ ...holder, node })}\n`;
  const server = net.createServer((c) => {
    c.on('error', () => {});
    c.end(me);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new NodeAlreadyRunningError(node, await askHolder(path));
  }
  // The lock must not keep a stopping agent alive.
  server.unref();
  return { release: () => server.close() };
}

function askHolder(path: string): Promise<LockHolder | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const c = net.connect(path);
    const done = (h: LockHolder | undefined) => {
      clearTimeout(timer);
      c.destroy();
      resolve(h);
    };
    const timer = setTimeout(() => done(undefined), 1000);
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      text += d;
      if (text.length > 4096) done(undefined);
    });
    c.on('end', () => {
      try {
        done(JSON.parse(text) as LockHolder);
      } catch {
        done(undefined);
      }
    });
    c.on('error', () => done(undefined));
  });
}
