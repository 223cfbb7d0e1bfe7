import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canUseNetns, NetLab, type Netns, type NsProcess, waitFor } from '@tabby/test-helpers';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// The agent's life as an operator sees it: signals, kills, a second copy, start-up failures. Real
// processes (the built bin) in a namespace with the kernel FIB, so its `ip monitor` helpers run.
const TABBY = join(import.meta.dirname, '..', '..', 'cli', 'bin', 'tabby.js');

/**
 * The agent's `ip monitor` helpers: direct children whose command line says `monitor` (the agent
 * also runs short `ip route show` and `ip -batch` children, which come and go).
 */
function monitorsOf(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((c) => {
      try {
        return readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('monitor');
      } catch {
        return false; // exited meanwhile
      }
    });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Waits until `p` has printed `text`; fails at once when `p` exits first. */
async function waitForOutput(p: NsProcess, text: string, timeoutMs = 30_000): Promise<void> {
  let exited = false;
  void p.wait().then(() => {
    exited = true;
  });
  await waitFor(`"${text}"`, () => exited || p.output.includes(text), timeoutMs);
  if (!p.output.includes(text)) throw new Error(`exited before printing "${text}":\n${p.output}`);
}

/** The one-line reason a daemon printed when it refused to start. */
const reason = (p: NsProcess): string | undefined => p.output.split('\n').find((l) => l.startsWith('tabby '));

/** Milliseconds from `signal` to the process's exit, and its exit code. */
async function stopTimed(p: NsProcess, signal: NodeJS.Signals): Promise<{ ms: number; code: number | null }> {
  const t0 = performance.now();
  process.kill(p.pid!, signal);
  const code = await p.wait();
  return { ms: performance.now() - t0, code };
}

describe.skipIf(!canUseNetns())('process lifecycle of the daemons', () => {
  const lab = new NetLab();
  const dir = mkdtempSync(join(tmpdir(), 'tabby-lifecycle-'));
  let host: Netns;
  let peerHost: Netns;
  let seq = 0;
  const procs: NsProcess[] = [];
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill('SIGKILL');
  });

  beforeAll(async () => {
    host = await lab.netns('life');
    peerHost = await lab.netns('lifep');
    await lab.link(host, 'eth0', '198.18.40.1/24', peerHost, 'eth0', '198.18.40.2/24');
  });
  afterAll(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** `tabby node` with the kernel FIB and its own file datastore; resolves once bgpctl can reach it. */
  async function startNode(name = 'n1', extra: string[] = []): Promise<{ proc: NsProcess; socket: string }> {
    seq += 1;
    const socket = join(dir, `node-${seq}.sock`);
    const proc = host.spawn([
      process.execPath,
      TABBY,
      'node',
      '--name',
      name,
      '--datastore',
      `file://${join(dir, `ds-${seq}.json`)}`,
      '--uplink',
      'eth0',
      '-s',
      socket,
      ...extra,
    ]);
    procs.push(proc);
    await waitForOutput(proc, 'node agent started');
    return { proc, socket };
  }

  it('tabby node ends within 2 s of SIGTERM, and of SIGINT, and takes its ip monitor helpers along', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { proc } = await startNode();
      const helpers = await waitFor('ip monitor helpers', () => {
        const c = monitorsOf(proc.pid!);
        return c.length >= 2 ? c : undefined;
      });
      const { ms, code } = await stopTimed(proc, signal);
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2000);
      await waitFor('the helpers to go', () => helpers.every((h) => !alive(h)), 5000);
      expect(proc.output).toContain('"msg":"stopped"');
    }
  });

  it('no helper outlives an agent killed with SIGKILL', async () => {
    const { proc } = await startNode();
    const helpers = await waitFor('ip monitor helpers', () => {
      const c = monitorsOf(proc.pid!);
      return c.length >= 2 ? c : undefined;
    });
    await stopTimed(proc, 'SIGKILL');
    await waitFor('every helper to die with the agent', () => helpers.every((h) => !alive(h)), 5000);
  });

  it('a second agent with the same node name refuses to start, naming the first; the first runs on', async () => {
    const first = await startNode('twin');
    seq += 1;
    const second = host.spawn([
      process.execPath,
      TABBY,
      'node',
      '--name',
      'twin',
      '--datastore',
      `file://${join(dir, 'ds-twin2.json')}`,
      '--uplink',
      'eth0',
      '-s',
      join(dir, 'twin2.sock'),
    ]);
    procs.push(second);
    expect(await second.wait()).toBe(1);
    expect(reason(second)).toMatch(
      new RegExp(
        `^tabby node: node "twin" is already running on this host \\(pid ${first.proc.pid}, control socket ${first.socket}, since [^)]+\\): stop it first$`,
      ),
    );
    expect(first.proc.running).toBe(true);
    expect((await stopTimed(first.proc, 'SIGTERM')).code).toBe(0);
    // The lock goes with its process: the name can be used again at once, even after SIGKILL.
    const again = await startNode('twin');
    await stopTimed(again.proc, 'SIGKILL');
    const third = await startNode('twin');
    expect((await stopTimed(third.proc, 'SIGTERM')).code).toBe(0);
  });

  describe('start-up failures exit 1 with the reason', () => {
    const runNode = async (args: string[]) => {
      seq += 1;
      const p = host.spawn([
        process.execPath,
        TABBY,
        'node',
        '--name',
        `f${seq}`,
        '--uplink',
        'eth0',
        '-s',
        join(dir, `fail-${seq}.sock`),
        ...args,
      ]);
      procs.push(p);
      const code = await p.wait();
      return { code, last: reason(p) };
    };

    it('the BGP port is taken', async () => {
      // Something else (a BIRD, say) holds port 179 in this namespace.
      const holder = host.spawn([
        process.execPath,
        '-e',
        "require('net').createServer().listen(179, () => console.log('listening'))",
      ]);
      procs.push(holder);
      await waitForOutput(holder, 'listening');
      const r = await runNode(['--datastore', `file://${join(dir, 'ds-port.json')}`]);
      await holder.kill();
      expect(r.code).toBe(1);
      expect(r.last).toMatch(/^tabby node: the BGP speaker: .*EADDRINUSE/);
    });

    it('the datastore stays unreachable past --start-timeout', async () => {
      const t0 = performance.now();
      const r = await runNode(['--datastore', 'redis://127.0.0.1:9/0', '--start-timeout', '2']);
      expect(r.code).toBe(1);
      expect(r.last).toMatch(
        /^tabby node: not started after 2 s \(datastore redis:\/\/127\.0\.0\.1:9\/0: .+\); see --start-timeout$/,
      );
      // It gave up at the deadline, not at its first error.
      expect(performance.now() - t0).toBeGreaterThan(2000);
    });

    it('the speaker template does not render', async () => {
      const tmpl = join(dir, 'bad-exec.tmpl');
      // Parses, but fails when executed: the function's argument is not a map.
      writeFileSync(tmpl, 'routerId: {{ index 1 2 }}\n');
      const r = await runNode(['--datastore', `file://${join(dir, 'ds-tmpl.json')}`, '--speaker-template', tmpl]);
      expect(r.code).toBe(1);
      expect(r.last).toMatch(/^tabby node: the speaker config: .*bad-exec\.tmpl/);
    });
  });

  for (const daemon of ['bgpd', 'rr'] as const) {
    it(`tabby ${daemon} ends within 2 s of SIGTERM with a session up`, async () => {
      seq += 1;
      const write = (name: string, text: string) => {
        const f = join(dir, `${name}-${seq}.yaml`);
        writeFileSync(f, text);
        return f;
      };
      // The daemon under test on 198.18.40.1; a plain bgpd in the other namespace peers with it.
      const mine =
        daemon === 'bgpd'
          ? write(
              'bgpd',
              'routerId: 198.18.40.1\nasn: 65001\nholdTime: 9\nconnectRetryTime: 1\npeers:\n  - { address: 198.18.40.2, asn: 65002 }\n',
            )
          : write(
              'rr',
              'routerId: 198.18.40.1\nasn: 65002\nclusterId: 198.18.40.1\nholdTime: 9\nconnectRetryTime: 1\nclients:\n  - { address: 198.18.40.2 }\n',
            );
      const other = write(
        'other',
        `routerId: 198.18.40.2\nasn: 65002\nholdTime: 9\nconnectRetryTime: 1\nebgpRequiresPolicy: false\npeers:\n  - { address: 198.18.40.1, asn: ${daemon === 'bgpd' ? 65001 : 65002} }\n`,
      );
      const socket = join(dir, `${daemon}-${seq}.sock`);
      const proc = host.spawn([process.execPath, TABBY, daemon, '-c', mine, '-s', socket]);
      const peer = peerHost.spawn([process.execPath, TABBY, 'bgpd', '-c', other, '-s', join(dir, `other-${seq}.sock`)]);
      procs.push(proc, peer);
      await waitForOutput(proc, '"msg":"peer Established"');
      const { ms, code } = await stopTimed(proc, 'SIGTERM');
      expect(code).toBe(0);
      expect(ms).toBeLessThan(2000);
      // The peer was told: Cease, administrative shutdown.
      await waitFor('the peer to see the Cease', () => /[Cc]ease|shutting down/.test(peer.output), 10_000);
    });
  }
});
