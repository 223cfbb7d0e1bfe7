import { canUseNetns, NetLab, type Netns } from '@tabby/test-helpers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIpv4, kernelPrefix } from './cidr.js';
import { RouteType, SCOPE_NUMBER, Scope } from './constants.js';
import { KernelDriver } from './kernel-driver.js';
import { routeArgs, sortHops } from './kernel-route.js';
import { parseRouteText, RouteTextParser, SCOPE_BY_TOKEN, TYPE_BY_TOKEN } from './route-text.js';
import type { KernelRoute, NextHop } from './types.js';

const RTN: Record<RouteType, number> = { unicast: 1, blackhole: 6, unreachable: 7, prohibit: 8 };

/** A route as `ip -N route show` prints it (iproute2's attribute order). */
function showLines(r: KernelRoute): string {
  let s = r.type === RouteType.Unicast ? '' : `${RTN[r.type]} `;
  s += `${r.dst === '0.0.0.0/0' || r.dst === '::/0' ? 'default' : kernelPrefix(r.dst)} `;
  if (r.via) s += `via ${r.via} `;
  if (r.dev) s += `dev ${r.dev} `;
  if (r.protocol !== 3) s += `proto ${r.protocol} `;
  if (r.scope !== Scope.Global) s += `scope ${SCOPE_NUMBER[r.scope]} `;
  if (r.src) s += `src ${r.src} `;
  if (r.metric !== undefined) s += `metric ${r.metric} `;
  if (r.onlink) s += 'onlink ';
  if (r.dst.includes(':')) s += 'pref medium';
  for (const h of r.nextHops ?? []) {
    s += `\n\tnexthop ${h.via ? `via ${h.via} ` : ''}dev ${h.dev} weight ${h.weight ?? 1} ${h.onlink ? 'onlink ' : ''}`;
  }
  return `${s}\n`;
}

const v4Addr = fc.integer({ min: 0, max: 0xffffffff }).map((n) => formatIpv4(n >>> 0));
const v6Addr = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((groups) => groups.map((g) => g.toString(16)).join(':'));
const v4Prefix = fc
  .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
  .map(([a, len]) => `${formatIpv4(len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0)}/${len}`);
const devName = fc.stringMatching(/^[a-z0-9_.@-]{1,15}$/);
const hop = (addr: fc.Arbitrary<string>): fc.Arbitrary<NextHop> =>
  fc.record(
    { dev: devName, via: addr, onlink: fc.constant(true), weight: fc.integer({ min: 2, max: 256 }) },
    { requiredKeys: ['dev'] },
  );

/** Routes in the canonical form the parser produces (sorted next hops, only the fields it reads). */
const kernelRoute: fc.Arbitrary<KernelRoute> = fc
  .tuple(
    fc.boolean(),
    fc.constantFrom<RouteType>('unicast', 'unicast', 'unicast', 'blackhole', 'unreachable', 'prohibit'),
    fc.integer({ min: 0, max: 255 }),
    fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: undefined }),
    fc.boolean(),
  )
  .chain(([v6, type, protocol, metric, multipath]) => {
    const addr = v6 ? v6Addr : v4Addr;
    const dst = v6 ? v6Addr.map((a) => `${a}/128`) : v4Prefix;
    const base = { dst, type: fc.constant(type), protocol: fc.constant(protocol) };
    const withMetric = (r: KernelRoute): KernelRoute => (metric === undefined ? r : { ...r, metric });
    if (type !== RouteType.Unicast) return fc.record({ ...base, scope: fc.constant(Scope.Global) }).map(withMetric);
    if (multipath)
      return fc
        .record(
          {
            ...base,
            scope: fc.constant(Scope.Global),
            src: addr,
            nextHops: fc.array(hop(addr), { minLength: 2, maxLength: 4 }).map(sortHops),
          },
          { requiredKeys: ['dst', 'type', 'protocol', 'scope', 'nextHops'] },
        )
        .map(withMetric);
    return fc
      .record(
        {
          ...base,
          scope: fc.constantFrom<Scope>(Scope.Global, Scope.Link, Scope.Host),
          dev: devName,
          via: addr,
          onlink: fc.constant(true),
          src: addr,
        },
        { requiredKeys: ['dst', 'type', 'protocol', 'scope'] },
      )
      .map(withMetric);
  });

