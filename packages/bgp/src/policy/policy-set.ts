import type { Policy } from '../config/types.js';
import { CompiledPolicy } from './evaluate.js';

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
