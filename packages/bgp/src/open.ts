import { Afi, type Capability, type OpenMessage, Safi } from '@tabby/wire';
import type { FamilyName, PeerConfig, SpeakerConfig } from './config/types.js';

export function familyAfi(f: FamilyName): Afi {
  return f === 'ipv6-unicast' ? Afi.ipv6 : Afi.ipv4;
}

/**
 * The OPEN we send a peer: the capabilities its config asks for (RFC 5492). A new capability is
 * advertised here; what it means once negotiated is read from the session's context (wire's
 * `negotiateSession`) or the peer's OPEN (`Peer`'s `onEstablished`).
 */
export function localOpen(
  speaker: Pick<SpeakerConfig, 'routerId' | 'gracefulRestart'>,
  pc: PeerConfig,
  restarting: boolean,
): OpenMessage {
  const caps: Capability[] = [];
  for (const f of pc.families) caps.push({ kind: 'multiprotocol', afi: familyAfi(f), safi: Safi.unicast });
  caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' });
  caps.push({ kind: 'four-octet-as', asn: pc.localAsn });
  caps.push({ kind: 'extended-message' });
  const gr = speaker.gracefulRestart;
  if (gr.enabled && pc.gracefulRestart) {
    caps.push({
      kind: 'graceful-restart',
      restarting,
      notification: gr.notification,
      restartTime: pc.restartTime ?? gr.restartTime,
      families: pc.families.map((f) => ({ afi: familyAfi(f), safi: Safi.unicast, forwarding: true })),
    });
  }
  if (pc.addPath.send || pc.addPath.receive) {
    const mode = pc.addPath.send && pc.addPath.receive ? 'both' : pc.addPath.send ? 'send' : 'receive';
    caps.push({
      kind: 'add-path',
      families: pc.families.map((f) => ({ afi: familyAfi(f), safi: Safi.unicast, mode })),
    });
  }
  return {
    type: 'open',
    version: 4,
    myAs: pc.localAsn > 0xffff ? 23456 : pc.localAsn,
    holdTime: pc.holdTime,
    bgpId: speaker.routerId,
    capabilities: caps,
  };
}

/**
 * The families a session carries: ours that the peer's OPEN also lists (RFC 4760 8: a peer that
 * advertises no multiprotocol capability speaks IPv4 unicast).
 */
export function negotiatedFamilies(ours: readonly FamilyName[], remote: OpenMessage): Set<Afi> {
  const caps = remote.capabilities;
  const theirs = new Set<number>(caps.flatMap((c) => (c.kind === 'multiprotocol' ? [c.afi] : [])));
  if (!caps.some((c) => c.kind === 'multiprotocol')) theirs.add(Afi.ipv4);
  return new Set(ours.map(familyAfi).filter((a) => theirs.has(a)));
}
