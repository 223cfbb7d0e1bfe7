/** Well-known communities (RFC 1997, RFC 3765, RFC 7999, RFC 8326) by their config names. */
export const NAMED_COMMUNITIES = {
  'graceful-shutdown': 0xffff0000,
  blackhole: 0xffff029a,
  'no-export': 0xffffff01,
  'no-advertise': 0xffffff02,
  'no-export-subconfed': 0xffffff03,
  'no-peer': 0xffffff04,
} as const;

const BY_VALUE = new Map<number, string>(Object.entries(NAMED_COMMUNITIES).map(([k, v]) => [v, k]));

/** `64512:100` or a well-known name to its uint32 value (the config is validated before this). */
export function parseCommunity(text: string): number {
  const named = (NAMED_COMMUNITIES as Record<string, number>)[text];
  if (named !== undefined) return named;
  const [hi, lo] = text.split(':').map(Number) as [number, number];
  return hi * 65536 + lo;
}

export function formatCommunity(v: number): string {
  return BY_VALUE.get(v) ?? `${Math.floor(v / 65536)}:${v % 65536}`;
}

export function parseLargeCommunity(text: string): readonly [number, number, number] {
  const [a, b, c] = text.split(':').map(Number) as [number, number, number];
  return [a, b, c];
}
