import { describe, expect, it } from 'vitest';
import type { Capability } from './capabilities.js';
import type { OpenMessage } from './open.js';
import {
  INITIAL_SESSION,
  maxMessageLength,
  mirrorContext,
  negotiateSession,
  sessionContext,
} from './session-context.js';

function open(capabilities: Capability[]): OpenMessage {
  return { type: 'open', version: 4, myAs: 65001, holdTime: 90, bgpId: '192.0.2.1', capabilities };
}

describe('session context', () => {
  it('starts with 2-octet AS, 4096-octet messages and no ADD-PATH', () => {
    expect(INITIAL_SESSION).toEqual({
      fourOctetAs: false,
      extendedMessage: false,
      addPathReceive: { ipv4: false, ipv6: false },
      addPathSend: { ipv4: false, ipv6: false },
    });
    expect(maxMessageLength(INITIAL_SESSION)).toBe(4096);
    expect(maxMessageLength(sessionContext({ extendedMessage: true }))).toBe(65535);
  });

  it('needs 4-octet AS and extended message on both sides (RFC 6793 §4, RFC 8654 §3)', () => {
    const both = negotiateSession(
      open([{ kind: 'four-octet-as', asn: 1 }, { kind: 'extended-message' }]),
      open([{ kind: 'four-octet-as', asn: 2 }, { kind: 'extended-message' }]),
    );
    expect(both.fourOctetAs && both.extendedMessage).toBe(true);
    const one = negotiateSession(open([{ kind: 'four-octet-as', asn: 1 }, { kind: 'extended-message' }]), open([]));
    expect(one.fourOctetAs || one.extendedMessage).toBe(false);
  });

  it('negotiates ADD-PATH per family and direction (RFC 7911 §4)', () => {
    const local = open([
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, mode: 'both' },
          { afi: 2, safi: 1, mode: 'receive' },
        ],
      },
    ]);
    const remote = open([
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, mode: 'receive' },
          { afi: 2, safi: 1, mode: 'both' },
        ],
      },
    ]);
    const ctx = negotiateSession(local, remote);
    expect(ctx.addPathSend).toEqual({ ipv4: true, ipv6: false });
    expect(ctx.addPathReceive).toEqual({ ipv4: false, ipv6: true });
    expect(negotiateSession(remote, local)).toEqual(mirrorContext(ctx));
  });
});
