// Typed errors of the sessiond client: every failed rpc is thrown as a SessiondError (or one of its
// subclasses), converted once by fromFailure from the gRPC status (fromServiceError) or from a
// Batch result.
import { Metadata, ServiceError, status } from "@grpc/grpc-js";
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { ConflictDetails, NotFoundDetails, NotFoundDetails_Reason } from "./gen/sessiond/v1/session.pb.js";

/** Any failed sessiond call: `code` is the gRPC status code, `rpc` the method, `address` the server. */
export class SessiondError extends Error {
  constructor(
    message: string,
    readonly code: status,
    readonly rpc: string,
    readonly address: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The session is unknown, expired or deleted (NOT_FOUND). `reason` says why it is gone while the
 * server remembers (its --gone_retention): EXPIRED_IDLE, EXPIRED_ABSOLUTE, DELETED, REVOKED,
 * EVICTED or ROTATED, with `endedAt`; UNKNOWN otherwise (never existed, or ended long ago).
 */
export class NotFoundError extends SessiondError {
  constructor(
    message: string,
    rpc: string,
    address: string,
    readonly reason: NotFoundDetails_Reason = NotFoundDetails_Reason.UNKNOWN,
    readonly endedAt?: Date,
  ) {
    super(message, status.NOT_FOUND, rpc, address);
  }
}

/**
 * WatchSessions asked for a sequence the server's event log no longer (or does not yet) hold
 * (OUT_OF_RANGE): re-read the sessions you track, then watch from the sequence the message names.
 */
export class OutOfRangeError extends SessiondError {}

/** The request was malformed: bad id, key, value or timeout (INVALID_ARGUMENT). */
export class InvalidArgumentError extends SessiondError {}

/** A proposed session id is already taken (ALREADY_EXISTS). */
export class AlreadyExistsError extends SessiondError {}

/** sessiond could not be reached or cannot serve right now (UNAVAILABLE); nothing was written. */
export class UnavailableError extends SessiondError {}

/** The call's deadline passed before the reply (DEADLINE_EXCEEDED); a mutation may have applied. */
export class DeadlineExceededError extends SessiondError {}

/**
 * A version conflict (ABORTED). For a commit with read_version, `conflictingKeys` names the written
 * keys another writer changed since (sorted, never empty); empty for an if_version mismatch.
 * `currentVersion` is the session's version at the time: reload at or after it.
 */
export class ConflictError extends SessiondError {
  constructor(
    message: string,
    rpc: string,
    address: string,
    readonly conflictingKeys: string[],
    readonly currentVersion: bigint,
  ) {
    super(message, status.ABORTED, rpc, address);
  }
}

/**
 * The value of the detail of type `typeName` inside the google.rpc.Status of the
 * `grpc-status-details-bin` trailer, if any. google.rpc.Status is { int32 code = 1; string message
 * = 2; repeated Any details = 3; } and Any is { string type_url = 1; bytes value = 2; }: decoded by
 * hand to avoid vendoring their protos.
 */
function statusDetail(metadata: Metadata | undefined, typeName: string): Uint8Array | undefined {
  const [trailer] = metadata?.get("grpc-status-details-bin") ?? [];
  if (!(trailer instanceof Buffer)) return undefined;
  const reader = new BinaryReader(trailer);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field !== 3) {
      reader.skip(wireType);
      continue;
    }
    const any = new BinaryReader(reader.bytes());
    let typeUrl = "";
    let value: Uint8Array = new Uint8Array();
    while (any.pos < any.len) {
      const [anyField, anyWireType] = any.tag();
      if (anyField === 1) typeUrl = any.string();
      else if (anyField === 2) value = any.bytes();
      else any.skip(anyWireType);
    }
    if (typeUrl === `type.googleapis.com/${typeName}`) return value;
  }
  return undefined;
}

/** The ConflictDetails an ABORTED status carries, if any. */
export function conflictDetailsOf(metadata: Metadata | undefined): ConflictDetails | undefined {
  const value = statusDetail(metadata, "sessiond.v1.ConflictDetails");
  return value && ConflictDetails.decode(value);
}

/** The NotFoundDetails a NOT_FOUND status carries, if any. */
export function notFoundDetailsOf(metadata: Metadata | undefined): NotFoundDetails | undefined {
  const value = statusDetail(metadata, "sessiond.v1.NotFoundDetails");
  return value && NotFoundDetails.decode(value);
}

/** A failed call as the server ended it: status code, message and the details sessiond sends. */
export interface Failure {
  code: status;
  message: string;
  /** On ABORTED for a version conflict. */
  conflict?: ConflictDetails;
  /** On NOT_FOUND while the server remembers why the session is gone. */
  notFound?: NotFoundDetails;
}

/** Converts a failed call of `rpc` on the server at `address` into the matching typed error. */
export function fromServiceError(error: ServiceError, rpc: string, address: string): SessiondError {
  const failure: Failure = { code: error.code, message: error.details || error.message };
  if (error.code === status.NOT_FOUND) failure.notFound = notFoundDetailsOf(error.metadata);
  if (error.code === status.ABORTED) failure.conflict = conflictDetailsOf(error.metadata);
  return fromFailure(failure, rpc, address);
}

/**
 * Converts `failure`, a call of `rpc` on the server at `address` (its own rpc's status, or its
 * result inside a Batch), into the matching typed error: the one conversion both paths share.
 */
export function fromFailure(failure: Failure, rpc: string, address: string): SessiondError {
  const { code } = failure;
  const message = `sessiond ${rpc} at ${address}: ${failure.message}`;
  switch (code) {
    case status.NOT_FOUND:
      return new NotFoundError(message, rpc, address, failure.notFound?.reason, failure.notFound?.endedAt);
    case status.OUT_OF_RANGE:
      return new OutOfRangeError(message, code, rpc, address);
    case status.INVALID_ARGUMENT:
      return new InvalidArgumentError(message, code, rpc, address);
    case status.ALREADY_EXISTS:
      return new AlreadyExistsError(message, code, rpc, address);
    case status.UNAVAILABLE:
      return new UnavailableError(
        `sessiond at ${address} is unavailable (${rpc}): ${failure.message}`,
        code,
        rpc,
        address,
      );
    case status.DEADLINE_EXCEEDED:
      return new DeadlineExceededError(message, code, rpc, address);
    case status.ABORTED:
      return new ConflictError(
        message,
        rpc,
        address,
        failure.conflict?.conflictingKeys ?? [],
        failure.conflict?.currentVersion ?? 0n,
      );
    default:
      return new SessiondError(message, code, rpc, address);
  }
}

/** Whether `error` means the reply was lost and the same request may be sent again. */
export function isRetryable(error: unknown): boolean {
  return (
    error instanceof SessiondError &&
    (error.code === status.UNAVAILABLE || error.code === status.DEADLINE_EXCEEDED || error.code === status.CANCELLED)
  );
}
