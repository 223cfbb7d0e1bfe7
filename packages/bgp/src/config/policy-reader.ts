import { preview } from '@tabby/yaml';
import { parseCidr } from './cidr.js';
import type { ConfigReader, Path } from './reader.js';
import {
  type Policy,
  PolicyActions,
  PolicyDefaults,
  type PolicyMatch,
  type PolicyRule,
  type PolicySet,
  type PrefixMatch,
  RouteSources,
} from './types.js';

// Policies, communities and prefixes as the config file writes them.

const COMMUNITY_NAMES = new Set([
  'no-export',
  'no-advertise',
  'no-export-subconfed',
  'no-peer',
  'blackhole',
  'graceful-shutdown',
]);
const COMMUNITY_RE = /^(\d{1,5}):(\d{1,5})$/;
const LARGE_COMMUNITY_RE = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/;

export function readCommunities(r: ConfigReader, path: Path): string[] {
  const out: string[] = [];
  r.list(path).forEach((c, i) => {
    const m = typeof c === 'string' ? COMMUNITY_RE.exec(c) : null;
    if (typeof c === 'string' && (COMMUNITY_NAMES.has(c) || (m && Number(m[1]) <= 65535 && Number(m[2]) <= 65535))) {
      out.push(c);
    } else
      r.fail([...path, i], `${preview(c)} is not a community (aa:nn with each part 0..65535, or a well-known name)`);
  });
  return out;
}

export function readLargeCommunities(r: ConfigReader, path: Path): string[] {
  const out: string[] = [];
  r.list(path).forEach((c, i) => {
    const m = typeof c === 'string' ? LARGE_COMMUNITY_RE.exec(c) : null;
    if (m && [m[1], m[2], m[3]].every((p) => Number(p) <= 0xffffffff)) out.push(c as string);
    else r.fail([...path, i], `${preview(c)} is not a large community (a:b:c, each part 0..4294967295)`);
  });
  return out;
}

export function readPrefix(r: ConfigReader, path: Path): string | undefined {
  const s = r.string(path, { required: true });
  if (s === undefined) return undefined;
  const p = parseCidr(s);
  if (!p) return r.fail(path, `${preview(s)} is not a prefix (like 198.18.0.0/15 or 2001:db8::/32)`);
  if (p.hostBitsSet) return r.fail(path, `${s} has host bits set; did you mean ${p.canonical}?`);
  return p.canonical;
}

/** `198.18.0.0/15`, `198.18.0.0/15 le 26`, `198.18.0.0/15 ge 24 le 26`. */
function readPrefixMatch(r: ConfigReader, path: Path): PrefixMatch | undefined {
  const s = r.string(path, { required: true });
  if (s === undefined) return undefined;
  const m = /^(\S+)(?:\s+ge\s+(\d+))?(?:\s+le\s+(\d+))?$/.exec(s.trim());
  const p = m ? parseCidr(m[1]!) : undefined;
  if (!m || !p) return r.fail(path, `${preview(s)} is not a prefix match (like "198.18.0.0/15 le 26")`);
  const max = p.family === 4 ? 32 : 128;
  const ge = m[2] === undefined ? undefined : Number(m[2]);
  const le = m[3] === undefined ? undefined : Number(m[3]);
  if ((ge !== undefined && (ge < p.length || ge > max)) || (le !== undefined && (le < (ge ?? p.length) || le > max))) {
    return r.fail(path, `${s}: need ${p.length} <= ge <= le <= ${max}`);
  }
  return { prefix: p.canonical, ...(ge !== undefined ? { ge } : {}), ...(le !== undefined ? { le } : {}) };
}

