import { describe, expect, it } from 'vitest';
import { config, rib as newRib } from '../stage-fixtures.js';
import { LocalRoutes } from './local-routes.js';
import { prefixKeyText } from './prefix-key.js';

describe('local routes', () => {
  it('puts originated prefixes in the RIB under the local source, with their communities, and withdraws them', () => {
    const c = config('');
    const { rib, attrs } = newRib(c);
    const local = new LocalRoutes(rib, attrs, c, () => 7);
    local.add({ prefix: '198.19.0.0/26', blackhole: true, communities: ['64512:2', '64512:1'], largeCommunities: [] });
    local.add({ prefix: '2001:db8:1::/64', blackhole: false, communities: [], largeCommunities: ['1:2:3'] });
    rib.process(10, () => {});
    const views = [...rib.values()];
    expect(views.map((d) => prefixKeyText(d.key))).toEqual(['198.19.0.0/26', '2001:db8:1::/64']);
    expect(views[0]!.best!.source).toBe(local.source);
    expect(views[0]!.best!.attrs.attrs.communities).toEqual([64512 * 65536 + 1, 64512 * 65536 + 2]);
    expect(views[1]!.best!.attrs.attrs.largeCommunities).toEqual([[1, 2, 3]]);
    expect(views[0]!.best!.since).toBe(7);
    expect(local.blackhole(views[0]!.key)).toBe(true);
    expect(local.blackhole(views[1]!.key)).toBe(false);
    expect(local.withdraw('198.19.0.0/26')).toBe(true);
    expect(local.withdraw('198.19.0.0/26')).toBe(false);
    rib.process(10, () => {});
    expect(local.list().map((o) => o.prefix)).toEqual(['2001:db8:1::/64']);
    expect(rib.size).toBe(1);
    expect(() =>
      local.add({ prefix: '198.19.0.1/24', blackhole: false, communities: [], largeCommunities: [] }),
    ).toThrow(/not a canonical prefix/);
  });
});
