/**
 * CNI error codes. 1–11 are the CNI spec's well-known codes; 100 and up are Tabby's own.
 * The numbers are stable: runtimes and tests match on them, never on the message.
 */
export const CniErrorCode = {
  /** The config's `cniVersion` is not one this plugin speaks. */
  IncompatibleVersion: 1,
  /** A config field has a value this plugin does not support. */
  UnsupportedField: 2,
  /** The container (or its network namespace) does not exist. */
  UnknownContainer: 3,
  /** A required `CNI_*` environment variable is missing or malformed. */
  InvalidEnvironment: 4,
  /** Reading stdin or a file failed. */
  IoFailure: 5,
  /** stdin is not valid JSON. */
  DecodingFailure: 6,
  /** The network config is invalid (missing or wrong fields). */
  InvalidNetworkConfig: 7,
  /** A transient failure (datastore unavailable, write conflicts): the runtime should retry. */
  TryAgainLater: 11,
  /** An unexpected internal failure. */
  Internal: 100,
  /** IPAM could not assign an address (pools exhausted, no pool for the node). */
  IpamFailure: 101,
  /** Creating or configuring the veth, addresses or routes failed. */
  InterfaceFailure: 102,
  /** CHECK found the container's networking not as ADD left it. */
  CheckFailed: 103,
  /** The datastore refused a write or read (not transient). */
  DatastoreFailure: 104,
} as const;
export type CniErrorCode = (typeof CniErrorCode)[keyof typeof CniErrorCode];

/** A failure reported to the runtime as CNI error JSON (`{ cniVersion, code, msg, details }`). */
export class CniError extends Error {
  constructor(
    readonly code: CniErrorCode,
    message: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'CniError';
  }
}

/** True for a CniError (or anything shaped like one from another copy of this module). */
export function isCniError(err: unknown): err is CniError {
  return err instanceof CniError;
}