function readPolicy(r: ConfigReader, path: Path): Policy | undefined {
  const o = r.object(path, ['name', 'rules', 'default'], true);
  if (!o) return undefined;
  const name = r.string([...path, 'name'], { required: true, pattern: /^[A-Za-z0-9_.-]+$/, what: 'a policy name' });
  const rules: PolicyRule[] = [];
  r.list([...path, 'rules']).forEach((_, i) => {
    const rp = [...path, 'rules', i];
    if (!r.object(rp, ['match', 'set', 'action'], true)) return;
    const mp = [...rp, 'match'];
    const match: PolicyMatch = {};
    if (
      r.object(mp, [
        'prefix',
        'notPrefix',
        'source',
        'community',
        'largeCommunity',
        'asPathContains',
        'originAs',
        'asPathLength',
        'nextHop',
        'peer',
      ])
    ) {
      for (const k of ['prefix', 'notPrefix'] as const) {
        if (r.has([...mp, k])) match[k] = r.list([...mp, k]).flatMap((_, j) => readPrefixMatch(r, [...mp, k, j]) ?? []);
      }
      if (r.has([...mp, 'source'])) match.source = r.oneOf([...mp, 'source'], RouteSources, 'bgp');
      if (r.has([...mp, 'community'])) match.community = readCommunities(r, [...mp, 'community']);
      if (r.has([...mp, 'largeCommunity'])) match.largeCommunity = readLargeCommunities(r, [...mp, 'largeCommunity']);
      for (const k of ['asPathContains', 'originAs'] as const) {
        if (r.has([...mp, k])) match[k] = r.list([...mp, k]).flatMap((_, j) => r.asn([...mp, k, j], true) ?? []);
      }
      if (r.object([...mp, 'asPathLength'], ['min', 'max'])) {
        const min = r.integer([...mp, 'asPathLength', 'min'], { min: 0 });
        const max = r.integer([...mp, 'asPathLength', 'max'], { min: 0 });
        match.asPathLength = { ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) };
      }
      if (r.has([...mp, 'nextHop'])) {
        match.nextHop = r
          .list([...mp, 'nextHop'])
          .flatMap((_, j) => r.address([...mp, 'nextHop', j], { required: true }) ?? []);
      }
      if (r.has([...mp, 'peer'])) {
        match.peer = r.list([...mp, 'peer']).flatMap((_, j) => r.string([...mp, 'peer', j], { required: true }) ?? []);
      }
    }
    const sp = [...rp, 'set'];
    const set: PolicySet = {};
    if (
      r.object(sp, [
        'localPref',
        'med',
        'addCommunities',
        'removeCommunities',
        'addLargeCommunities',
        'prepend',
        'nextHop',
      ])
    ) {
      const lp = r.integer([...sp, 'localPref'], { min: 0, max: 0xffffffff });
      if (lp !== undefined) set.localPref = lp;
      const med = r.integer([...sp, 'med'], { min: 0, max: 0xffffffff });
      if (med !== undefined) set.med = med;
      if (r.has([...sp, 'addCommunities'])) set.addCommunities = readCommunities(r, [...sp, 'addCommunities']);
      if (r.has([...sp, 'removeCommunities'])) set.removeCommunities = readCommunities(r, [...sp, 'removeCommunities']);
      if (r.has([...sp, 'addLargeCommunities'])) {
        set.addLargeCommunities = readLargeCommunities(r, [...sp, 'addLargeCommunities']);
      }
      const prepend = r.integer([...sp, 'prepend'], { min: 1, max: 16 });
      if (prepend !== undefined) set.prepend = prepend;
      const nh = r.string([...sp, 'nextHop']);
      if (nh !== undefined) {
        if (nh === 'self' || nh === 'keep') set.nextHop = nh;
        else {
          const a = r.address([...sp, 'nextHop']);
          if (a) set.nextHop = a;
        }
      }
    }
    const hasSet = Object.keys(set).length > 0;
    const action = r.oneOf([...rp, 'action'], PolicyActions, hasSet ? 'next' : 'accept');
    rules.push({ match, set, action });
  });
  const def = r.oneOf([...path, 'default'], PolicyDefaults, 'reject');
  return name === undefined ? undefined : { name, rules, default: def };
}

/** The `policies` list, by name (a name defined twice is an error). */
export function readPolicies(r: ConfigReader): Map<string, Policy> {
  const policies = new Map<string, Policy>();
  r.list(['policies']).forEach((_, i) => {
    const pol = readPolicy(r, ['policies', i]);
    if (!pol) return;
    if (policies.has(pol.name)) r.fail(['policies', i, 'name'], `policy ${preview(pol.name)} is defined twice`);
    policies.set(pol.name, pol);
  });
  return policies;
}
