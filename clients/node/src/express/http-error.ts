// The HTTP status a failed session operation answers with on Express's error path.
import { ConflictError } from "../errors.js";

/**
 * `error` with a `status` for Express's error handlers: 409 for a ConflictError (another request
 * changed a key this one wrote), 500 for anything else.
 */
export function asHttpError(error: unknown): unknown {
  if (error instanceof Error && !("status" in error)) {
    Object.assign(error, { status: error instanceof ConflictError ? 409 : 500 });
  }
  return error;
}
