import { describe, expect, it } from 'vitest';
import { diagnosis } from './etcd.js';

const up = (label: string, leader = true) => ({ label, leader, note: 'no leader' });
const down = (label: string) => ({ label, unreachable: 'connect ECONNREFUSED' });

describe('etcd: what the members say, in one line', () => {
  it('a majority unreachable is lost quorum, though the member left still names its old leader', () => {
    // Before: "a: unreachable ...; b: unreachable ...; c has a leader", as if the cluster were fine.
    const d = diagnosis([down('a'), down('b'), up('c')]);
    expect(d.reason).toMatch(/^2 of 3 etcd members unreachable: the cluster lost quorum/);
    expect(d.reason).toContain('c has a leader');
    expect(d.withLeader).toBe(2); // still worth a try: this host may only be cut off from the rest
  });

  it('one member of three down is no outage of the cluster', () => {
    const d = diagnosis([down('a'), up('b'), up('c')]);
    expect(d.reason).not.toMatch(/quorum/);
    expect(d.withLeader).toBe(1);
  });

  it('members that answer without a leader, or none that answers', () => {
    expect(diagnosis([down('a'), up('b', false)]).reason).toMatch(
      /^no etcd member has a leader: the cluster lost quorum/,
    );
    expect(diagnosis([down('a'), down('b')]).reason).toMatch(/^no etcd member reachable/);
    expect(diagnosis([up('a')]).reason).toBe('a has a leader'); // a single member is its own quorum
  });
});
