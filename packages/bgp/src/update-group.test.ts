import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from './config/load.js';
import { prefixKeyText } from './rib/prefix-key.js';
import { Speaker } from './speaker.js';
import { until } from './test-support.js';
import { type Connection, MemoryNetwork, type Transport } from './transport.js';

const speakers: Speaker[] = [];
afterEach(async () => {
  for (const s of speakers.splice(0)) await s.stop();
});

const RR = '198.18.0.10';
const client = (i: number) => `198.18.0.${i}`;

/** A transport that records every chunk the speaker writes, per remote address. */
function recording(t: Transport, writes: Map<string, Uint8Array[]>): Transport {
  const wrap = (c: Connection): Connection => {
    const chunks: Uint8Array[] = [];
    writes.set(c.remoteAddress, chunks);
    return new Proxy(c, {
      get(target, prop) {
        if (prop === 'write')
          return (b: Uint8Array) => {
            chunks.push(b);
            return target.write(b);
          };
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  };
  return { connect: async (o) => wrap(await t.connect(o)), listen: (o, cb) => t.listen(o, (c) => cb(wrap(c))) };
}

/** UPDATE messages in recorded chunks (a chunk may hold several messages). */
function updates(chunks: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const c of chunks) {
    for (let at = 0; at < c.length; ) {
      const len = (c[at + 16]! << 8) | c[at + 17]!;
      if (c[at + 18] === 2) out.push(c.subarray(at, at + len));
      at += len;
    }
  }
  return out;
}

/** The reflector's config: `n` passive client peers (c1..cn); `tagged` ones export through policy `tag`. */
function rrYaml(n: number, tagged: number[] = []): string {
  const peers = Array.from(
    { length: n },
    (_, i) =>
      `  - { address: ${client(i + 1)}, asn: 64512, passive: true, routeReflectorClient: true${tagged.includes(i + 1) ? ', export: [tag]' : ''} }\n`,
  ).join('');
  const policy =
    'policies:\n  - { name: tag, rules: [{ match: {}, set: { addCommunities: ["64512:99"] }, action: accept }] }\n';
  return `routerId: ${RR}\nasn: 64512\nclusterId: 198.18.0.100\nlisten: { address: ${RR}, port: 179 }\n${policy}peers:\n${peers}`;
}

/** A reflector with `n` passive client peers (c1..cn), and the clients that `start` lists. */
async function setup(n: number, start: number[]) {
  const net = new MemoryNetwork();
  const writes = new Map<string, Uint8Array[]>();
  const rr = new Speaker(parseConfig(rrYaml(n)), { transport: recording(net.transport(RR), writes) });
  speakers.push(rr);
  await rr.start();
  const clients = new Map<number, Speaker>();
  const startClient = async (i: number) => {
    const c = new Speaker(
      parseConfig(`routerId: ${client(i)}\nasn: 64512\npeers:\n  - { address: ${RR}, asn: 64512 }\n`),
      { transport: net.transport(client(i)) },
    );
    speakers.push(c);
    clients.set(i, c);
    await c.start();
    // Established, and End-of-RIB sent (the marks below count UPDATEs after it).
    await until(`c${i} established`, () => {
      const p = rr.findPeer(client(i));
      return p?.state === 'Established' && p.eorPending.size === 0;
    });
    return c;
  };
  for (const i of start) await startClient(i);
  const peer = (i: number) => rr.findPeer(client(i))!;
  const adjIn = (i: number) => {
    const c = clients.get(i)!;
    return c.adjRibIn([...c.peers.values()][0]!);
  };
  /** Prefixes client i holds from the reflector, with the ORIGINATOR_ID of each. */
  const held = (i: number) => new Map(adjIn(i).map((e) => [prefixKeyText(e.key), e.raw.attrs.originatorId]));
  /** How many of them carry community 64512:99. */
  const tagged = (i: number) => adjIn(i).filter((e) => e.raw.attrs.communities?.includes(64512 * 65536 + 99)).length;
  return { rr, clients, writes, peer, held, tagged, startClient };
}

const PREFIXES = Array.from({ length: 40 }, (_, i) => `198.19.${i}.0/24`);

describe('update groups (one Adj-RIB-Out and one UPDATE stream per group)', () => {
  it('writes the same encoded UPDATEs to every client but the source, which gets no echo', async () => {
    const { rr, clients, writes, peer, held } = await setup(4, [1, 2, 3, 4]);
    await until('one group', () => new Set([1, 2, 3, 4].map((i) => peer(i).group)).size === 1);
    const before = new Map([1, 2, 3, 4].map((i) => [i, writes.get(client(i))!.length]));
    for (const p of PREFIXES) clients.get(1)!.originate(p);
    for (const i of [2, 3, 4]) await until(`c${i} has all`, () => held(i).size === PREFIXES.length);
    expect(held(2).get(PREFIXES[0]!)).toBe(client(1));
    const sent = (i: number) => updates(writes.get(client(i))!.slice(before.get(i)));
    const [a, b, c] = [sent(2), sent(3), sent(4)];
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    // Not just equal bytes: the very same buffers (encoded once).
    expect(b.map((u) => u.buffer)).toEqual(a.map((u) => u.buffer));
    expect(b[0]!.buffer).toBe(a[0]!.buffer);
    expect(sent(1)).toEqual([]);
    expect(held(1).size).toBe(0);
    expect(peer(1).advertisedCount).toBe(0);
    expect(peer(2).advertisedCount).toBe(PREFIXES.length);
    expect(rr.peers.size).toBe(4);

    // A withdrawal reaches every client that had the routes, in one shared stream as well.
    const mark = new Map([1, 2, 3, 4].map((i) => [i, writes.get(client(i))!.length]));
    for (const p of PREFIXES.slice(0, 10)) clients.get(1)!.withdrawLocal(p);
    for (const i of [2, 3, 4]) await until(`c${i} lost 10`, () => held(i).size === PREFIXES.length - 10);
    const w = (i: number) => updates(writes.get(client(i))!.slice(mark.get(i)));
    expect(w(3)).toEqual(w(2));
    expect(w(4)[0]!.buffer).toBe(w(2)[0]!.buffer);
    expect(w(1)).toEqual([]);
    expect(peer(2).advertisedCount).toBe(PREFIXES.length - 10);
  });

  it('gives a client that connects late the full table, then merges it into the group', async () => {
    const { clients, writes, peer, held, startClient } = await setup(3, [1, 2]);
    for (const p of PREFIXES) clients.get(1)!.originate(p);
    await until('c2 has all', () => held(2).size === PREFIXES.length);
    await startClient(3);
    await until('c3 has all', () => held(3).size === PREFIXES.length);
    expect(held(3).get(PREFIXES[5]!)).toBe(client(1));
    await until('c3 merged into the group', () => peer(3).group === peer(2).group && peer(2).group === peer(1).group);
    // Its End-of-RIB (an UPDATE of 23 octets) may still be on its way out when the groups merge.
    await until('c3 has its End-of-RIB', () => updates(writes.get(client(3))!).some((u) => u.length === 23));
    const mark = writes.get(client(3))!.length;
    const mark2 = writes.get(client(2))!.length;
    clients.get(1)!.originate('198.19.200.0/24');
    await until('c3 has the new route', () => held(3).has('198.19.200.0/24'));
    await until('c2 has the new route', () => held(2).has('198.19.200.0/24'));
    const late = updates(writes.get(client(3))!.slice(mark));
    expect(late[0]!.buffer).toBe(updates(writes.get(client(2))!.slice(mark2))[0]!.buffer);
    expect(held(1).size).toBe(0);
  });

  it('moves a prefix between sources: the new source gets a withdrawal, the old one the route', async () => {
    const { clients, held } = await setup(3, [1, 2, 3]);
    const P = '198.19.77.0/24';
    clients.get(2)!.originate(P);
    for (const i of [1, 3]) await until(`c${i} has c2's route`, () => held(i).get(P) === client(2));
    expect(held(2).has(P)).toBe(false);
    // c1's path wins at the reflector (lower router ID): c2 now gets it, c1 loses c2's.
    clients.get(1)!.originate(P);
    await until("c2 has c1's route", () => held(2).get(P) === client(1));
    await until("c3 has c1's route", () => held(3).get(P) === client(1));
    await until("c1 lost c2's route", () => !held(1).has(P));
    // Back: c1 withdraws, c2's path is best again.
    clients.get(1)!.withdrawLocal(P);
    await until("c1 has c2's route again", () => held(1).get(P) === client(2));
    await until("c3 has c2's route again", () => held(3).get(P) === client(2));
    await until("c2 lost c1's route", () => !held(2).has(P));
  });

  it('answers a ROUTE-REFRESH from one member with the table, and takes it back into the group', async () => {
    const { clients, writes, peer, held } = await setup(3, [1, 2, 3]);
    for (const p of PREFIXES) clients.get(1)!.originate(p);
    for (const i of [2, 3]) await until(`c${i} has all`, () => held(i).size === PREFIXES.length);
    const mark3 = writes.get(client(3))!.length;
    const mark2 = writes.get(client(2))!.length;
    const c3 = clients.get(3)!;
    c3.refresh([...c3.peers.values()][0]!);
    await until('table re-sent to c3', () => {
      let n = 0;
      for (const u of updates(writes.get(client(3))!.slice(mark3))) n += u.length > 23 ? 1 : 0;
      return n > 0;
    });
    await until('c3 back in the group', () => peer(3).group === peer(2).group);
    expect(held(3).size).toBe(PREFIXES.length);
    // The other members got nothing.
    expect(updates(writes.get(client(2))!.slice(mark2))).toEqual([]);
  });

  it('moves a member whose export policy changed on reload to a group of its own, and back', async () => {
    const { rr, clients, writes, peer, held, tagged } = await setup(3, [1, 2, 3]);
    for (const p of PREFIXES) clients.get(1)!.originate(p);
    for (const i of [2, 3]) await until(`c${i} has all`, () => held(i).size === PREFIXES.length);
    const mark2 = writes.get(client(2))!.length;
    rr.reload(parseConfig(rrYaml(3, [3])));
    await until('c3 re-sent everything with the community', () => tagged(3) === PREFIXES.length);
    expect(peer(3).group).not.toBe(peer(2).group);
    expect(peer(2).group).toBe(peer(1).group);
    expect(tagged(2)).toBe(0);
    rr.reload(parseConfig(rrYaml(3)));
    await until('c3 untagged again', () => tagged(3) === 0);
    await until('c3 back in the group', () => peer(3).group === peer(2).group);
    expect(held(3).size).toBe(PREFIXES.length);
    // The members whose view did not change got nothing.
    expect(updates(writes.get(client(2))!.slice(mark2))).toEqual([]);
  });
});