describe('ip route show text parser', () => {
  it('parses what iproute2 prints', () => {
    const text = [
      'default via 198.18.0.254 dev eth0 proto 4 onlink ',
      '198.18.0.0/24 dev eth0 proto 2 scope 253 src 198.18.0.1 ',
      '198.18.1.7 via 198.18.0.2 dev eth0 proto 80 onlink ',
      '6 198.19.0.0/26 proto 80 ',
      '7 198.19.0.64/26 proto 80 metric 20 ',
      '2 198.18.0.1 dev eth0 table 255 proto 2 scope 254 src 198.18.0.1 ',
      '198.19.6.0/24 proto 186 metric 20 ',
      '\tnexthop via 198.18.0.3 dev eth0 weight 1 onlink ',
      '\tnexthop via 198.18.0.2 dev eth0 weight 7 onlink ',
      '198.19.7.0/24 via inet6 fe80::1 dev eth0 proto 186 ',
      '198.19.8.0/24 dev eth0 proto static scope link mtu lock 1400 advmss 1360 ',
      '198.19.9.0/24 encap ip id 5 src 1.1.1.1 dst 2.2.2.2 ttl 64 tos 0 via 198.18.0.2 dev eth0 proto 4 ',
    ].join('\n');
    expect(parseRouteText(text, false)).toEqual([
      {
        dst: '0.0.0.0/0',
        type: 'unicast',
        protocol: 4,
        scope: 'global',
        dev: 'eth0',
        via: '198.18.0.254',
        onlink: true,
      },
      { dst: '198.18.0.0/24', type: 'unicast', protocol: 2, scope: 'link', dev: 'eth0', src: '198.18.0.1' },
      {
        dst: '198.18.1.7/32',
        type: 'unicast',
        protocol: 80,
        scope: 'global',
        dev: 'eth0',
        via: '198.18.0.2',
        onlink: true,
      },
      { dst: '198.19.0.0/26', type: 'blackhole', protocol: 80, scope: 'global' },
      { dst: '198.19.0.64/26', type: 'unreachable', protocol: 80, scope: 'global', metric: 20 },
      {
        dst: '198.19.6.0/24',
        type: 'unicast',
        protocol: 186,
        scope: 'global',
        metric: 20,
        nextHops: [
          { via: '198.18.0.2', dev: 'eth0', onlink: true, weight: 7 },
          { via: '198.18.0.3', dev: 'eth0', onlink: true },
        ],
      },
      { dst: '198.19.7.0/24', type: 'unicast', protocol: 186, scope: 'global', dev: 'eth0', via: 'fe80::1' },
      { dst: '198.19.8.0/24', type: 'unicast', protocol: 4, scope: 'link', dev: 'eth0' },
      { dst: '198.19.9.0/24', type: 'unicast', protocol: 4, scope: 'global', dev: 'eth0', via: '198.18.0.2' },
    ]);
    expect(
      parseRouteText(
        'unreachable default dev lo metric 1024 error -113 pref medium\n2001:db8::5 dev cali1 proto 80 metric 1024 pref medium\nlocal ::1 dev lo proto kernel metric 0 pref medium\n',
        true,
      ),
    ).toEqual([
      { dst: '::/0', type: 'unreachable', protocol: 3, scope: 'global', metric: 1024 },
      { dst: '2001:db8::5/128', type: 'unicast', protocol: 80, scope: 'global', dev: 'cali1', metric: 1024 },
    ]);
  });

  it('round-trips every route it can be given (format, then parse)', () => {
    fc.assert(
      fc.property(fc.array(kernelRoute, { maxLength: 20 }), (routes) => {
        for (const v6 of [false, true]) {
          const family = routes.filter((r) => r.dst.includes(':') === v6);
          expect(parseRouteText(family.map(showLines).join(''), v6)).toEqual(family);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same routes however the output is split into pieces', () => {
    fc.assert(
      fc.property(
        fc.array(kernelRoute, { minLength: 1, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (routes, cuts) => {
          const text = routes.map(showLines).join('');
          const at = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          const p = new RouteTextParser(false);
          let from = 0;
          for (const c of [...at, text.length]) {
            p.push(text.slice(from, c));
            from = c;
          }
          expect(p.end()).toEqual(parseRouteText(text, false));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe.skipIf(!canUseNetns())('ip route show text parser against the kernel', () => {
  const lab = new NetLab();
  let ns: Netns;

  beforeAll(async () => {
    ns = await lab.netns('fibtxt');
    for (const [a, b] of [
      ['eth0', 'eth0p'],
      ['cali0000000000a', 'pa0'],
    ] as const) {
      await ns.ip(['link', 'add', a, 'type', 'veth', 'peer', 'name', b]);
      await ns.ip(['link', 'set', a, 'up']);
      await ns.ip(['link', 'set', b, 'up']);
    }
    await ns.ip(['addr', 'add', '198.18.0.1/24', 'dev', 'eth0']);
    await ns.ip(['addr', 'add', '2001:db8::1/64', 'dev', 'eth0', 'nodad']);
  });
  afterAll(() => lab.destroy());

  const show = async (v6: boolean, json: boolean): Promise<string> =>
    (await ns.ip([v6 ? '-6' : '-4', '-N', ...(json ? ['-json'] : []), 'route', 'show', 'table', '254'])).stdout;

  it('reads the same routes as the ip -json read-back did', async () => {
    const routes = [
      'default via 198.18.0.254 dev eth0 proto 4',
      '198.19.0.5 dev cali0000000000a proto 80 scope link',
      '198.19.1.0/26 via 198.18.0.2 dev eth0 onlink proto 80',
      'blackhole 198.19.2.0/26 proto 80',
      'unreachable 198.19.3.0/26 proto 80 metric 20',
      'prohibit 198.19.4.0/26',
      '198.19.5.0/24 dev eth0 src 198.18.0.1 metric 100 proto 186',
      '198.19.6.0/24 proto 186 nexthop via 198.18.0.3 dev eth0 weight 3 onlink nexthop via 198.18.0.2 dev eth0 onlink',
      '198.19.8.0/24 via 198.18.0.9 dev eth0 proto static mtu lock 1400',
      '2001:db8:5::/64 via 2001:db8::2 dev eth0 proto 80',
      '2001:db8:6::7 dev cali0000000000a proto 80',
      'blackhole 2001:db8:7::/64 proto 80',
      '2001:db8:8::/64 proto 186 nexthop via 2001:db8::2 dev eth0 nexthop via 2001:db8::3 dev eth0',
    ];
    for (const r of routes) await ns.ip(['route', 'replace', ...r.split(' ')]);
    for (const v6 of [false, true]) {
      const fromJson = (JSON.parse(await show(v6, true)) as IpJsonRoute[]).flatMap((j) => fromIpJson(j, v6) ?? []);
      const fromText = parseRouteText(await show(v6, false), v6);
      expect(fromText).toEqual(fromJson);
      expect(fromText.length).toBeGreaterThanOrEqual(v6 ? 5 : 9);
    }
    const back = (await new KernelDriver({ netns: ns.name }).read()).routes;
    expect(back.find((r) => r.dst === '198.19.6.0/24')?.nextHops).toEqual([
      { via: '198.18.0.2', dev: 'eth0', onlink: true },
      { via: '198.18.0.3', dev: 'eth0', onlink: true, weight: 3 },
    ]);
    expect(back.find((r) => r.dst === '2001:db8:6::7/128')).toMatchObject({ dev: 'cali0000000000a', protocol: 80 });
    const driver = new KernelDriver({ netns: ns.name });
    const left = (await driver.read()).routes.filter((r) => r.protocol !== 2);
    expect(await driver.apply(left.map((route) => ({ op: 'delete' as const, route })))).toEqual([]);
  });

  it('reads back exactly what the driver wrote (random routes)', async () => {
    const driver = new KernelDriver({ netns: ns.name });
    const inRange = (r: KernelRoute): boolean => r.dst.startsWith('198.19.9.') || r.dst.startsWith('2001:db8:9:');
    const gw4 = fc.constantFrom('198.18.0.2', '198.18.0.3', '198.18.0.4');
    const gw6 = fc.constantFrom('2001:db8::2', '2001:db8::3');
    const dev = fc.constantFrom('eth0', 'cali0000000000a');
    const written = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 }), fc.boolean()).chain(([v6, kind, onlink]) => {
      const gw = v6 ? gw6 : gw4;
      const protocol = fc.constantFrom(80, 186);
      const hops = fc
        .uniqueArray(fc.record({ via: gw, dev: fc.constant('eth0'), weight: fc.integer({ min: 1, max: 5 }) }), {
          minLength: 2,
          maxLength: 3,
          selector: (h) => h.via,
        })
        .map((hs) =>
          sortHops(
            hs.map((h) => {
              const n: NextHop = { via: h.via, dev: h.dev };
              if (h.weight > 1) n.weight = h.weight;
              if (onlink && !v6) n.onlink = true;
              return n;
            }),
          ),
        );
      return fc.record({ protocol, hops, via: gw, dev }).map(({ protocol, hops, via, dev: d }): KernelRoute => {
        // The family is told by the prefix, which the property sets from this placeholder.
        const r: KernelRoute = { dst: v6 ? '::' : '', type: 'unicast', protocol, scope: Scope.Global };
        if (kind === 0) return { ...r, type: 'blackhole' };
        if (kind === 1) return { ...r, nextHops: hops };
        if (kind === 2) return { ...r, dev: d, ...(v6 ? {} : { scope: Scope.Link }) };
        return { ...r, dev: 'eth0', via, ...(onlink && !v6 ? { onlink: true } : {}) };
      });
    });
    await fc.assert(
      fc.asyncProperty(fc.array(written, { minLength: 1, maxLength: 25 }), async (rs) => {
        // A failed run (while shrinking) may have left its routes behind.
        const stale = (await driver.read()).routes.filter(inRange);
        await driver.apply(stale.map((route) => ({ op: 'delete' as const, route })));
        const routes = rs.map((r, i) => ({
          ...r,
          dst: r.dst === '::' ? `2001:db8:9:${i + 1}::/64` : `198.19.9.${i}/32`,
        }));
        expect(await driver.apply(routes.map((route) => ({ op: 'replace' as const, route })))).toEqual([]);
        const back = (await driver.read()).routes.filter(inRange);
        const norm = (r: KernelRoute): KernelRoute => (r.dst.includes(':') ? { ...r, metric: 1024 } : r);
        const key = (r: KernelRoute): string => r.dst;
        expect(back.sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
          routes.map(norm).sort((a, b) => key(a).localeCompare(key(b))),
        );
        expect(await driver.apply(back.map((route) => ({ op: 'delete' as const, route })))).toEqual([]);
        return true;
      }),
      { numRuns: 15 },
    );
    // routeArgs writes what the parser reads: nothing left behind.
    expect((await driver.read()).routes.filter(inRange)).toEqual([]);
    expect(routeArgs({ dst: '198.19.9.0/32', type: 'unicast', protocol: 80, scope: 'global', dev: 'eth0' }, 254)).toBe(
      '198.19.9.0 dev eth0 proto 80',
    );
  });
});

/** One element of `ip -N -json route show` output. */
interface IpJsonRoute {
  type?: string;
  dst: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  flags?: string[];
  nexthops?: { gateway?: string; dev: string; weight?: number; flags?: string[] }[];
}

/**
 * The oracle the text parser is checked against: one route of `ip -N -json route show`, as the
 * table read it back before the text parser. Returns undefined for route types the table never
 * manages (local, broadcast, multicast, ...).
 */
function fromIpJson(j: IpJsonRoute, v6: boolean): KernelRoute | undefined {
  // The token tables are the parser's own (iproute2's numbering), shared so the oracle checks the parsing.
  const type = TYPE_BY_TOKEN.get(j.type ?? '1');
  if (!type) return undefined;
  let dst = j.dst === 'default' ? (v6 ? '::/0' : '0.0.0.0/0') : j.dst;
  if (!dst.includes('/')) dst = v6 ? `${dst}/128` : `${dst}/32`;
  const protocol = Number(j.protocol ?? 3); // iproute2 omits `proto boot`
  const r: KernelRoute = { dst, type, protocol: Number.isFinite(protocol) ? protocol : -1, scope: Scope.Global };
  if (j.metric !== undefined) r.metric = j.metric;
  if (type !== RouteType.Unicast) return r;
  r.scope = SCOPE_BY_TOKEN.get(j.scope ?? '0') ?? Scope.Global;
  if (j.prefsrc) r.src = j.prefsrc;
  if (j.nexthops && j.nexthops.length > 0) {
    r.nextHops = sortHops(
      j.nexthops.map((h) => {
        const hop: NextHop = { dev: h.dev };
        if (h.gateway) hop.via = h.gateway;
        if (h.flags?.includes('onlink')) hop.onlink = true;
        if (h.weight !== undefined && h.weight !== 1) hop.weight = h.weight;
        return hop;
      }),
    );
    return r;
  }
  if (j.dev) r.dev = j.dev;
  if (j.gateway) r.via = j.gateway;
  if (j.flags?.includes('onlink')) r.onlink = true;
  return r;
}
