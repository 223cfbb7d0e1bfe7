import { CniError, CniErrorCode } from './errors.js';

/** Maps a datastore (or any) failure to the CNI error the runtime sees; CniErrors pass through. */
export function toCniError(err: unknown, doing: string): CniError {
  if (err instanceof CniError) return err;
  const code = (err as { code?: unknown }).code;
  const msg = `${doing}: ${(err as Error)?.message ?? String(err)}`;
  if (isConnectionFailure(err)) return new CniError(CniErrorCode.TryAgainLater, msg);
  switch (code) {
    case 'UNAVAILABLE':
    case 'REVISION_CONFLICT':
    case 'CLOSED':
      return new CniError(CniErrorCode.TryAgainLater, msg);
    case 'IPAM_EXHAUSTED':
    case 'IPAM_INVALID':
      return new CniError(CniErrorCode.IpamFailure, msg);
    case 'BAD_DATASTORE_URL':
      return new CniError(CniErrorCode.InvalidNetworkConfig, msg);
    case 'VALIDATION':
    case 'NOT_FOUND':
    case 'ALREADY_EXISTS':
    case 'PERMISSION_DENIED':
      return new CniError(CniErrorCode.DatastoreFailure, msg);
    default:
      return new CniError(CniErrorCode.Internal, msg, (err as Error)?.stack);
  }
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** A client library's "cannot reach the server" (ioredis gives up after its retries; sockets fail). */
function isConnectionFailure(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  if (e?.name === 'MaxRetriesPerRequestError') return true;
  if (typeof e?.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  return typeof e?.message === 'string' && /ECONNREFUSED|Connection is closed|UNAVAILABLE/.test(e.message);
}
