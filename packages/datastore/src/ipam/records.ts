/** An affinity's state: `pending` until the block is claimed, then `confirmed`. Pending ones are never advertised. */
export const AffinityState = { Pending: 'pending', Confirmed: 'confirmed' } as const;
export type AffinityState = (typeof AffinityState)[keyof typeof AffinityState];

/** Stored at `/calico/ipam/v2/host/<node>/ipv4/block/<a.b.c.d-len>`. */
export interface AffinityRecord {
  state: AffinityState;
}

/** Stored at `/calico/ipam/v2/assignment/ipv4/block/<a.b.c.d-len>`. */
export interface BlockRecord {
  cidr: string;
  /** `host:<node>` for the node that claimed it, or null for an orphaned block. */
  affinity: string | null;
  /** Ordinal (offset in the block) → handle ID. Absent: free. */
  allocations: Record<string, string>;
}

/** Stored at `/calico/ipam/v2/handle/<id>`: which blocks hold this handle's addresses. */
export interface HandleRecord {
  handleID: string;
  /** Block CIDR → number of addresses of this handle in it. */
  block: Record<string, number>;
}
