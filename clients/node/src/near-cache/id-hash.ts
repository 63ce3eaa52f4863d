// The key a near cache files a session under, the same on every client and on the server.
import { createHash } from "node:crypto";

/**
 * The first 8 bytes of the SHA-256 of `id` (as the caller wrote it, UTF-8), read as a big-endian
 * unsigned 64-bit integer: Invalidation.id_hash of proto/sessiond/v1/session.proto.
 */
export function idHash(id: string): bigint {
  return createHash("sha256").update(id, "utf8").digest().readBigUInt64BE(0);
}
