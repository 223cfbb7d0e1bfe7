import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import { socketInUse } from '@tabby/bgp';

/** What the lab needs is taken: a BGP address and port, or a control socket in use. */
export class LabBusyError extends Error {
  readonly code = 'LAB_BUSY';
}

/** Resolves with the error code of listening on `host:port` (`''`: it is free), closing at once. */
function tryListen(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'ERROR'));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve('')));
  });
}

/** `/proc/net/tcp`'s `0B00007F:42FB` for 127.0.0.11:17147 (the address in host byte order, little-endian here). */
function procTcpAddress(host: string, port: number): string {
  const hex = host
    .split('.')
    .map((o) => Number(o).toString(16).padStart(2, '0'))
    .reverse()
    .join('');
  return `${hex}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** The process that has the socket with this inode open: `pid N (command line)`, or undefined. */
function processOfInode(inode: string): string | undefined {
  const want = `socket:[${inode}]`;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (link !== want) continue;
      let cmd = '';
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      } catch {}
      if (cmd.length > 80) cmd = `${cmd.slice(0, 77)}...`;
      return `pid ${pid}${cmd ? ` (${cmd})` : ''}`;
    }
  }
  return undefined;
}

/** Who listens on IPv4 `host:port` (Linux /proc; undefined when unknown). */
export function tcpListener(host: string, port: number): string | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const local = procTcpAddress(host, port);
  const any = procTcpAddress('0.0.0.0', port);
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // sl local_address rem_address st ... inode (field 9); st 0A is LISTEN.
    if ((f[1] === local || f[1] === any) && f[3] === '0A') return processOfInode(f[9]!);
  }
  return undefined;
}

/** Who has the UNIX socket `path` bound (Linux /proc; undefined when unknown). */
export function unixListener(path: string): string | undefined {
  let table: string;
  try {
    table = readFileSync('/proc/net/unix', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // Num RefCount Protocol Flags Type St Inode Path; flags 00010000 is __SO_ACCEPTCON (listening).
    if (f[7] === path && f[3] === '00010000') return processOfInode(f[6]!);
  }
  return undefined;
}

/**
 * Throws LabBusyError, with one line naming the first address or socket that is taken and what
 * holds it when Linux says, unless every BGP address:port (`tcp`) and control socket is free.
 * A lab already running is found here at once rather than by waiting for a convergence that
 * cannot come (its sessions would go to the other lab).
 */
export async function checkLabFree(opts: { addresses: string[]; port: number; sockets: string[] }): Promise<void> {
  const held = (who: string | undefined) => (who ? `held by ${who}` : 'in use');
  for (const path of opts.sockets) {
    if (existsSync(path) && (await socketInUse(path)))
      throw new LabBusyError(
        `control socket ${path} is ${held(unixListener(path))}: another tabby lab or demo is running (stop it with Ctrl-C there)`,
      );
  }
  for (const host of opts.addresses) {
    const code = await tryListen(host, opts.port);
    if (code === 'EADDRINUSE')
      throw new LabBusyError(
        `${host}:${opts.port} is ${held(tcpListener(host, opts.port))}: is another tabby lab or demo running? Stop it (Ctrl-C there) or use --port`,
      );
    if (code)
      throw new LabBusyError(
        `cannot listen on ${host}:${opts.port} (${code}): the lab needs loopback addresses 127.0.0.11 and up`,
      );
  }
}
