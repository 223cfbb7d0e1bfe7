import { BFD_SPEC_KEYS, type BfdSpec, DEFAULTS, INTERVAL_HELP, intervalMs } from '@tabby/bfd';
import { preview } from '@tabby/yaml';
import type { ConfigReader, Path } from './reader.js';
import type { BfdOptions, BfdSettings } from './types.js';

/** What a `bfd:` entry says (a peer's, or a list's defaults); left-out fields take the defaults. */
export type BfdInput = BfdSpec;

/** The defaults of `@tabby/bfd` (and of BIRD's and FRR's BFD): 300 ms, 300 ms, 3. */
const BFD_DEFAULTS = {
  minRx: DEFAULTS.minRxMs,
  minTx: DEFAULTS.minTxMs,
  multiplier: DEFAULTS.multiplier,
} as const;

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
  if (!r.object(path, BFD_SPEC_KEYS)) return undefined;
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
    ...(b.multihop !== undefined || bgpMultihop > 1 ? { multihop: b.multihop ?? true } : {}),
    passive: b.passive ?? false,
  };
}

/** The speaker-wide `bfd:` (`gtsm`, `sourceCheck`); undefined when absent. */
export function readBfdOptions(r: ConfigReader, path: Path): BfdOptions | undefined {
  if (!r.object(path, ['gtsm', 'sourceCheck'])) return undefined;
  return {
    gtsm: r.oneOf([...path, 'gtsm'], ['off', 'nftables'] as const, 'off'),
    sourceCheck: r.oneOf([...path, 'sourceCheck'], ['connected-subnet', 'off'] as const, 'connected-subnet'),
  };
}
