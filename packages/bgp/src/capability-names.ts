import type { Capability } from '@tabby/wire';

const FAMILY: Record<string, string> = { '1/1': 'ipv4-unicast', '2/1': 'ipv6-unicast' };

function fam(afi: number, safi: number): string {
  return FAMILY[`${afi}/${safi}`] ?? `afi ${afi} safi ${safi}`;
}

/** Capabilities as short names for `show neighbor`: `mp ipv4-unicast`, `as4 64512`, `graceful-restart 120s`. */
export function peerCapabilities(caps: readonly Capability[]): string[] {
  return caps.map((c) => {
    switch (c.kind) {
      case 'multiprotocol':
        return `mp ${fam(c.afi, c.safi)}`;
      case 'four-octet-as':
        return `as4 ${c.asn}`;
      case 'graceful-restart':
        return `graceful-restart ${c.restartTime}s${c.restarting ? ' restarting' : ''}${c.notification ? ' notification' : ''} [${c.families.map((f) => `${fam(f.afi, f.safi)}${f.forwarding ? '+f' : ''}`).join(' ')}]`;
      case 'add-path':
        return `add-path ${c.families.map((f) => `${fam(f.afi, f.safi)} ${f.mode}`).join(', ')}`;
      case 'extended-next-hop':
        return `extended-next-hop ${c.entries.map((e) => fam(e.afi, e.safi)).join(', ')}`;
      case 'fqdn':
        return `fqdn ${c.hostname}${c.domain ? `.${c.domain}` : ''}`;
      case 'role':
        return `role ${c.role}`;
      case 'unknown':
        return `unknown ${c.code}`;
      default:
        return c.kind;
    }
  });
}
