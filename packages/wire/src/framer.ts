import { HEADER_LENGTH } from './constants.js';
import type { BgpDecodeError } from './errors.js';
import { checkHeader } from './message.js';

/**
 * Splits a TCP byte stream, delivered in arbitrary chunks, into whole BGP messages.
 *
 * `push(chunk)` returns an iterator of whole messages (header included), each checked per
 * RFC 4271 §6.1 (marker, length, type). At the first bad header the iterator throws a
 * `BgpDecodeError` after yielding every message before it; the framer then stays failed. Messages
 * wholly inside one chunk are zero-copy views of it; messages spanning chunks are fresh copies.
 */
export class Framer {
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  private failed: BgpDecodeError | undefined;
  private extended: boolean;

  constructor(options: { extendedMessage?: boolean } = {}) {
    this.extended = options.extendedMessage ?? false;
  }

  /** Allows messages up to 65535 octets once RFC 8654 extended messages are negotiated. */
  setExtendedMessage(on: boolean): void {
    this.extended = on;
  }

  /** Octets held back waiting for the rest of a message. */
  get buffered(): number {
    return this.pendingLen;
  }

  /** The error the framer failed with, if any. */
  get error(): BgpDecodeError | undefined {
    return this.failed;
  }

  /** Feeds one chunk; iterate the result to get the whole messages it completes. */
  *push(chunk: Uint8Array): Generator<Uint8Array, void, undefined> {
    if (this.failed) throw this.failed;
    let buf = chunk;
    let off = 0;
    if (this.pendingLen > 0) {
      // Complete the message that spans chunks: gather just enough octets from `chunk`.
      const first = this.fill(chunk);
      if (first === undefined) return;
      yield first.msg;
      off = first.used;
    }
    buf = chunk;
    try {
      while (buf.length - off >= HEADER_LENGTH) {
        const len = checkHeader(buf, off, this.extended);
        if (buf.length - off < len) break;
        const msg = buf.subarray(off, off + len);
        off += len;
        yield msg;
      }
    } catch (err) {
      this.failed = err as BgpDecodeError;
      throw err;
    }
    if (off < buf.length) {
      this.pending.push(buf.slice(off));
      this.pendingLen += buf.length - off;
    }
  }

  /** With bytes pending, consumes from `chunk` to finish one message; undefined if still incomplete. */
  private fill(chunk: Uint8Array): { msg: Uint8Array; used: number } | undefined {
    let used = 0;
    if (this.pendingLen < HEADER_LENGTH) {
      used = Math.min(HEADER_LENGTH - this.pendingLen, chunk.length);
      this.pending.push(chunk.subarray(0, used).slice());
      this.pendingLen += used;
      if (this.pendingLen < HEADER_LENGTH) return undefined;
    }
    const head = this.concat(HEADER_LENGTH);
    let len: number;
    try {
      len = checkHeader(head, 0, this.extended);
    } catch (err) {
      this.failed = err as BgpDecodeError;
      throw err;
    }
    const want = len - this.pendingLen;
    const take = Math.min(want, chunk.length - used);
    if (take > 0) {
      this.pending.push(chunk.subarray(used, used + take).slice());
      this.pendingLen += take;
      used += take;
    }
    if (this.pendingLen < len) {
      this.compact();
      return undefined;
    }
    const msg = this.concat(len);
    this.pending = [];
    this.pendingLen = 0;
    return { msg, used };
  }

  private concat(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let q = 0;
    for (const p of this.pending) {
      const k = Math.min(p.length, n - q);
      out.set(p.subarray(0, k), q);
      q += k;
      if (q === n) break;
    }
    return out;
  }

  private compact(): void {
    if (this.pending.length > 8) {
      const all = this.concat(this.pendingLen);
      this.pending = [all];
    }
  }
}
