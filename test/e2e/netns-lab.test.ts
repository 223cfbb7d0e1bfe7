import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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
        await exec([process.execPath, TABBY, 'lab', 'down']);
        expect(await exited).toBe(0);
        expect((await listNamespaces()).filter((n) => state.namespaces.includes(n))).toEqual([]);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    }, 180_000);
  },
);
