import type { OriginatedPrefix, PeerConfig, SpeakerConfig } from './config/types.js';
import type { ReloadResult } from './control/api.js';
import type { DecisionOptions } from './rib/decision.js';

/** A reload that cannot be applied to the running speaker (it needs a restart). */
export class ReloadError extends Error {
  readonly code = 'RELOAD_REFUSED';
}

export function decisionOptions(c: SpeakerConfig): DecisionOptions {
  return {
    alwaysCompareMed: c.alwaysCompareMed,
    multipath: c.multipath.enabled,
    multipathRelaxAs: c.multipath.relaxAsPath,
    maxPaths: c.multipath.maxPaths,
  };
}

/** Peer settings the session was negotiated with (or that its routes carry): a change resets it. */
const RESET_KEYS: readonly (keyof PeerConfig)[] = [
  'address',
  'port',
  'asn',
  'localAsn',
  'passive',
  'localAddress',
  'multihop',
  'holdTime',
  'keepaliveTime',
  'families',
  'routeReflectorClient',
  'gracefulRestart',
  'restartTime',
  'addPath',
  'nextHop',
];

/** True when going from `old` to `next` needs a session reset (Cease/Other Configuration Change). */
export function sessionResetNeeded(old: PeerConfig, next: PeerConfig): boolean {
  return RESET_KEYS.some((k) => JSON.stringify(old[k]) !== JSON.stringify(next[k]));
}

/** What happens to one peer of the new config. */
export interface PeerStep {
  readonly config: PeerConfig;
  /** `add`: new; `reset`: session reset, routes dropped; `change`/`keep`: settings in place. */
  readonly action: 'add' | 'reset' | 'change' | 'keep';
  /** Its stored routes go through import again (soft reconfiguration inbound). */
  readonly reimport: boolean;
}

/** The difference between the running config and a new one, as steps for the stages. */
export interface ReloadPlan {
  readonly result: ReloadResult;
  /** Peers no longer configured (Cease/Peer De-configured, routes dropped). */
  readonly remove: readonly string[];
  /** Every peer of the new config, in its order. */
  readonly peers: readonly PeerStep[];
  readonly withdraw: readonly string[];
  readonly originate: readonly OriginatedPrefix[];
  /**
   * What decides or shapes routes changed (policies, decision options, reflection, a peer's
   * settings): every prefix is decided and exported again. Origination and peers added or removed
   * alone need nothing more: they go through the usual paths.
   */
  readonly reshape: boolean;
}

/**
 * Compares the running config (`old`, with `running`: each current peer's settings) with `next`.
 * Only what differs changes: peers added, removed, or reset when a session-level setting changed;
 * policy changes re-evaluate stored routes without a reset. Router ID and AS cannot change.
 */
export function planReload(
  old: SpeakerConfig,
  next: SpeakerConfig,
  running: ReadonlyMap<string, PeerConfig>,
): ReloadPlan {
  if (next.routerId !== old.routerId || next.asn !== old.asn) {
    throw new ReloadError('routerId and asn cannot change on reload: restart the speaker');
  }
  const result: ReloadResult = {
    peers_added: [],
    peers_removed: [],
    peers_reset: [],
    peers_changed: [],
    peers_unchanged: [],
    policies_changed: JSON.stringify([...old.policies]) !== JSON.stringify([...next.policies]),
  };
  let reshapingPeers = 0;
  const wanted = new Set(next.peers.map((p) => p.name));
  for (const name of running.keys()) if (!wanted.has(name)) result.peers_removed.push(name);
  const peers: PeerStep[] = next.peers.map((pc) => {
    const cur = running.get(pc.name);
    if (!cur) {
      result.peers_added.push(pc.name);
      return { config: pc, action: 'add', reimport: false };
    }
    if (sessionResetNeeded(cur, pc)) {
      result.peers_reset.push(pc.name);
      return { config: pc, action: 'reset', reimport: false };
    }
    // BFD settings change the peer's BFD session only (the speaker's BfdLink), never its routes.
    if (JSON.stringify({ ...cur, bfd: null }) !== JSON.stringify({ ...pc, bfd: null })) {
      result.peers_changed.push(pc.name);
      reshapingPeers += 1;
      return { config: pc, action: 'change', reimport: true };
    }
    if (JSON.stringify(cur.bfd) !== JSON.stringify(pc.bfd)) {
      result.peers_changed.push(pc.name);
      return { config: pc, action: 'keep', reimport: result.policies_changed };
    }
    result.peers_unchanged.push(pc.name);
    return { config: pc, action: 'keep', reimport: result.policies_changed };
  });
  const oldLocal = new Map(old.originate.map((o) => [o.prefix, JSON.stringify(o)]));
  const newLocal = new Map(next.originate.map((o) => [o.prefix, o]));
  const shaping = (c: SpeakerConfig) =>
    JSON.stringify([decisionOptions(c), c.clusterId ?? '', c.ebgpRequiresPolicy, c.gracefulRestart]);
  return {
    result,
    remove: result.peers_removed,
    peers,
    withdraw: [...oldLocal.keys()].filter((p) => !newLocal.has(p)),
    originate: [...newLocal.values()].filter((o) => oldLocal.get(o.prefix) !== JSON.stringify(o)),
    reshape: result.policies_changed || reshapingPeers > 0 || shaping(old) !== shaping(next),
  };
}
