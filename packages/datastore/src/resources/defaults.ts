import type { BGPConfigurationSpec } from './types.js';

/** Calico's defaults, where a field is unset. */
export const DEFAULTS = {
  asNumber: 64512,
  nodeToNodeMeshEnabled: true,
  listenPort: 179,
  logSeverityScreen: 'Info',
  bindMode: 'None',
  nodeMeshMaxRestartTime: '120s',
  blockSizeV4: 26,
  blockSizeV6: 122,
  poolNodeSelector: 'all()',
  poolAllowedUses: ['Workload', 'Tunnel'],
  poolAssignmentMode: 'Automatic',
  encapMode: 'Never',
  peerSourceAddress: 'UseNodeIP',
  reversePeering: 'Auto',
  peerPort: 179,
} as const;

/** The effective global BGP settings: the `default` BGPConfiguration with Calico's defaults filled in. */
export interface EffectiveBGPConfiguration {
  nodeToNodeMeshEnabled: boolean;
  asNumber: number;
  listenPort: number;
  logSeverityScreen: string;
  bindMode: 'None' | 'NodeIP';
  nodeMeshMaxRestartTime: string;
  /** `nodeMeshMaxRestartTime` in whole seconds; 0 turns graceful restart off for the mesh. */
  nodeMeshRestartSeconds: number;
}

/** Fills Calico's defaults into a BGPConfiguration spec (or none at all). */
export function effectiveBGPConfiguration(spec: BGPConfigurationSpec | undefined): EffectiveBGPConfiguration {
  return {
    nodeToNodeMeshEnabled: spec?.nodeToNodeMeshEnabled ?? DEFAULTS.nodeToNodeMeshEnabled,
    asNumber: spec?.asNumber === undefined ? DEFAULTS.asNumber : parseAsNumber(spec.asNumber),
    listenPort: spec?.listenPort ?? DEFAULTS.listenPort,
    logSeverityScreen: spec?.logSeverityScreen ?? DEFAULTS.logSeverityScreen,
    bindMode: spec?.bindMode ?? DEFAULTS.bindMode,
    nodeMeshMaxRestartTime: spec?.nodeMeshMaxRestartTime ?? DEFAULTS.nodeMeshMaxRestartTime,
    nodeMeshRestartSeconds: durationSeconds(spec?.nodeMeshMaxRestartTime ?? DEFAULTS.nodeMeshMaxRestartTime),
  };
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/**
 * A Go duration (`120s`, `2m`, `1m30s`, `1.5h`) in whole seconds, rounded down; NaN when it is
 * not one. Calico's restart times are Go durations; the speaker works in seconds.
 */
export function durationSeconds(v: string): number {
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return Number.NaN;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  }
  return Math.floor(total + 1e-9);
}

/** Parses an AS number: a plain integer, or asdot (`1.10` = 65546). NaN when invalid. */
export function parseAsNumber(v: number | string): number {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 0xffffffff ? v : Number.NaN;
  if (/^\d+$/.test(v)) return parseAsNumber(Number(v));
  const m = /^(\d+)\.(\d+)$/.exec(v);
  if (!m) return Number.NaN;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  return hi <= 0xffff && lo <= 0xffff ? hi * 65536 + lo : Number.NaN;
}
