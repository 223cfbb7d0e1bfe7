import type { AsPathSegment, LargeCommunity, PathAttributes } from '@tabby/wire';
import { addressToBigInt, parseCidr } from '../config/cidr.js';
import type { Policy, PolicyMatch, PolicySet, PrefixMatch } from '../config/types.js';
import { type PrefixKey, v4Parts } from '../rib/prefix-key.js';
import { parseCommunity, parseLargeCommunity } from './communities.js';

/** What a policy sees of a route. */
export interface RouteView {
  key: PrefixKey;
  attrs: PathAttributes;
  nextHop: string;
  /** Name and address of the peer the route came from (import) or goes to (export). */
  peerName: string;
  peerAddress: string;
  /** Originated by this speaker (absent: learned from a peer, as every imported route is). */
  local?: boolean;
}

/** A policy's verdict: rejected, or accepted with possibly changed attributes and next hop. */
export type PolicyResult =
  | { accept: false }
  | { accept: true; attrs: PathAttributes; nextHop: string; nextHopMode: 'self' | 'keep' | 'default' };

type Matcher = (r: RouteView) => boolean;

function keyParts(key: PrefixKey): { family: 4 | 6; value: bigint; length: number } {
  if (typeof key === 'number') {
    const { addr, len } = v4Parts(key);
    return { family: 4, value: BigInt(addr), length: len };
  }
  const [hex, len] = key.split('/') as [string, string];
  return { family: 6, value: BigInt(`0x${hex}`), length: Number(len) };
}

/** True when the route's prefix is in one of the entries (a prefix list: exact, or `ge`/`le` lengths). */
function prefixMatcher(list: readonly PrefixMatch[]): Matcher {
  const entries = list.map((e) => {
    const p = parseCidr(e.prefix)!;
    const bits = p.family === 4 ? 32 : 128;
    const base = addressToBigInt(p.address)!.value;
    const lo = e.ge ?? p.length;
    const hi = e.le ?? (e.ge !== undefined ? bits : p.length);
    const shift = BigInt(bits - p.length);
    return { family: p.family, base: base >> shift, shift, lo, hi };
  });
  return (r) => {
    const k = keyParts(r.key);
    return entries.some(
      (e) => e.family === k.family && k.length >= e.lo && k.length <= e.hi && k.value >> e.shift === e.base,
    );
  };
}

function compileMatch(m: PolicyMatch): Matcher[] {
  const out: Matcher[] = [];
  if (m.prefix) out.push(prefixMatcher(m.prefix));
  if (m.notPrefix) {
    const inList = prefixMatcher(m.notPrefix);
    out.push((r) => !inList(r));
  }
  if (m.source) {
    const local = m.source === 'local';
    out.push((r) => (r.local ?? false) === local);
  }
  if (m.community) {
    const want = m.community.map(parseCommunity);
    out.push((r) => want.some((c) => r.attrs.communities?.includes(c) ?? false));
  }
  if (m.largeCommunity) {
    const want = m.largeCommunity.map(parseLargeCommunity);
    out.push((r) =>
      want.some((w) => r.attrs.largeCommunities?.some((c) => c[0] === w[0] && c[1] === w[1] && c[2] === w[2]) ?? false),
    );
  }
  if (m.asPathContains) {
    const want = new Set(m.asPathContains);
    out.push((r) => (r.attrs.asPath ?? []).some((s) => s.asns.some((a) => want.has(a))));
  }
  if (m.originAs) {
    const want = new Set(m.originAs);
    out.push((r) => {
      const segs = (r.attrs.asPath ?? []).filter((s) => s.kind === 'sequence' || s.kind === 'set');
      const last = segs[segs.length - 1];
      if (last?.kind !== 'sequence') return false;
      return want.has(last.asns[last.asns.length - 1]!);
    });
  }
  if (m.asPathLength) {
    const { min = 0, max = Number.POSITIVE_INFINITY } = m.asPathLength;
    out.push((r) => {
      const n = pathLength(r.attrs.asPath ?? []);
      return n >= min && n <= max;
    });
  }
  if (m.nextHop) {
    const want = new Set(m.nextHop);
    out.push((r) => want.has(r.nextHop));
  }
  if (m.peer) {
    const want = new Set(m.peer);
    out.push((r) => want.has(r.peerName) || want.has(r.peerAddress));
  }
  return out;
}

function pathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) n += s.kind === 'sequence' ? s.asns.length : s.kind === 'set' ? 1 : 0;
  return n;
}

type Setter = (a: PathAttributes, ctx: { localAs: number }) => PathAttributes;

