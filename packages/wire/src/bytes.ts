/**
 * A plain Uint8Array copy of `b[start..end)`. Used instead of `slice` because a Node.js Buffer's
 * `slice` returns a view that shares memory with the (possibly reused) input.
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(b.subarray(start, end));
  return out;
}
