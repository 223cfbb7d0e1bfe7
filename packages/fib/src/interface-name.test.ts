import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { workloadInterfaceName } from './interface-name.js';

describe('workloadInterfaceName', () => {
  it('is cali + 11 hex of sha1(namespace.pod)', () => {
    // sha1("default.nginx") computed independently of the function under test.
    const hex = createHash('sha1').update('default.nginx').digest('hex');
    expect(workloadInterfaceName('default', 'nginx')).toBe(`cali${hex.slice(0, 11)}`);
  });

  it('always fits IFNAMSIZ and keeps the prefix', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.constantFrom('cali', 'tby', 'tabby'), (ns, pod, prefix) => {
        const n = workloadInterfaceName(ns, pod, prefix);
        return n.length === 15 && n.startsWith(prefix) && /^[0-9a-f]+$/.test(n.slice(prefix.length));
      }),
    );
  });
});
