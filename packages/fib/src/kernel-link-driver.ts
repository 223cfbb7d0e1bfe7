import { run } from './ip-command.js';
import type { LinkApplyResult, LinkDriver, LinkState, VxlanDeviceSpec } from './link-driver.js';
import { type Logger, silentLogger } from './logger.js';

export interface KernelLinkDriverOptions {
  netns?: string;
  logger?: Logger;
}

interface IpLinkJson {
  ifname: string;
  mtu?: number;
  address?: string;
  flags?: string[];
  linkinfo?: { info_kind?: string; info_data?: { id?: number; port?: number; local?: string; link?: string } };
}

/**
 * Applies link state through iproute2 and sysctl: the VXLAN device (`ip link add ... type vxlan`),
 * its neighbour (`ip neigh`) and FDB (`bridge fdb`) entries, and workload interface settings.
 * Reads back first and changes only what differs; removes only neighbour and FDB entries on its
 * own VXLAN device.
 */
export class KernelLinkDriver implements LinkDriver {
  private readonly netns: string | undefined;
  private readonly log: Logger;
  private readonly configured = new Set<string>();

  constructor(opts: KernelLinkDriverOptions = {}) {
    this.netns = opts.netns;
    this.log = opts.logger ?? silentLogger;
  }

  private ip(args: string[], opts: { input?: string; allowFailure?: boolean } = {}) {
    return run(this.netns ? ['ip', '-n', this.netns, ...args] : ['ip', ...args], opts);
  }

  private bridge(args: string[], opts: { input?: string; allowFailure?: boolean } = {}) {
    return run(this.netns ? ['bridge', '-n', this.netns, ...args] : ['bridge', ...args], opts);
  }

  async apply(state: LinkState): Promise<LinkApplyResult> {
    const links = JSON.parse((await this.ip(['-d', '-json', 'link', 'show'])).stdout || '[]') as IpLinkJson[];
    const byName = new Map(links.map((l) => [l.ifname, l]));
    await this.applyVxlan(state, byName);
    if (state.vxlan) await this.applyPeers(state);
    await this.applyWorkloads(state, byName);
    return { pending: state.workloadInterfaces.filter((i) => !this.configured.has(i)).length };
  }

  private async applyVxlan(state: LinkState, byName: Map<string, IpLinkJson>): Promise<void> {
    const have = byName.get(state.vxlanName);
    const want = state.vxlan;
    if (!want) {
      if (have) {
        this.log.info({ dev: state.vxlanName }, 'removing VXLAN device no pool needs');
        await this.ip(['link', 'del', state.vxlanName]);
      }
      return;
    }
    const uplink = byName.get(want.uplink);
    const mtu = want.mtu ?? (uplink?.mtu ?? 1500) - want.overhead;
    const d = have?.linkinfo?.info_data;
    const matches =
      have?.linkinfo?.info_kind === 'vxlan' && d?.id === want.vni && d?.port === want.port && d?.local === want.localIp;
    const cmds: string[] = [];
    if (have && !matches) {
      this.log.info({ dev: want.name }, 'VXLAN device has other parameters; recreating it');
      cmds.push(`link del ${want.name}`);
    }
    if (!have || !matches)
      cmds.push(
        `link add ${want.name} type vxlan id ${want.vni} dstport ${want.port} local ${want.localIp} dev ${want.uplink} nolearning`,
      );
    const fresh = !have || !matches;
    if (fresh || have?.mtu !== mtu) cmds.push(`link set ${want.name} mtu ${mtu}`);
    if (want.mac && (fresh || have?.address !== want.mac.toLowerCase()))
      cmds.push(`link set ${want.name} address ${want.mac}`);
    if (fresh || !have?.flags?.includes('UP')) cmds.push(`link set ${want.name} up`);
    if (!fresh) {
      const addrs = JSON.parse((await this.ip(['-json', 'addr', 'show', 'dev', want.name])).stdout || '[]') as {
        addr_info?: { local?: string; prefixlen?: number }[];
      }[];
      const has = addrs[0]?.addr_info?.some((a) => a.local === want.vtepIp && a.prefixlen === 32);
      if (!has) cmds.push(`addr replace ${want.vtepIp}/32 dev ${want.name}`);
    } else cmds.push(`addr replace ${want.vtepIp}/32 dev ${want.name}`);
    if (cmds.length) await this.ip(['-batch', '-'], { input: `${cmds.join('\n')}\n` });
  }

