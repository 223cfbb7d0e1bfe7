import { Afi, endOfRibFamily, sessionContext, WellKnownCommunity } from '@tabby/wire';
import { describe, expect, it } from 'vitest';
import type { PeerConfig } from '../config/types.js';
import { LocalRoutes } from '../rib/local-routes.js';
import { config } from '../stage-fixtures.js';
import { HIGH_WATER } from './export.js';
import { clients, RR, setup, v4 } from './export-fixtures.js';

describe('export stage', () => {
  it('sends one encoded stream to a group, never echoes a route to its source, and ends each transfer with End-of-RIB', () => {
    const { peers, up, run, announce, held } = setup(config(RR));
    for (const n of ['c1', 'c2', 'c3']) up(n);
    for (const n of ['c1', 'c2', 'c3']) {
      const u = peers.get(n)!.session.updates();
      expect(u.map(endOfRibFamily)).toEqual([Afi.ipv4]); // an empty table: End-of-RIB only
      expect(peers.get(n)!.out!.eorPending.size).toBe(0);
    }
    expect(new Set(['c1', 'c2', 'c3'].map((n) => peers.get(n)!.out!.group)).size).toBe(1);
    const mark = new Map([...peers].map(([n, p]) => [n, p.session.chunks.length]));
    announce('c1', '198.19.1.0/24', { med: 5 });
    announce('c1', '198.19.2.0/24', { med: 5 });
    run();
    const got = (n: string) => peers.get(n)!.session.chunks.slice(mark.get(n));
    expect(got('c1')).toEqual([]);
    expect(got('c2')).toHaveLength(1);
    expect(got('c3')[0]).toBe(got('c2')[0]); // the very same bytes: packed and encoded once
    const u = [...held('c2').values()][0]!;
    expect([...held('c2').keys()]).toEqual(['198.19.1.0/24#0', '198.19.2.0/24#0']);
    // RFC 4456 8: reflected with ORIGINATOR_ID and CLUSTER_LIST, next hop and MED unchanged.
    expect(u.attributes).toMatchObject({
      originatorId: '198.18.0.1',
      clusterList: ['198.18.0.100'],
      nextHop: '198.18.0.1',
      med: 5,
      localPref: 100,
    });
    expect(peers.get('c2')!.updates.prefixesSent).toBe(2);
    expect(peers.get('c2')!.out!.advertisedCount).toBe(2);
    expect(peers.get('c1')!.out!.advertisedCount).toBe(0);
  });

  it('writes a flush to each member in a few writes, not one per source of its routes (a reflector of many clients)', () => {
    const n = 12;
    const c = config(`clusterId: 198.18.0.100
peers:
${Array.from({ length: n }, (_, i) => `  - { name: c${i + 1}, address: 198.18.0.${i + 1}, asn: 64512, routeReflectorClient: true }\n`).join('')}`);
    const { peers, up, run, announce, held } = setup(c);
    const names = [...peers.keys()];
    for (const name of names) up(name);
    const mark = new Map([...peers].map(([name, p]) => [name, p.session.chunks.length]));
    // Every client but the last announces its own route in the same turn: one batch per source.
    for (let i = 1; i < n; i++) announce(`c${i}`, `198.19.${i}.0/24`);
    run();
    const writes = (name: string) => peers.get(name)!.session.chunks.length - mark.get(name)!;
    expect(writes(`c${n}`)).toBe(1); // it gets every route: one write (before: one per source)
    let total = 0;
    for (const name of names) {
      // A member is left out of its own route's batch: at most two slices around it.
      expect(writes(name)).toBeLessThanOrEqual(2);
      total += writes(name);
      const own = `198.19.${name.slice(1)}.0/24#0`;
      const want = Array.from({ length: n - 1 }, (_, i) => `198.19.${i + 1}.0/24#0`).filter((k) => k !== own);
      expect([...held(name).keys()].sort()).toEqual(want.sort()); // never its own route back
      expect(peers.get(name)!.updates.prefixesSent).toBe(want.length);
    }
    expect(total).toBeLessThan(2 * n); // before: (n - 1) * (n - 2) + (n - 1) writes
  });

  it('writes a flush to many members over several turns of the loop, each member in order', () => {
    const n = 200;
    const { rib, peers, stage, announce, held } = setup(clients(n));
    for (const p of peers.values()) stage.established(p);
    announce('c1', '198.19.1.0/24');
    rib.process(1000, (ch) => stage.changed(ch.key));
    // A turn whose time is already used up makes one write, not 200.
    stage.work(1000, 0);
    const got = () => [...peers.keys()].filter((name) => held(name).size > 0).length;
    expect(got()).toBeGreaterThan(0);
    expect(got()).toBeLessThan(n - 1);
    expect(stage.busy).toBe(true);
    expect(stage.backlog).toBeGreaterThan(0);
    let turns = 1;
    while (stage.busy) {
      stage.work(1000, 0);
      turns += 1;
    }
    expect(turns).toBeGreaterThan(2);
    expect(got()).toBe(n - 1); // all but the source
    for (const p of peers.values()) {
      const u = p.session.updates();
      // Each member's table, then its End-of-RIB: the End-of-RIB waited behind the UPDATE.
      expect(endOfRibFamily(u.at(-1)!)).toBe(Afi.ipv4);
      expect(u.length).toBe(p.source === peers.get('c1')!.source ? 1 : 2);
    }
  });

  it('after writing a few prefixes to many members, waits as long as that took: what changes meanwhile goes in one flush', () => {
    const n = 150;
    let t = 0;
    const { rib, peers, stage, announce, held } = setup(clients(n), undefined, () => t);
    for (const p of peers.values()) p.session.onWrite = () => (t += 0.02); // a socket write: 20 µs
    const writes = () => [...peers.values()].reduce((k, p) => k + p.session.chunks.length, 0);
    const turn = () => {
      rib.process(1000, (ch) => stage.changed(ch.key));
      stage.work(1000);
    };
    for (const p of peers.values()) stage.established(p);
    turn(); // End-of-RIB to each
    t += 10;
    announce('c1', '198.19.1.0/24');
    turn();
    expect(held('c2').size).toBe(1);
    // 149 writes took 2.98 ms: the next flush waits that long.
    expect(stage.quietMs).toBeGreaterThan(2.9);
    expect(stage.quietMs).toBeLessThanOrEqual(2.98);
    const before = writes();
    announce('c2', '198.19.2.0/24');
    turn();
    t += 1;
    announce('c3', '198.19.3.0/24');
    turn();
    expect(writes()).toBe(before);
    expect(stage.busy).toBe(false); // the speaker sleeps until the pause is over
    expect(stage.backlog).toBe(2); // `show status` still counts what waits
    t += 2;
    expect(stage.quietMs).toBe(0);
    expect(stage.busy).toBe(true);
    turn();
    // Both prefixes in one flush: a write per member (c2 and c3 get the other's), not 2 x 149.
    expect(writes() - before).toBe(n);
    for (const [name, p] of peers) {
      const own = `198.19.${name.slice(1)}.0/24#0`;
      const want = ['198.19.1.0/24#0', '198.19.2.0/24#0', '198.19.3.0/24#0'].filter((k) => k !== own);
      expect([...held(name).keys()].sort(), name).toEqual(want);
      expect(p.session.updates().length).toBeGreaterThan(0);
    }
    expect(stage.backlog).toBe(0);
  });

  it('does not wait after a flush that left prefixes queued (its budget or the turn’s time ran out), nor after a few writes', () => {
    let t = 0;
    const { rib, peers, stage, announce, held } = setup(clients(150), undefined, () => t);
    for (const p of peers.values()) p.session.onWrite = () => (t += 0.02);
    for (const p of peers.values()) stage.established(p);
    stage.work(100); // End-of-RIB to each
    t += 10;
    for (let i = 0; i < 250; i++) announce('c1', `198.19.${i >> 8}.${i & 255}/32`);
    rib.process(1000, (ch) => stage.changed(ch.key));
    // Flushes of a 100-prefix budget, each written to 149 members, one after the other: 100, 100, 50.
    for (let i = 0; i < 2; i++) {
      stage.work(100);
      expect(stage.quietMs).toBe(0);
    }
    stage.work(100);
    expect(held('c2').size).toBe(250);
    expect(stage.backlog).toBe(0);
    // A turn whose time is used up stops its flush after 64 prefixes: the rest follows at once,
    // though fewer than a budget's worth, with the clock moved only by the writes.
    for (let i = 0; i < 100; i++) announce('c1', `198.19.9.${i}/32`);
    rib.process(1000, (ch) => stage.changed(ch.key));
    t += 10;
    for (let i = 0; i < 1000 && stage.busy; i++) stage.work(1000, 0); // a write a turn
    expect(held('c2').size).toBe(350);
    expect(stage.backlog).toBe(0);
    // Two members: a round of two writes, then the next change goes at once.
    const two = setup(clients(2), undefined, () => t);
    for (const p of two.peers.values()) {
      p.session.onWrite = () => (t += 5);
      two.up(p.config.name);
    }
    two.announce('c1', '198.19.1.0/24');
    two.run();
    expect(two.stage.quietMs).toBe(0);
    expect(two.held('c2').size).toBe(1);
  });

  it('does not export the table again for each session that comes up, only when a router ID changed', () => {
    const { peers, up, announce, run, held, stage } = setup(config(RR));
    up('c1');
    up('c2');
    for (let i = 0; i < 50; i++) announce('c1', `198.19.${i}.0/24`, { med: i });
    run();
    const computed = stage.exportsComputed;
    expect(computed).toBe(50);
    up('c3'); // a late joiner: a transfer of its own, from the cache
    expect(held('c3').size).toBe(50);
    expect(stage.exportsComputed).toBe(computed); // before: the cache was cleared, 50 again
    // c1 comes back with another router ID: its routes now carry that ORIGINATOR_ID.
    const c1 = peers.get('c1')!;
    c1.source.routerId = (198 << 24) | (18 << 16) | 77;
    up('c1');
    announce('c1', '198.19.99.0/24', { med: 0 });
    run();
    expect(held('c2').get('198.19.99.0/24#0')!.attributes.originatorId).toBe('198.18.0.77');
  });

  it('walks no member of a group that has nothing queued and whose members owe nothing (a turn of an idle reflector)', () => {
    const names = Array.from({ length: 50 }, (_, i) => `c${i + 1}`);
    const c = config(`clusterId: 198.18.0.100
peers:
${names.map((n, i) => `  - { name: ${n}, address: 198.18.1.${i + 1}, asn: 64512, routeReflectorClient: true }\n`).join('')}`);
    const { stage, peers, up, run, announce } = setup(c);
    for (const n of names) up(n);
    announce('c1', '198.19.1.0/24');
    run();
    const announced = (n: string, from = 0) =>
      peers
        .get(n)!
        .session.updates(from)
        .filter((u) => u.nlri.count > 0);
    expect(announced('c2')).toHaveLength(1);
    let reads = 0;
    for (const p of peers.values()) {
      const session = p.established;
      Object.defineProperty(p, 'established', {
        get: () => {
          reads += 1;
          return session;
        },
      });
    }
    for (let i = 0; i < 5; i++) stage.work(1000);
    expect(stage.busy).toBe(false);
    expect(stage.backlog).toBe(0);
    expect(reads).toBe(0); // before: every member, twice, on every turn
    // A member that owes something again (a ROUTE-REFRESH) is still served.
    stage.routeRefresh(peers.get('c7')!, { type: 'route-refresh', afi: Afi.ipv4, safi: 1, subtype: 'normal' });
    const before = peers.get('c7')!.session.chunks.length;
    run();
    expect(peers.get('c7')!.session.updates(before).map(endOfRibFamily).at(-1)).toBe(Afi.ipv4);
    expect(announced('c7', before)).toHaveLength(1);
  });

  it('exports a long queue a few dozen prefixes per turn once the turn’s time is used up', () => {
    const { rib, stage, up, announce, held } = setup(config(RR));
    up('c1');
    up('c2');
    for (let i = 0; i < 300; i++) announce('c1', `198.19.${i >> 8}.${i & 255}/32`, { med: i });
    rib.process(1000, (ch) => stage.changed(ch.key));
    stage.work(1000, 0); // the budget allows 1,000 prefixes; the clock stops it at 64
    expect(held('c2').size).toBe(64);
    expect(stage.backlog).toBe(300 - 64);
    while (stage.busy) stage.work(1000, 0);
    expect(held('c2').size).toBe(300);
  });

  it('gives a member that joins late the table in a group of its own, then merges it back', () => {
    const { peers, up, announce, run, held, stage } = setup(config(RR));
    up('c1');
    up('c2');
    announce('c1', '198.19.1.0/24');
    run();
    up('c3');
    expect(held('c3').has('198.19.1.0/24#0')).toBe(true);
    const c3 = peers.get('c3')!;
    expect(c3.out!.group).toBe(peers.get('c2')!.out!.group);
    expect(c3.out!.group!.members.size).toBe(3);
    // Its session ends: its Adj-RIB-Out goes with it, the group stays for the others.
    const group = c3.out!.group!;
    stage.down(c3);
    expect(c3.out).toBeNull();
    expect(group.members.size).toBe(2);
    expect(peers.get('c2')!.out!.advertisedCount).toBe(1);
  });

  it('exports towards eBGP as RFC 4271 5.1 says, and nothing without export policy (RFC 8212)', () => {
    const c = config(`policies:
  - { name: all, rules: [], default: accept }
peers:
  - { name: ibgp, address: 198.18.0.1, asn: 64512 }
  - { name: open, address: 198.18.0.2, asn: 65002, export: [all] }
  - { name: closed, address: 198.18.0.3, asn: 65003 }
  - { name: ibgp2, address: 198.18.0.4, asn: 64512 }
`);
    const { up, announce, run, held } = setup(c);
    for (const n of ['ibgp', 'open', 'closed', 'ibgp2']) up(n);
    announce('ibgp', '198.19.1.0/24', { med: 7, localPref: 300, asPath: [{ kind: 'sequence', asns: [65010] }] });
    announce('ibgp', '198.19.2.0/24', { communities: [WellKnownCommunity.NO_EXPORT] });
    run();
    const got = held('open');
    expect([...got.keys()]).toEqual(['198.19.1.0/24#0']); // NO_EXPORT stays inside the AS
    expect(got.get('198.19.1.0/24#0')!.attributes).toMatchObject({
      asPath: [{ kind: 'sequence', asns: [64512, 65010] }],
      nextHop: '198.18.0.10',
    });
    expect(got.get('198.19.1.0/24#0')!.attributes.med).toBeUndefined();
    expect(got.get('198.19.1.0/24#0')!.attributes.localPref).toBeUndefined();
    expect(held('closed').size).toBe(0);
    // iBGP-learned routes do not go to another iBGP peer without a route reflector.
    expect(held('ibgp2').size).toBe(0);
  });

  it("tells a policy's source match whether a route was learned or originated (BGPFilter source RemotePeers)", () => {
    const c = config(`policies:
  - { name: bgp_f_exportFilterV4, default: next, rules: [{ match: { source: bgp }, action: reject }] }
  - { name: all, rules: [], default: accept }
peers:
  - { name: ibgp, address: 198.18.0.1, asn: 64512 }
  - { name: tor, address: 198.18.0.2, asn: 65002, export: [bgp_f_exportFilterV4, all] }
`);
    const { rib, attrs, up, announce, run, held } = setup(c);
    up('ibgp');
    up('tor');
    new LocalRoutes(rib, attrs, c, () => 0).add({
      prefix: '198.19.0.0/26',
      blackhole: true,
      communities: [],
      largeCommunities: [],
    });
    announce('ibgp', '198.19.1.0/26');
    run();
    expect([...held('tor').keys()]).toEqual(['198.19.0.0/26#0']);
  });

  it('answers ROUTE-REFRESH with the family again, then End-of-RIB, and withdraws what left the Loc-RIB', () => {
    const { rib, peers, up, announce, run, stage } = setup(config(RR));
    for (const n of ['c1', 'c2', 'c3']) up(n);
    announce('c1', '198.19.1.0/24');
    run();
    const c2 = peers.get('c2')!;
    const mark = c2.session.chunks.length;
    const c3mark = peers.get('c3')!.session.chunks.length;
    stage.routeRefresh(c2, { type: 'route-refresh', afi: Afi.ipv4, safi: 1, subtype: 'normal' });
    run();
    const again = c2.session.updates(mark);
    expect(again.map((u) => [...u.nlri].map((p) => `${p.address}/${p.length}`))).toEqual([['198.19.1.0/24'], []]);
    expect(endOfRibFamily(again[1]!)).toBe(Afi.ipv4);
    expect(peers.get('c3')!.session.chunks.length).toBe(c3mark); // the others got nothing
    // The route goes: every member but its source is sent the withdrawal.
    rib.remove(rib.find(v4('198.19.1.0/24'), peers.get('c1')!.source, 0));
    run();
    const w = peers.get('c3')!.session.updates(c3mark);
    expect(w.map((u) => [...u.withdrawn].map((p) => `${p.address}/${p.length}`))).toEqual([['198.19.1.0/24']]);
  });

  it('sends every candidate path with ADD-PATH select all, and a change to a path that is not best', () => {
    const c = config(`clusterId: 198.18.0.100
policies:
  - { name: lp50, rules: [{ match: {}, set: { localPref: 50 }, action: accept }] }
peers:
  - { name: o1, address: 198.18.0.1, asn: 64512, routeReflectorClient: true }
  - { name: o2, address: 198.18.0.2, asn: 64512, routeReflectorClient: true }
  - { name: c, address: 198.18.0.3, asn: 64512, routeReflectorClient: true, addPath: { send: true, select: all } }
`);
    const ctx = (pc: PeerConfig) => sessionContext({ fourOctetAs: true, addPathSend: { ipv4: pc.name === 'c' } });
    const { peers, up, announce, run, held, stage } = setup(c, ctx);
    for (const n of ['o1', 'o2', 'c']) up(n);
    expect([...peers.get('c')!.out!.addPathSend]).toEqual([Afi.ipv4]);
    announce('o1', '198.19.1.0/24');
    announce('o2', '198.19.1.0/24', { localPref: 50 });
    run();
    const paths = () => [...held('c').values()].map((u) => u.attributes.nextHop).sort();
    expect(paths()).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(held('c').size).toBe(2);
    // A change to the path that is neither best nor in the ECMP set still goes out.
    announce('o2', '198.19.1.0/24', { localPref: 50, communities: [64512 * 65536 + 7] });
    run();
    const o2 = [...held('c').values()].find((u) => u.attributes.nextHop === '198.18.0.2')!;
    expect(o2.attributes.communities).toEqual([64512 * 65536 + 7]);
    // show rib out: both paths, by path identifier, and where each came from.
    const sent = peers.get('c')!.out!.sentAt(v4('198.19.1.0/24'));
    expect(sent.size).toBe(2);
    expect([...sent.keys()].map((id) => stage.addPathSource(v4('198.19.1.0/24'), id)?.name).sort()).toEqual([
      'o1',
      'o2',
    ]);
  });

  it('waits while a member’s send buffer is over the high-water mark', () => {
    const { peers, up, announce, run, stage, held } = setup(config(RR));
    for (const n of ['c1', 'c2']) up(n);
    peers.get('c2')!.session.conn.pendingBytes = HIGH_WATER + 1;
    announce('c1', '198.19.1.0/24');
    run();
    expect(held('c2').size).toBe(0);
    expect(stage.busy).toBe(false); // nothing to do until the buffer drains
    expect(stage.backlog).toBe(1); // but the prefix still waits: `show status` says so
    peers.get('c2')!.session.conn.pendingBytes = 0;
    expect(stage.busy).toBe(true);
    run();
    expect(held('c2').size).toBe(1);
    expect(stage.backlog).toBe(0);
  });
});
