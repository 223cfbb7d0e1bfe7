import { createHash } from 'node:crypto';
import { FibDefaults } from './constants.js';

/**
 * Host-side interface name of a pod's veth, as Calico names it: the prefix plus the first hex
 * digits of sha1(`<namespace>.<pod>`), 15 characters in all (the kernel's IFNAMSIZ limit).
 */
export function workloadInterfaceName(
  namespace: string,
  pod: string,
  prefix: string = FibDefaults.workloadInterfacePrefix,
): string {
  const hex = createHash('sha1').update(`${namespace}.${pod}`).digest('hex');
  return `${prefix}${hex.slice(0, Math.max(1, 15 - prefix.length))}`;
}
