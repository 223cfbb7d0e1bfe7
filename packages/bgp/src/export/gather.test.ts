import { Afi, encodeAttributeSet, endOfRibFamily } from '@tabby/wire';
import { describe, expect, it, vi } from 'vitest';
import { clients, setup } from './export-fixtures.js';

// Attribute sets encoded, counted: the packer's calls go through this spy.
vi.mock('@tabby/wire', async (importOriginal) => {
  const wire = await importOriginal<typeof import('@tabby/wire')>();
  return { ...wire, encodeAttributeSet: vi.fn(wire.encodeAttributeSet) };
});

/** A reflector holding `routes` routes from c1, its other clients not up yet; `step` ms pass per turn. */
function reflector(n: number, routes: number, step: number) {
  let t = 0;
  const s = setup(clients(n), undefined, () => t);
  s.up('c1');
  for (let i = 0; i < routes; i++) s.announce('c1', `198.19.${i}.0/24`);
  s.run();
  /** One turn of the loop: the decision process, then a turn of output. */
  const turn = () => {
    s.rib.process(1000, (ch) => s.stage.changed(ch.key), s.stage.otherChangeListener());
    s.stage.work(1000);
    t += step;
  };
  /** The first chunk written to each client that got its table (the bytes of its transfer). */
  const firstChunks = (names: string[]) => names.map((name) => s.peers.get(name)!.session.chunks[0]);
  return { ...s, turn, firstChunks };
}

const names = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `c${from + i}`);

describe('export stage: peers that come up one turn after another', () => {
  it('share one transfer, encoded once, where each had the table exported and encoded for it alone', () => {
    const { stage, peers, turn, run, held, firstChunks } = reflector(20, 50, 1);
    // Node accepts one connection per turn of the loop: one client comes up per turn.
    for (const name of names(2, 20)) {
      stage.established(peers.get(name)!);
      turn();
    }
    run();
    for (const name of names(2, 20)) {
      expect(held(name).size).toBe(50);
      const updates = peers.get(name)!.session.updates();
      expect(updates.some((u) => endOfRibFamily(u) === Afi.ipv4)).toBe(true);
    }
    // c2 came up alone and got its table at once; c3 to c20 came up while others kept coming:
    // one walk of the table, the very same bytes written to each.
    const chunks = firstChunks(names(3, 20));
    expect(new Set(chunks).size).toBe(1);
    expect(chunks[0]).not.toBe(firstChunks(['c2'])[0]);
  });

  it('sends a lone peer its table in the turn it came up', () => {
    const { stage, peers, turn, held } = reflector(3, 10, 1);
    stage.established(peers.get('c2')!);
    turn();
    expect(held('c2').size).toBe(10);
  });

  it('waits at most 50 ms for more peers, however many keep coming', () => {
    const { stage, peers, turn, held } = reflector(30, 10, 10);
    const joined: string[] = [];
    for (const name of names(2, 30)) {
      stage.established(peers.get(name)!);
      joined.push(name);
      turn();
      if (held('c3').size === 10) break;
    }
    // c3 started the gathering group at 10 ms; by 60 ms it had its table, peers still coming.
    expect(held('c3').size).toBe(10);
    expect(joined.length).toBeLessThanOrEqual(8);
    for (const name of joined.slice(1)) expect(held(name).size).toBe(10);
  });

  it('encodes no attribute set again for a group made for a peer that came up late', () => {
    const { stage, peers, turn, run, held, announce } = reflector(3, 0, 1);
    // 40 routes with a set each (a reflector's clients' routes: each has its own ORIGINATOR_ID).
    for (let i = 0; i < 40; i++) announce('c1', `198.20.${i}.0/24`, { communities: [64512 * 65536 + i] });
    run();
    stage.established(peers.get('c2')!);
    turn();
    run();
    expect(held('c2').size).toBe(40);
    const encode = vi.mocked(encodeAttributeSet);
    const before = encode.mock.calls.length;
    // c3 comes up once c2's group holds the table: a group of its own walks the table for it.
    stage.established(peers.get('c3')!);
    turn();
    run();
    expect(held('c3').size).toBe(40);
    expect(encode.mock.calls.length).toBe(before);
    expect([...held('c3').values()].map((u) => u.attributes.communities)).toEqual(
      [...held('c2').values()].map((u) => u.attributes.communities),
    );
  });
});
