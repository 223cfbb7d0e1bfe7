/** The CNI spec versions this plugin speaks (config `cniVersion`), oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;

/** The version used for errors when the config's own version is unknown. */
export const DEFAULT_VERSION = '1.0.0';

/** True when CHECK exists in that version (0.4.0 and later). */
export function supportsCheck(version: string): boolean {
  return version === '0.4.0' || version === '1.0.0';
}
