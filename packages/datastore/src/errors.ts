/** Stable error codes: match on `err.code`, never on the message. */
export const ErrorCode = {
  Validation: 'VALIDATION',
  SelectorParse: 'SELECTOR_PARSE',
  NotFound: 'NOT_FOUND',
  AlreadyExists: 'ALREADY_EXISTS',
  Conflict: 'REVISION_CONFLICT',
  Unavailable: 'UNAVAILABLE',
  PermissionDenied: 'PERMISSION_DENIED',
  BadUrl: 'BAD_DATASTORE_URL',
  IpamExhausted: 'IPAM_EXHAUSTED',
  IpamInvalid: 'IPAM_INVALID',
  Closed: 'CLOSED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error this package throws. */
export class DatastoreError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** One problem in one document: `field` is a dotted path such as `spec.cidr`. */
export interface FieldProblem {
  field: string;
  value: unknown;
  message: string;
}

/** A resource failed validation. `problems` lists every bad field; `document` names it (`IPPool/pool-a`). */
export class ValidationError extends DatastoreError {
  constructor(
    readonly document: string,
    readonly problems: FieldProblem[],
  ) {
    super(
      ErrorCode.Validation,
      `${document}: ${problems.map((p) => `${p.field}: ${p.message} (value: ${fmt(p.value)})`).join('; ')}`,
    );
  }
}

function fmt(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** The key does not exist. */
export class NotFoundError extends DatastoreError {
  constructor(readonly key: string) {
    super(ErrorCode.NotFound, `${key} does not exist`);
  }
}

/** `create` of a key that exists. */
export class AlreadyExistsError extends DatastoreError {
  constructor(readonly key: string) {
    super(ErrorCode.AlreadyExists, `${key} already exists; use update (or apply) to change it`);
  }
}

/** Compare-and-swap failed: the key changed since `expected` was read. Re-read and retry. */
export class ConflictError extends DatastoreError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      ErrorCode.Conflict,
      `${key} is at revision ${actual}, not the expected ${expected}: it changed since it was read; re-read and retry`,
    );
  }
}

/** The backend cannot be reached (or the client was closed). */
export class UnavailableError extends DatastoreError {
  constructor(message: string) {
    super(ErrorCode.Unavailable, message);
  }
}

/** The server refused the credentials (or has none for us): fix the URL's user/password or TLS client certificate. */
export class PermissionDeniedError extends DatastoreError {
  constructor(message: string) {
    super(ErrorCode.PermissionDenied, message);
  }
}

const AUTH_FAILURE =
  /permission denied|authentication failed|user name is empty|invalid auth token|NOAUTH|WRONGPASS|invalid password|invalid username/i;

/** Wraps a client library's error: PermissionDeniedError for refused credentials, UnavailableError otherwise. */
export function backendError(where: string, what: string, err: unknown): DatastoreError {
  if (err instanceof DatastoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  if (AUTH_FAILURE.test(msg))
    return new PermissionDeniedError(`${where}: ${what} refused: ${msg}; check the credentials in the datastore URL`);
  return new UnavailableError(`${where}: ${what} failed: ${msg}`);
}

/** The datastore URL is not one this package understands. */
export class BadUrlError extends DatastoreError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(ErrorCode.BadUrl, `datastore URL ${JSON.stringify(url)}: ${reason}`);
  }
}
