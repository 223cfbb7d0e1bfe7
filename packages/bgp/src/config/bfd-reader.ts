import { preview } from '@tabby/yaml';
import type { ConfigReader, Path } from './reader.js';
import type { BfdSettings } from './types.js';

/** What a `bfd:` entry says (a peer's, or a list's defaults); left-out fields take the defaults. */
export type BfdInput = Partial<BfdSettings> & { enabled?: boolean };

export const BFD_KEYS = ['enabled', 'minRx', 'minTx', 'multiplier', 'multihop', 'passive'] as const;

/** The defaults of `@tabby/bfd` (and of BIRD's and FRR's BFD): 300 ms, 300 ms, 3. */
export const BFD_DEFAULTS = { minRx: 300, minTx: 300, multiplier: 3 } as const;

export const BFD_INTERVAL_MS = { min: 10, max: 60_000 } as const;

const INTERVAL_HELP = `an interval from ${BFD_INTERVAL_MS.min} to ${BFD_INTERVAL_MS.max} ms (a number of ms, or 100ms, 0.3s)`;

/** An interval in ms from a number (ms) or a string with a unit (`100ms`, `0.3s`); undefined when invalid. */
export function intervalMs(v: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(v.trim());
    if (m) ms = Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1) * 1000) / 1000;
  }
  if (ms === undefined || !Number.isInteger(ms) || ms < BFD_INTERVAL_MS.min || ms > BFD_INTERVAL_MS.max)
    return undefined;
  return ms;
}

function readInterval(r: ConfigReader, path: Path): number | undefined {
  if (!r.has(path)) return undefined;
  const v = r.get(path);
  const ms = intervalMs(v);
  return ms === undefined ? r.fail(path, `${preview(v)} is not ${INTERVAL_HELP}`) : ms;
}

/**
 * A `bfd:` entry: `true`/`false`, or a mapping `{ enabled, minRx, minTx, multiplier, multihop,
 * passive }` (a mapping without `enabled` enables BFD). Problems are recorded in `r`.
 */
export function readBfd(r: ConfigReader, path: Path): BfdInput | undefined {
  if (!r.has(path)) return undefined;
  const v = r.get(path);
  if (typeof v === 'boolean') return { enabled: v };
  if (!r.object(path, BFD_KEYS)) return undefined;
  const at = (k: string): Path => [...path, k];
  const out: BfdInput = {};
  if (r.has(at('enabled'))) out.enabled = r.boolean(at('enabled'), true);
  const minRx = readInterval(r, at('minRx'));
  const minTx = readInterval(r, at('minTx'));
  const multiplier = r.integer(at('multiplier'), { min: 1, max: 255 });
  if (minRx !== undefined) out.minRx = minRx;
  if (minTx !== undefined) out.minTx = minTx;
  if (multiplier !== undefined) out.multiplier = multiplier;
  if (r.has(at('multihop'))) out.multihop = r.boolean(at('multihop'), false);
  if (r.has(at('passive'))) out.passive = r.boolean(at('passive'), false);
  return out;
}

/**
 * A peer's BFD settings from its own entry over the list's defaults; undefined when BFD is off
 * (neither says anything, or `enabled: false` wins). `bgpMultihop` is the BGP peer's `multihop`.
 */
export function completeBfd(
  own: BfdInput | undefined,
  defaults: BfdInput | undefined,
  bgpMultihop: number,
): BfdSettings | undefined {
  if (!own && !defaults) return undefined;
  const b = { ...defaults, ...own };
  if (b.enabled === false) return undefined;
  return {
    minRx: b.minRx ?? BFD_DEFAULTS.minRx,
    minTx: b.minTx ?? BFD_DEFAULTS.minTx,
    multiplier: b.multiplier ?? BFD_DEFAULTS.multiplier,
    multihop: b.multihop ?? bgpMultihop > 1,
    passive: b.passive ?? false,
  };
}

/**
 * Parses the one-line form used in annotations (`tabby.dev/bfd`): `true`, `false`, or
 * comma-separated `key=value` pairs of `enabled`, `minRx`, `minTx`, `multiplier`, `multihop`,
 * `passive` (`minRx=100ms,minTx=100ms,multiplier=3`). Throws an Error naming the bad pair.
 */
export function parseBfdSpec(text: string): BfdInput {
  const t = text.trim();
  if (t === 'true' || t === '') return { enabled: true };
  if (t === 'false') return { enabled: false };
  const out: BfdInput = {};
  const bool = (k: string, v: string): boolean => {
    if (v === 'true') return true;
    if (v === 'false') return false;
    throw new Error(`${k}=${preview(v)}: expected true or false`);
  };
  for (const pair of t.split(',')) {
    const eq = pair.indexOf('=');
    const k = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const v = eq < 0 ? '' : pair.slice(eq + 1).trim();
    switch (k) {
      case 'minRx':
      case 'minTx': {
        const ms = intervalMs(v);
        if (ms === undefined) throw new Error(`${k}=${preview(v)} is not ${INTERVAL_HELP}`);
        out[k] = ms;
        break;
      }
      case 'multiplier': {
        const n = Number(v);
        if (!/^\d+$/.test(v) || n < 1 || n > 255) throw new Error(`multiplier=${preview(v)}: expected 1 to 255`);
        out.multiplier = n;
        break;
      }
      case 'enabled':
      case 'multihop':
      case 'passive':
        out[k] = bool(k, v);
        break;
      default:
        throw new Error(`unknown key ${preview(k)}; expected ${BFD_KEYS.join(', ')}`);
    }
  }
  return out;
}
