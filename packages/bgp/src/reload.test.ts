import { describe, expect, it } from 'vitest';
import type { SpeakerConfig } from './config/types.js';
import { planReload, ReloadError, sessionResetNeeded } from './reload.js';
import { config } from './stage-fixtures.js';

const base = (peers: string, extra = '') =>
  config(`${extra}policies:
  - { name: all, rules: [], default: accept }
  - { name: lp, rules: [{ match: {}, set: { localPref: 200 } }], default: accept }
originate:
  - { prefix: 198.19.0.0/24 }
  - { prefix: 198.19.1.0/24 }
peers:
${peers}`);

const A = '  - { name: a, address: 198.18.0.1, asn: 64512 }\n';
const B = '  - { name: b, address: 198.18.0.2, asn: 64512, import: [all] }\n';
const C = '  - { name: c, address: 198.18.0.3, asn: 64512 }\n';

const running = (c: SpeakerConfig) => new Map(c.peers.map((p) => [p.name, p]));

describe('reload plan (config diff)', () => {
  it('adds, removes, resets and changes only the peers that differ', () => {
    const old = base(A + B + C);
    const next = base(
      A.replace('asn: 64512 }', 'asn: 64512, holdTime: 30 }') +
        B.replace('[all]', '[lp]') +
        '  - { name: d, address: 198.18.0.4, asn: 64512 }\n',
    );
    const plan = planReload(old, next, running(old));
    expect(plan.result).toEqual({
      peers_added: ['d'],
      peers_removed: ['c'],
      peers_reset: ['a'],
      peers_changed: ['b'],
      peers_unchanged: [],
      policies_changed: false,
    });
    expect(plan.peers.map((s) => [s.config.name, s.action, s.reimport])).toEqual([
      ['a', 'reset', false],
      ['b', 'change', true],
      ['d', 'add', false],
    ]);
    expect(plan.remove).toEqual(['c']);
    expect(plan.reshape).toBe(true); // b's import changed
  });

  it('re-imports unchanged peers when a policy changed, and reshapes everything', () => {
    const old = base(A + B);
    const next = base(A + B).policies;
    next.set('all', { name: 'all', rules: [], default: 'reject' });
    const plan = planReload(old, { ...old, policies: next }, running(old));
    expect(plan.result.policies_changed).toBe(true);
    expect(plan.peers.map((s) => [s.action, s.reimport])).toEqual([
      ['keep', true],
      ['keep', true],
    ]);
    expect(plan.reshape).toBe(true);
  });

  it('changes nothing for an identical config, and only origination when only it changed', () => {
    const old = base(A);
    const same = planReload(old, base(A), running(old));
    expect(same.reshape).toBe(false);
    expect([same.withdraw, same.originate, same.result.peers_unchanged]).toEqual([[], [], ['a']]);
    const next = { ...old, originate: [old.originate[1]!, { ...old.originate[0]!, prefix: '198.19.2.0/24' }] };
    const plan = planReload(old, next, running(old));
    expect(plan.withdraw).toEqual(['198.19.0.0/24']);
    expect(plan.originate.map((o) => o.prefix)).toEqual(['198.19.2.0/24']);
    expect(plan.reshape).toBe(false);
    // Decision options reshape without touching a peer.
    expect(planReload(old, base(A, 'alwaysCompareMed: true\n'), running(old)).reshape).toBe(true);
  });

  it('refuses a new router ID or AS (a restart is needed)', () => {
    const old = base(A);
    expect(() => planReload(old, { ...old, asn: 65000 }, running(old))).toThrow(ReloadError);
    expect(() => planReload(old, { ...old, routerId: '198.18.0.11' }, running(old))).toThrow(
      /routerId and asn cannot change on reload/,
    );
  });

  it('resets a session only for settings it was negotiated with', () => {
    const [a] = base(A).peers;
    expect(sessionResetNeeded(a!, { ...a!, description: 'x', import: ['all'], maxPrefix: undefined })).toBe(false);
    expect(sessionResetNeeded(a!, { ...a!, families: ['ipv6-unicast'] })).toBe(true);
    expect(sessionResetNeeded(a!, { ...a!, addPath: { ...a!.addPath, send: true } })).toBe(true);
    // The restart time is in our OPEN: the peer learns a new one from a new session only.
    expect(sessionResetNeeded(a!, { ...a!, restartTime: 300 })).toBe(true);
  });

  it('re-imports, without a reset, a peer whose importTable changed', () => {
    const old = base(B);
    const plan = planReload(old, base(B.replace('[all] }', '[all], importTable: true }')), running(old));
    expect(plan.peers.map((s) => [s.config.name, s.action, s.reimport, s.config.importTable])).toEqual([
      ['b', 'change', true, true],
    ]);
  });
});
