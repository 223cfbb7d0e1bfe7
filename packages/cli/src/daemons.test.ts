// `tabby bgpd` (and the `bgpd` shim the benchmarks run) loads prom-client and its metrics only when
// it serves /metrics (about 2 MB and 80 modules of an idle daemon's 60 MB). Checked on the real
// daemon: a module hook reports every import of prom-client.
//
// The daemons' shims start Node with the daemons' options (`DAEMON_NODE_OPTIONS`) when run as
// they are, the way users run them; started by `node` without them, a daemon sets them itself.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_OPTIONS, RUNTIME_DAEMON_OPTIONS } from '@tabby/bgp';
import { afterAll, describe, expect, it } from 'vitest';

const ENTRIES: Record<string, string[]> = {
  'tabby bgpd': [fileURLToPath(new URL('../bin/tabby.js', import.meta.url)), 'bgpd'],
  bgpd: [fileURLToPath(new URL('../../bgp/bin/bgpd.js', import.meta.url))],
};
const dir = mkdtempSync(join(tmpdir(), 'tabby-bgpd-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'hooks.mjs'),
  `import { writeSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === 'prom-client') writeSync(2, 'IMPORTED prom-client\\n');
  return next(specifier, context);
}\n`,
);
writeFileSync(
  join(dir, 'register.mjs'),
  `import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n`,
);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * Starts bgpd with `extra` arguments and stops it once started; what it printed (the hook's lines
 * among it) and the Node process's command line then. `argv` is how it starts: by default through
 * `node` with the module hook.
 */
async function run(
  entry: string[],
  name: string,
  extra: string[],
  argv = [process.execPath, '--import', join(dir, 'register.mjs'), ...entry],
): Promise<{ log: string; cmdline: string[] }> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    `routerId: 198.18.0.1\nasn: 64512\nlisten: { address: 127.0.0.1, port: ${await freePort()} }\ncontrolSocket: ${join(dir, `${name}.sock`)}\npeers: []\n`,
  );
  const child = spawn(argv[0]!, [...argv.slice(1), '-c', config, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  // bgpd logs to stderr, where the hook writes too.
  let log = '';
  let cmdline: string[] = [];
  const take = (b: Buffer) => {
    log += b;
    if (log.includes('bgpd started') && !cmdline.length) {
      // `env` executes node in its own place: the pid is the daemon's.
      cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await new Promise((resolve) => child.on('exit', resolve));
  clearTimeout(timer);
  return { log, cmdline };
}

describe.each(Object.entries(ENTRIES))('%s', (label, entry) => {
  it('does not load prom-client without --metrics-port, and does with it', async () => {
    const name = label.replace(' ', '-');
    const off = (await run(entry, `${name}-off`, [])).log;
    expect(off).toContain('bgpd started');
    expect(off).not.toContain('IMPORTED prom-client');
    // Started by `node` without the daemon's options: it set them itself, and says so.
    expect(off).toContain(`"nodeOptionsSet":${JSON.stringify(RUNTIME_DAEMON_OPTIONS)}`);
    // The ones V8 takes only on its command line are named as missing.
    expect(off).toContain('"nodeOptionsMissing":["--no-memory-reducer","--max-semi-space-size=8"]');
    const on = (await run(entry, `${name}-on`, ['--metrics-port', String(await freePort())])).log;
    expect(on).toContain('bgpd started');
    expect(on).toContain('IMPORTED prom-client');
  }, 40_000);

  it('runs Node with the daemon options when its shim is executed as it is', async () => {
    const name = `${label.replace(' ', '-')}-exec`;
    const { log, cmdline } = await run(entry, name, [], entry);
    expect(log).toContain('bgpd started');
    expect(log).not.toContain('nodeOptionsSet'); // Node was given them all
    expect(cmdline.slice(1, 1 + DAEMON_NODE_OPTIONS.length)).toEqual([...DAEMON_NODE_OPTIONS]);
    expect(cmdline[1 + DAEMON_NODE_OPTIONS.length]).toBe(entry[0]);
  }, 20_000);
});

describe('daemon shims', () => {
  const bin = (pkg: string, file: string) => fileURLToPath(new URL(`../../${pkg}/bin/${file}`, import.meta.url));
  it.each([
    ['cli', 'tabby.js'],
    ['bgp', 'bgpd.js'],
    ['route-reflector', 'tabby-rr.js'],
    ['node', 'tabby-node.js'],
  ])('%s/bin/%s starts node with DAEMON_NODE_OPTIONS', (pkg, file) => {
    const first = readFileSync(bin(pkg, file), 'utf8').split('\n')[0];
    expect(first).toBe(`#!/usr/bin/env -S node ${DAEMON_NODE_OPTIONS.join(' ')}`);
  });
});
