import { copyBytes } from './bytes.js';
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
 * Buffered bytes never exceed one message (at most 65535 octets).
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

  /**
   * Feeds one chunk and returns an iterator of the whole messages it completes. The chunk is
   * consumed at once (the framer's state never depends on how far the caller iterates); a bad
   * header is thrown by the iterator after the messages before it, and by every later `push`.
   */
  push(chunk: Uint8Array): IterableIterator<Uint8Array> {
    if (this.failed) throw this.failed;
    const out: Uint8Array[] = [];
    try {
      this.consume(chunk, out);
    } catch (err) {
      this.failed = err as BgpDecodeError;
      return failAfter(out, this.failed);
    }
    return out[Symbol.iterator]();
  }

  private consume(chunk: Uint8Array, out: Uint8Array[]): void {
    let off = 0;
    if (this.pendingLen > 0) {
      // Complete the message that spans chunks: gather just enough octets from `chunk`.
      const first = this.fill(chunk);
      if (first === undefined) return;
      out.push(first.msg);
      off = first.used;
    }
    const buf = chunk;
    while (buf.length - off >= HEADER_LENGTH) {
      const len = checkHeader(buf, off, this.extended);
      if (buf.length - off < len) break;
      // A view built directly: cheaper than subarray in V8.
      out.push(new Uint8Array(buf.buffer, buf.byteOffset + off, len));
      off += len;
    }
    if (off < buf.length) {
      this.pending.push(copyBytes(buf, off));
      this.pendingLen += buf.length - off;
    }
  }

  /** With bytes pending, consumes from `chunk` to finish one message; undefined if still incomplete. */
  private fill(chunk: Uint8Array): { msg: Uint8Array; used: number } | undefined {
    let used = 0;
    if (this.pendingLen < HEADER_LENGTH) {
      used = Math.min(HEADER_LENGTH - this.pendingLen, chunk.length);
      this.pending.push(copyBytes(chunk, 0, used));
      this.pendingLen += used;
      if (this.pendingLen < HEADER_LENGTH) return undefined;
    }
    const head = this.concat(HEADER_LENGTH);
    const len = checkHeader(head, 0, this.extended);
    const want = len - this.pendingLen;
    const take = Math.min(want, chunk.length - used);
    if (take > 0) {
      this.pending.push(copyBytes(chunk, used, used + take));
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

function* failAfter(messages: Uint8Array[], err: BgpDecodeError): IterableIterator<Uint8Array> {
  yield* messages;
  throw err;
}
