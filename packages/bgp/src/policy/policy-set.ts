import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { Policy, SpeakerConfig } from '../config/types.js';
import { prefixKeyFromText } from '../rib/prefix-key.js';
import { applyPolicies, CompiledPolicy } from './evaluate.js';

/** The config's policies, compiled once per config; import and export resolve a peer's names here. */
export class PolicySet {
  private readonly byName: Map<string, CompiledPolicy>;

  constructor(policies: ReadonlyMap<string, Policy>) {
    this.byName = new Map([...policies].map(([k, v]) => [k, new CompiledPolicy(v)]));
  }

  /** The policies named, in order (the config loader checked that every name exists). */
  resolve(names: readonly string[]): CompiledPolicy[] {
    return names.map((n) => this.byName.get(n)).filter((x): x is CompiledPolicy => !!x);
  }
}

/** True when a policy of `list` matches on the prefix: its outcome differs per prefix, not only per attribute set. */
export function matchesPrefix(list: readonly CompiledPolicy[]): boolean {
  return list.some((p) => p.policy.rules.some((r) => r.match.prefix !== undefined || r.match.notPrefix !== undefined));
}

/**
 * Whether the named policies of `config` (a peer's `import` or `export` list) let a route to
 * `prefix` through, with plain attributes (origin IGP, empty AS path): for checking a rendered
 * config's prefix and source rules, as the confd tests do against BIRD.
 */
export function policyPasses(
  config: Pick<SpeakerConfig, 'policies' | 'asn'>,
  names: readonly string[],
  prefix: string,
  opts: { local?: boolean } = {},
): boolean {
  const c = parseCidr(prefix);
  if (!c) throw new Error(`${prefix} is not a prefix`);
  const key = prefixKeyFromText(c.family, addressToBigInt(c.address)!.value, c.length);
  const list = names.map((n) => config.policies.get(n)).filter((p): p is Policy => !!p);
  const route = { key, attrs: { origin: 'igp' as const, asPath: [] }, nextHop: '', peerName: '', peerAddress: '' };
  return applyPolicies(
    list.map((p) => new CompiledPolicy(p)),
    { ...route, ...(opts.local ? { local: true } : {}) },
    config.asn,
  ).accept;
}
