// The near cache's store: whole sessions (Get responses) by id hash, least recently used first
// out, bounded in bytes.
import { GetResponse } from "../gen/sessiond/v1/session.pb.js";

/** What each entry costs besides its serialized response: the id, the hash, the bookkeeping. */
export const entryOverheadBytes = 256;

/** One cached session. */
export interface CachedSession {
  /** The session id as the caller wrote it (two ids may share a hash). */
  readonly id: string;
  readonly hash: bigint;
  /** The Get response of all keys; `session` is replaced when a Touch renews it. */
  readonly response: GetResponse;
  /** The serialized response's size plus entryOverheadBytes. */
  readonly bytes: number;
  /** Whether a Touch renewing this session is in flight. */
  touching: boolean;
}

/**
 * A byte-bounded LRU of CachedSessions keyed by id hash. Not thread-aware (Node has one thread);
 * every method is O(1) except put, which evicts as many as it must.
 */
export class SessionLru {
  private readonly entries = new Map<bigint, CachedSession>();
  private totalBytes = 0;

  /** A cache of at most `maxBytes` (counted as CachedSession.bytes); at least 1. */
  constructor(private readonly maxBytes: number) {}

  /** The entry of `id` (hash `hash`), now the most recently used; undefined if absent. */
  get(hash: bigint, id: string): CachedSession | undefined {
    const entry = this.entries.get(hash);
    if (entry === undefined || entry.id !== id) return undefined;
    this.entries.delete(hash);
    this.entries.set(hash, entry);
    return entry;
  }

  /** The entry under `hash` whatever its id, not counted as a use. */
  peek(hash: bigint): CachedSession | undefined {
    return this.entries.get(hash);
  }

  /**
   * Stores `entry` as the most recently used, replacing the one under its hash and evicting the
   * least recently used until the total fits; an entry larger than the bound is not stored.
   */
  put(entry: CachedSession): void {
    this.drop(entry.hash);
    if (entry.bytes > this.maxBytes) return;
    this.entries.set(entry.hash, entry);
    this.totalBytes += entry.bytes;
    for (const [hash] of this.entries) {
      if (this.totalBytes <= this.maxBytes) break;
      this.drop(hash);
    }
  }

  /** Removes the entry under `hash`, if any. */
  drop(hash: bigint): void {
    const entry = this.entries.get(hash);
    if (entry === undefined) return;
    this.entries.delete(hash);
    this.totalBytes -= entry.bytes;
  }

  /** Removes every entry. */
  clear(): void {
    this.entries.clear();
    this.totalBytes = 0;
  }

  /** How many sessions are stored. */
  get size(): number {
    return this.entries.size;
  }

  /** The bytes stored, as counted against the bound. */
  get bytes(): number {
    return this.totalBytes;
  }
}