function compileSet(s: PolicySet): { setters: Setter[]; nextHop?: 'self' | 'keep' | string } {
  const setters: Setter[] = [];
  if (s.localPref !== undefined) setters.push((a) => ({ ...a, localPref: s.localPref }));
  if (s.med !== undefined) setters.push((a) => ({ ...a, med: s.med }));
  if (s.removeCommunities) {
    const drop = new Set(s.removeCommunities.map(parseCommunity));
    setters.push((a) => ({ ...a, communities: (a.communities ?? []).filter((c) => !drop.has(c)) }));
  }
  if (s.addCommunities) {
    const add = s.addCommunities.map(parseCommunity);
    setters.push((a) => ({
      ...a,
      communities: [...new Set([...(a.communities ?? []), ...add])].sort((x, y) => x - y),
    }));
  }
  if (s.addLargeCommunities) {
    const add = s.addLargeCommunities.map(parseLargeCommunity);
    setters.push((a) => {
      const have = [...(a.largeCommunities ?? [])];
      for (const c of add) if (!have.some((h) => h[0] === c[0] && h[1] === c[1] && h[2] === c[2])) have.push(c);
      return { ...a, largeCommunities: have as LargeCommunity[] };
    });
  }
  if (s.prepend) {
    const n = s.prepend;
    setters.push((a, ctx) => prependAs(a, ctx.localAs, n));
  }
  return { setters, ...(s.nextHop !== undefined ? { nextHop: s.nextHop } : {}) };
}

/** Prepends `asn` `times` times to the AS_PATH (RFC 4271 5.1.2). */
export function prependAs(a: PathAttributes, asn: number, times: number): PathAttributes {
  const path = a.asPath ?? [];
  const first = path[0];
  const extra = Array<number>(times).fill(asn);
  if (first && first.kind === 'sequence' && first.asns.length + times <= 255) {
    return { ...a, asPath: [{ kind: 'sequence', asns: [...extra, ...first.asns] }, ...path.slice(1)] };
  }
  return { ...a, asPath: [{ kind: 'sequence', asns: extra }, ...path] };
}

/**
 * One policy's outcome: `reject`, `accept` (later policies of the peer still run), `final`
 * (accepted, later policies skipped) or `next` (undecided: the next policy decides), with the
 * attributes and next hop as the policy left them.
 */
export interface PolicyOutcome {
  verdict: 'accept' | 'final' | 'reject' | 'next';
  attrs: PathAttributes;
  nextHop: string;
  nextHopMode: 'self' | 'keep' | 'default';
}

/** A policy compiled once into closures, evaluated per route. */
export class CompiledPolicy {
  private readonly rules: { match: Matcher[]; set: ReturnType<typeof compileSet>; action: string }[];

  constructor(readonly policy: Policy) {
    this.rules = policy.rules.map((r) => ({ match: compileMatch(r.match), set: compileSet(r.set), action: r.action }));
  }

  /**
   * Runs the rules in order: a matching rule applies its `set`, then accepts, rejects, or (`next`)
   * goes on. A route no rule decided gets the policy's default.
   */
  run(route: RouteView, localAs: number): PolicyOutcome {
    let attrs = route.attrs;
    let nextHopMode: 'self' | 'keep' | 'default' = 'default';
    let nextHop = route.nextHop;
    const view = { ...route };
    for (const rule of this.rules) {
      view.attrs = attrs;
      if (!rule.match.every((m) => m(view))) continue;
      for (const s of rule.set.setters) attrs = s(attrs, { localAs });
      const nh = rule.set.nextHop;
      if (nh === 'self' || nh === 'keep') nextHopMode = nh;
      else if (nh !== undefined) {
        nextHop = nh;
        nextHopMode = 'keep';
      }
      if (rule.action === 'accept') return { verdict: 'accept', attrs, nextHop, nextHopMode };
      if (rule.action === 'accept-final') return { verdict: 'final', attrs, nextHop, nextHopMode };
      if (rule.action === 'reject') return { verdict: 'reject', attrs, nextHop, nextHopMode };
    }
    return { verdict: this.policy.default, attrs, nextHop, nextHopMode };
  }

  /** This policy alone: `run`, where a route it leaves undecided (`next`) is rejected. */
  evaluate(route: RouteView, localAs: number): PolicyResult {
    return applyPolicies([this], route, localAs);
  }
}

/**
 * Applies a peer's policies in order, each seeing the previous one's attributes: a reject stops
 * (rejected), an `accept-final` stops (accepted), an accept or an undecided policy (`next`) goes
 * on. A route some policy accepted and none rejected is accepted; a route no policy decided is
 * rejected, as BIRD rejects a route its filter neither accepts nor rejects. No policies: accepted
 * unchanged.
 */
export function applyPolicies(policies: readonly CompiledPolicy[], route: RouteView, localAs: number): PolicyResult {
  let attrs = route.attrs;
  let nextHop = route.nextHop;
  let nextHopMode: 'self' | 'keep' | 'default' = 'default';
  let accepted = policies.length === 0;
  for (const p of policies) {
    const r = p.run(attrs === route.attrs && nextHop === route.nextHop ? route : { ...route, attrs, nextHop }, localAs);
    if (r.verdict === 'reject') return { accept: false };
    attrs = r.attrs;
    nextHop = r.nextHop;
    if (r.nextHopMode !== 'default') nextHopMode = r.nextHopMode;
    if (r.verdict === 'next') continue;
    accepted = true;
    if (r.verdict === 'final') break;
  }
  return accepted ? { accept: true, attrs, nextHop, nextHopMode } : { accept: false };
}
