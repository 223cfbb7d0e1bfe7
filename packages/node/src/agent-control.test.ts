import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork } from '@tabby/bgp';
import { MemoryDatastore, type Resource, ResourceStore } from '@tabby/datastore';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeAgent } from './agent.js';

/** One request on the control socket; resolves with the answer line. */
function ask(path: string, command: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const c = net.createConnection({ path });
    let buf = '';
    c.setEncoding('utf8');
    c.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        c.destroy();
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      }
    });
    c.on('error', reject);
    c.write(`${JSON.stringify({ id: 1, command, args })}\n`);
  });
}

describe("the node agent's control socket follows its speaker", () => {
  const socket = join(mkdtempSync(join(tmpdir(), 'tabby-agent-ctl-')), 'node.sock');
  const ds = new MemoryDatastore();
  const store = new ResourceStore(ds);
  const node = (address: string) =>
    ({
      apiVersion: 'projectcalico.org/v3',
      kind: 'Node',
      metadata: { name: 'n1' },
      spec: { bgp: { ipv4Address: `${address}/24` } },
    }) as Resource;
  const agent = new NodeAgent({
    nodeName: 'n1',
    datastore: ds,
    transport: new MemoryNetwork().transport('198.18.0.1'),
    controlSocket: socket,
  });
  afterAll(() => agent.stop());

  it('after a router ID change restarts the speaker, bgpctl talks to the new one', async () => {
    await store.apply(node('198.18.0.1'));
    await agent.start();
    const before = await ask(socket, 'show status');
    expect(before).toMatchObject({ ok: true, result: { router_id: '198.18.0.1' } });
    await ask(socket, 'network add', { prefix: '198.18.70.0/24' });
    await store.apply(node('198.18.0.2'));
    const end = Date.now() + 5000;
    while (agent.speaker?.config.routerId !== '198.18.0.2') {
      if (Date.now() > end) throw new Error('the speaker did not restart');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await ask(socket, 'show status')).toMatchObject({ ok: true, result: { router_id: '198.18.0.2' } });
    // A new speaker: runtime networks are not persisted.
    const shown = (await ask(socket, 'network show')) as { result: { runtime: number } };
    expect(shown.result.runtime).toBe(0);
  });
});
