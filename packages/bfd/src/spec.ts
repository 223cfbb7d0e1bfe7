import { INTERVAL_RANGE_MS } from './config.js';

/**
 * BFD settings as a BGP peer's config names them (ms, like the bgpd YAML's `bfd:` fields). Fields
 * left out take the reader's defaults.
 */
export interface BfdSpec {
  enabled?: boolean;
  minRx?: number;
  minTx?: number;
  multiplier?: number;
  multihop?: boolean;
  passive?: boolean;
}

export const BFD_SPEC_KEYS = ['enabled', 'minRx', 'minTx', 'multiplier', 'multihop', 'passive'] as const;

export const INTERVAL_HELP = `an interval from ${INTERVAL_RANGE_MS.min} to ${INTERVAL_RANGE_MS.max} ms (a number of ms, or 100ms, 0.3s)`;

/** An interval in ms from a number (ms) or a string with an optional unit (`100`, `100ms`, `0.3s`); undefined when invalid. */
export function intervalMs(v: unknown): number | undefined {
  let ms: number | undefined;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(v.trim());
    if (m) ms = Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1) * 1000) / 1000;
  }
  if (ms === undefined || !Number.isInteger(ms) || ms < INTERVAL_RANGE_MS.min || ms > INTERVAL_RANGE_MS.max)
    return undefined;
  return ms;
}

function preview(v: string): string {
  return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v);
}

/**
 * The one-line form of the Tabby extension annotation `tabby.dev/bfd` (on a Calico BGPPeer,
 * BGPConfiguration or Node): `true`, `false`, or comma-separated `key=value` pairs of `enabled`,
 * `minRx`, `minTx`, `multiplier`, `multihop`, `passive` (`minRx=100ms,minTx=100ms,multiplier=3`;
 * a list of pairs without `enabled` enables BFD). Throws an Error naming the bad pair.
 */
export function parseBfdSpec(text: string): BfdSpec {
  const t = text.trim();
  if (t === 'true' || t === '') return { enabled: true };
  if (t === 'false') return { enabled: false };
  const out: BfdSpec = {};
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
        throw new Error(`unknown key ${preview(k)}; expected ${BFD_SPEC_KEYS.join(', ')}`);
    }
  }
  return out;
}
