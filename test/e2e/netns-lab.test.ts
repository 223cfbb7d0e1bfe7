import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_OPTIONS } from '@tabby/bgp';
import { canUseNetns, exec, haveCommands, listNamespaces, waitFor } from '@tabby/test-helpers';
import { describe, expect, it } from 'vitest';

const TABBY = fileURLToPath(new URL('../../packages/cli/bin/tabby.js', import.meta.url));

describe.skipIf(!(canUseNetns() && haveCommands('redis-server', 'redis-cli')))(
  'tabby lab up --netns / status / down',
  () => {
    it('brings up a namespace lab with CNI-plugged pods, reports it, and removes everything', async () => {
      const child = spawn(process.execPath, [TABBY, 'lab', 'up', '--netns', '--nodes', '2', '--pods', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      try {
        await waitFor('the lab to be up', () => out.includes('Pod to pod:'), 120_000).catch((err) => {
          throw new Error(`${(err as Error).message}\n${out}`);
        });
        expect(out).toContain('Pod to pod: 2 of 2 pairs answer ping.');
        expect(out).toMatch(/\| 198\.18\.0\.2 +\| node-to-node mesh \| up +\|/);
        const state = JSON.parse((await exec([process.execPath, TABBY, 'lab', 'status', '--json'])).stdout) as {
          namespaces: string[];
          pods: { ip: string }[];
        };
        expect(state.pods).toHaveLength(2);
        expect((await listNamespaces()).filter((n) => state.namespaces.includes(n))).toHaveLength(
          state.namespaces.length,
        );
        // Each node agent runs with the daemons' Node options, as its shim would start it.
        const agents: string[][] = [];
        for (const ns of state.namespaces) {
          for (const pid of (await exec(['ip', 'netns', 'pids', ns])).stdout.split('\n').filter(Boolean)) {
            const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
            if (argv.includes(TABBY) && argv.includes('node')) agents.push(argv);
          }
        }
        expect(agents).toHaveLength(2);
        for (const argv of agents)
          expect(argv.slice(1, 1 + DAEMON_NODE_OPTIONS.length)).toEqual([...DAEMON_NODE_OPTIONS]);
        await exec([process.execPath, TABBY, 'lab', 'down']);
        expect(await exited).toBe(0);
        expect((await listNamespaces()).filter((n) => state.namespaces.includes(n))).toEqual([]);
      } finally {
        // A failed check above skipped `lab down`: take the lab down before the process goes.
        if (child.exitCode === null) await exec([process.execPath, TABBY, 'lab', 'down'], { allowFailure: true });
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 180_000);

    it('--ipv6: dual stack (IPv6 sessions, pool and pods that ping6 across nodes); a killed lab takes its processes along', async () => {
      const child = spawn(process.execPath, [TABBY, 'lab', 'up', '--netns', '--ipv6', '--nodes', '2', '--pods', '1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
      });
      child.stderr.on('data', (d) => {
        out += d;
      });
      const exited = new Promise<number | null>((r) => child.on('exit', r));
      try {
        await waitFor('the lab to be up', () => out.includes('The lab keeps running'), 120_000).catch((err) => {
          throw new Error(`${(err as Error).message}\n${out}`);
        });
        expect(out).toContain('Pod to pod (IPv4): 2 of 2 pairs answer ping.');
        expect(out).toContain('Pod to pod (IPv6): 2 of 2 pairs answer ping.');
        expect(out).toMatch(/\| 2001:db8:18::2 +\| node-to-node mesh \| up +\|/);
        expect(out).toMatch(/2001:db8:19::40\/122 via 2001:db8:18::2 dev eth0 proto bgp/);
        const state = JSON.parse((await exec([process.execPath, TABBY, 'lab', 'status', '--json'])).stdout) as {
          namespaces: string[];
          pods: { ip6?: string }[];
        };
        expect(state.pods.map((p) => p.ip6)).toEqual(['2001:db8:19::', '2001:db8:19::40']);
        // Every process in the lab's namespaces (Redis, the agents, their ip monitor helpers)
        // dies with the lab, even when the lab gets SIGKILL and cannot clean up.
        const pids = async () =>
          (
            await Promise.all(
              state.namespaces.map(
                async (n) => (await exec(['ip', 'netns', 'pids', n], { allowFailure: true })).stdout,
              ),
            )
          )
            .join('')
            .split('\n')
            .filter(Boolean);
        expect((await pids()).length).toBeGreaterThanOrEqual(5);
        child.kill('SIGKILL');
        await exited;
        await waitFor('every lab process to die with the lab', async () => (await pids()).length === 0, 10_000);
        // The namespaces stay (nothing ran to delete them); lab down removes them.
        const down = await exec([process.execPath, TABBY, 'lab', 'down']);
        expect(down.stdout).toContain(`removed ${state.namespaces.length} leftover namespaces`);
        expect((await listNamespaces()).filter((n) => state.namespaces.includes(n))).toEqual([]);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 180_000);
  },
);
