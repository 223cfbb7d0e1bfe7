import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { type ExecOptions, type ExecResult, exec } from './exec.js';

/** Every namespace the helpers make is named `tby-<owner pid>-<seq>[-label]`. */
export const NETNS_PREFIX = 'tby-';
const NAME_RE = /^tby-(\d+)-/;

let seq = 0;
const liveLabs = new Set<NetLab>();

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Names of all network namespaces on the machine. */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await exec(['ip', '-json', 'netns', 'list']);
  if (!stdout.trim()) return [];
  return (JSON.parse(stdout) as { name: string }[]).map((n) => n.name);
}

function killNamespaceProcesses(name: string): void {
  const r = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' });
  for (const line of (r.stdout ?? '').split('\n')) {
    const pid = Number(line.trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Deletes a namespace after killing every process inside it. */
export function deleteNamespaceSync(name: string): void {
  killNamespaceProcesses(name);
  spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
}

/**
 * Deletes helper-made namespaces whose owning process is no longer alive (a crashed or killed
 * test run), together with every process still inside them. Call at suite start; a test that
 * runs beside others passes `only` so it cannot sweep a namespace another test is still checking
 * (the netns lab test SIGKILLs its lab and then expects `lab down` to find the namespaces).
 * Returns the names removed.
 */
export async function sweepStaleNamespaces(only: (name: string) => boolean = () => true): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await listNamespaces()) {
    const m = NAME_RE.exec(name);
    if (!m || !only(name)) continue;
    const owner = Number(m[1]);
    if (owner === process.pid || pidAlive(owner)) continue;
    deleteNamespaceSync(name);
    removed.push(name);
  }
  return removed;
}

/** A process started inside a namespace; killed (with its process group) at teardown. */
export class NsProcess {
  private exited: Promise<number | null>;
  output = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => this.append(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => this.append(d));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  private append(d: string): void {
    this.output += d;
    if (this.output.length > 1 << 20) this.output = this.output.slice(-(1 << 19));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the exit code once the process has exited. */
  wait(): Promise<number | null> {
    return this.exited;
  }

  /**
   * Stops (SIGSTOP) or continues (SIGCONT) the whole process group without waiting: a frozen
   * daemon keeps its TCP connections open but sends nothing, as a hung or cut-off node would.
   */
  freeze(frozen = true): void {
    if (!this.running || this.child.pid === undefined) return;
    process.kill(-this.child.pid, frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  /** Sends `signal` to the whole process group and waits (up to 5 s, then SIGKILL). */
  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running || this.child.pid === undefined) return;
    const pgid = -this.child.pid;
    try {
      process.kill(pgid, signal);
      // A frozen process would only see the signal once continued.
      if (signal !== 'SIGKILL') process.kill(pgid, 'SIGCONT');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(pgid, 'SIGKILL');
      } catch {
        // gone
      }
    }, 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** One network namespace made by a NetLab. */
export class Netns {
  constructor(
    readonly lab: NetLab,
    readonly name: string,
  ) {}

  /** Runs a command inside the namespace and collects its output. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }

  /** Runs `ip ARGS` against this namespace (`ip -n NAME ARGS`). */
  ip(args: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return exec(['ip', '-n', this.name, ...args], opts);
  }

  /** Adds an address (CIDR notation) to an interface and brings the interface up. */
  async addAddress(ifname: string, cidr: string): Promise<void> {
    await this.ip(['addr', 'add', cidr, 'dev', ifname]);
    await this.ip(['link', 'set', ifname, 'up']);
  }

  /** Starts a long-running process inside the namespace; the lab kills it at teardown. */
  spawn(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): NsProcess {
    return this.lab.spawnHere(['ip', 'netns', 'exec', this.name, ...argv], opts);
  }
}

/**
 * A set of namespaces, links and processes for one test suite. `destroy()` removes all of it;
 * call it from `afterAll`. If the process exits without calling it, or ends on SIGINT, SIGTERM or
 * SIGHUP, a hook does it, and `sweepStaleNamespaces()` in a later run removes whatever a SIGKILL
 * left behind.
 */
export class NetLab {
  private readonly namespaces: Netns[] = [];
  private readonly processes: NsProcess[] = [];
  private destroyed = false;

  constructor() {
    liveLabs.add(this);
    installExitHook();
  }

  /** Creates a namespace with loopback up. The label (letters, digits) helps reading `ip netns`. */
  async netns(label = ''): Promise<Netns> {
    if (this.destroyed) throw new Error('NetLab: already destroyed');
    if (label && !/^[a-z0-9]{1,12}$/i.test(label))
      throw new Error(`NetLab: bad namespace label ${JSON.stringify(label)}`);
    seq += 1;
    const name = `${NETNS_PREFIX}${process.pid}-${seq}${label ? `-${label}` : ''}`;
    await exec(['ip', 'netns', 'add', name]);
    const ns = new Netns(this, name);
    this.namespaces.push(ns);
    await ns.ip(['link', 'set', 'lo', 'up']);
    return ns;
  }

  /**
   * Creates a veth pair with one end in each namespace (never in the root namespace), assigns the
   * optional addresses and brings both ends up.
   */
  async link(a: Netns, aIf: string, aCidr: string | null, b: Netns, bIf: string, bCidr: string | null): Promise<void> {
    await a.ip(['link', 'add', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
    for (const [ns, ifname, cidr] of [
      [a, aIf, aCidr],
      [b, bIf, bCidr],
    ] as const) {
      if (cidr) await ns.addAddress(ifname, cidr);
      else await ns.ip(['link', 'set', ifname, 'up']);
    }
  }

  /**
   * A switch: a namespace holding one bridge. `plug()` connects a host namespace to it with a veth
   * pair whose host end gets `cidr`.
   */
  async bridge(
    label = 'sw',
  ): Promise<{ ns: Netns; plug: (host: Netns, ifname: string, cidr: string | null) => Promise<void> }> {
    const ns = await this.netns(label);
    await ns.ip(['link', 'add', 'br0', 'type', 'bridge']);
    await ns.ip(['link', 'set', 'br0', 'up']);
    let port = 0;
    const plug = async (host: Netns, ifname: string, cidr: string | null): Promise<void> => {
      port += 1;
      const swIf = `p${port}`;
      await this.link(host, ifname, cidr, ns, swIf, null);
      await ns.ip(['link', 'set', swIf, 'master', 'br0']);
    };
    return { ns, plug };
  }

  /**
   * Starts a long-running process in this process's own network namespace (for work that stays
   * on loopback), killed with its process group at teardown. It gets SIGKILL when this process
   * dies, even by SIGKILL: util-linux `setpriv` sets the parent-death signal and execs the command
   * in place (as the FIB's helpers do); `ip netns exec` (Netns.spawn) execs in place too.
   */
  spawnHere(argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): NsProcess {
    const bound = existsSync('/usr/bin/setpriv') ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--'] : [];
    const [cmd, ...args] = [...bound, ...argv];
    const child = spawn(cmd!, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    const proc = new NsProcess(child);
    this.processes.push(proc);
    return proc;
  }

  /** Names of the namespaces this lab made and has not yet deleted. */
  get names(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  /** Kills every process, deletes every namespace. Safe to call more than once. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    await Promise.all(this.processes.map((p) => p.kill('SIGKILL')));
    this.processes.length = 0;
    for (const ns of this.namespaces.splice(0)) {
      killNamespaceProcesses(ns.name);
      await exec(['ip', 'netns', 'del', ns.name], { allowFailure: true });
    }
    liveLabs.delete(this);
  }

  /** Synchronous teardown for the exit hook. */
  destroySync(): void {
    this.destroyed = true;
    for (const p of this.processes.splice(0)) {
      if (p.running && p.pid !== undefined) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    for (const ns of this.namespaces.splice(0)) deleteNamespaceSync(ns.name);
    liveLabs.delete(this);
  }
}

let hookInstalled = false;
function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  const destroyAll = () => {
    for (const lab of [...liveLabs]) lab.destroySync();
  };
  process.on('exit', destroyAll);
  // Node ends a process on these signals without 'exit' (Ctrl-C on `npm run bench`, a CI
  // timeout): tear down, then end by the same signal. Not when the process handles the signal
  // itself (`tabby lab up`): its own teardown runs, then the exit hook. Put first, so that
  // listeners added with `once` are still there to be counted.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(sig) > 1) return;
      destroyAll();
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.prependListener(sig, onSignal);
  }
}
