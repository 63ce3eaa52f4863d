// Session ids and idempotency keys drawn from the operating system's CSPRNG.
import { randomBytes } from "node:crypto";

const sessionIdPattern = /^[A-Za-z0-9_-]{32}$/;

/**
 * A fresh session id: 24 random bytes from the CSPRNG as 32 characters of base64url, the form
 * sessiond accepts in CreateSessionRequest.id. Use it only for new sessions, never for an id read
 * from a cookie.
 */
export function newSessionId(): string {
  return randomBytes(24).toString("base64url");
}

/** Whether `value` has the form of a session id (32 characters of base64url). */
export function isSessionId(value: string): boolean {
  return sessionIdPattern.test(value);
}

/** A fresh idempotency key for a mutation: 16 random bytes as 22 characters of base64url. */
export function newRequestId(): string {
  return randomBytes(16).toString("base64url");
}