  private async applyPeers(state: LinkState): Promise<void> {
    const dev = (state.vxlan as VxlanDeviceSpec).name;
    const neigh = JSON.parse((await this.ip(['-json', 'neigh', 'show', 'dev', dev])).stdout || '[]') as {
      dst: string;
      lladdr?: string;
      state?: string[];
    }[];
    const want = new Map(state.vxlanPeers.map((p) => [p.vtepIp, p]));
    const ncmds: string[] = [];
    for (const n of neigh) {
      const p = want.get(n.dst);
      if (p && n.lladdr === p.mac && n.state?.includes('PERMANENT')) want.delete(n.dst);
      else if (!p) ncmds.push(`neigh del ${n.dst} dev ${dev}`);
    }
    for (const p of want.values()) ncmds.push(`neigh replace ${p.vtepIp} lladdr ${p.mac} dev ${dev} nud permanent`);
    if (ncmds.length) await this.ip(['-force', '-batch', '-'], { input: `${ncmds.join('\n')}\n`, allowFailure: true });

    const fdb = JSON.parse((await this.bridge(['-json', 'fdb', 'show', 'dev', dev])).stdout || '[]') as {
      mac: string;
      dst?: string;
    }[];
    const wantFdb = new Map(state.vxlanPeers.map((p) => [p.mac, p.nodeIp]));
    const fcmds: string[] = [];
    for (const f of fdb) {
      if (!f.dst) continue;
      if (wantFdb.get(f.mac) === f.dst) wantFdb.delete(f.mac);
      else fcmds.push(`fdb del ${f.mac} dev ${dev} dst ${f.dst} self`);
    }
    for (const [mac, ip] of wantFdb) fcmds.push(`fdb replace ${mac} dev ${dev} dst ${ip} self permanent`);
    if (fcmds.length)
      await this.bridge(['-force', '-batch', '-'], { input: `${fcmds.join('\n')}\n`, allowFailure: true });
  }

  private async applyWorkloads(state: LinkState, byName: Map<string, IpLinkJson>): Promise<void> {
    const wanted = new Set(state.workloadInterfaces);
    for (const c of this.configured) if (!wanted.has(c) || !byName.has(c)) this.configured.delete(c);
    const todo = state.workloadInterfaces.filter((i) => byName.has(i) && !this.configured.has(i));
    if (!todo.length) return;
    const sysctls: string[] = [];
    const cmds: string[] = [];
    for (const i of todo) {
      sysctls.push(
        `net.ipv4.conf.${i}.proxy_arp=1`,
        `net.ipv4.neigh.${i}.proxy_delay=0`,
        `net.ipv4.conf.${i}.forwarding=1`,
        `net.ipv6.conf.${i}.proxy_ndp=1`,
        `net.ipv6.conf.${i}.forwarding=1`,
      );
      if (byName.get(i)?.address !== state.workloadMac) cmds.push(`link set ${i} address ${state.workloadMac}`);
      cmds.push(`link set ${i} up`);
    }
    const sysctl = ['sysctl', '-e', '-q', '-w', ...sysctls];
    const res = await run(this.netns ? ['ip', 'netns', 'exec', this.netns, ...sysctl] : sysctl, { allowFailure: true });
    const batch = await this.ip(['-force', '-batch', '-'], { input: `${cmds.join('\n')}\n`, allowFailure: true });
    if (res.exitCode !== 0 || batch.exitCode !== 0) {
      this.log.warn(
        { stderr: `${res.stderr}${batch.stderr}`.trim() },
        'configuring workload interfaces failed; will retry',
      );
      return;
    }
    for (const i of todo) this.configured.add(i);
  }
}
