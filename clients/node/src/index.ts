// The sessiond Node client: Client (one rpc per method, batched automatically), Session (typed,
// lazy, one commit per request), typed errors and id helpers. Express glue: "sessiond/express"
// (sessiond's own middleware) and "sessiond/express-session" (a Store for express-session).
export { Client, type CallOptions, type ClientOptions } from "./client.js";
export {
  AlreadyExistsError,
  ConflictError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  SessiondError,
  UnavailableError,
} from "./errors.js";
export { isSessionId, newSessionId } from "./ids.js";
export { type NearCacheOptions, type NearCacheStats } from "./near-cache/near-cache.js";
export { Session, retryOnConflict, type CreateOptions, type OpenOptions, type RetryOptions } from "./session.js";
export { fromValue, toValue } from "./values.js";
export * as v1 from "./gen/sessiond/v1/session.pb.js";
