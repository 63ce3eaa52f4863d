// The near cache of a Client: whole sessions read by Get kept in process memory and served
// without an rpc while the invalidation stream's lease is current (docs: clients/node/README.md,
// "Near cache"; wire contract: WatchInvalidations in proto/sessiond/v1/session.proto).
import { CallOptions } from "../client.js";
import { NotFoundError } from "../errors.js";
import {
  GetRequest,
  GetResponse,
  Invalidation,
  SessionServiceClient,
  TouchRequest,
  TouchResponse,
  Value,
} from "../gen/sessiond/v1/session.pb.js";
import { durationMs } from "./duration.js";
import { idHash } from "./id-hash.js";
import { InvalidationStream } from "./invalidation-stream.js";
import { CachedSession, SessionLru, entryOverheadBytes } from "./lru.js";

/** The near cache's setting. */
export interface NearCacheOptions {
  /** At most this many bytes of cached sessions (serialized, plus a fixed overhead each); 0: off. */
  maxBytes: number;
}

/** What the near cache did, for tests and monitoring. */
export interface NearCacheStats {
  /** Gets answered from the cache. */
  hits: number;
  /** Gets sent to the server while the cache was on. */
  misses: number;
  /** Sessions cached now. */
  sessions: number;
  /** Their bytes, as counted against maxBytes. */
  bytes: number;
}

/** How the cache reaches the server: the Client's own (batched) calls. */
export interface CacheRpcs {
  get(request: GetRequest, call?: CallOptions): Promise<GetResponse>;
  touch(request: Partial<TouchRequest>): Promise<TouchResponse>;
}

/** A Get in flight whose answer may fill the cache, and what arrived for its session meanwhile. */
interface Fill {
  readonly generation: number;
  newestVersion: bigint;
  gone: boolean;
}

/**
 * Serves Gets from cached sessions while the stream's lease is current and the session has not
 * expired by the local clock; otherwise sends them, and caches the answer of a Get of all keys sent
 * while a lease was granted on the open stream, unless the session changed while it was in flight.
 * A hit without no_renew renews the idle timer with a Touch (batched, fire and forget) when the last
 * renewal is older than an eighth of the idle timeout. Writes drop the session first (`forget`).
 */
export class NearCache {
  private readonly lru: SessionLru;
  private readonly stream: InvalidationStream;
  private readonly fills = new Map<bigint, Set<Fill>>();
  private hits = 0;
  private misses = 0;

  constructor(
    options: NearCacheOptions,
    stub: SessionServiceClient,
    private readonly rpcs: CacheRpcs,
  ) {
    this.lru = new SessionLru(options.maxBytes);
    this.stream = new InvalidationStream(stub, {
      onInvalidations: (invalidations) => invalidations.forEach((i) => this.invalidate(i)),
      onBreak: () => this.dropAll(),
    });
  }

  /** Get's contract, from the cache when it may answer, else from the server. */
  async get(request: GetRequest, call?: CallOptions): Promise<GetResponse> {
    this.stream.use();
    const hash = idHash(request.id);
    const hit = this.lookup(hash, request);
    if (hit !== undefined) {
      this.hits++;
      return hit;
    }
    this.misses++;
    const generation = request.keys.length === 0 ? this.stream.fillGeneration() : undefined;
    if (generation === undefined) return this.rpcs.get(request, call);
    const fill: Fill = { generation, newestVersion: 0n, gone: false };
    const fills = this.fills.get(hash) ?? new Set<Fill>();
    this.fills.set(hash, fills.add(fill));
    try {
      const response = await this.rpcs.get(request, call);
      this.maybeFill(request.id, hash, fill, response);
      return response;
    } finally {
      fills.delete(fill);
      if (fills.size === 0 && this.fills.get(hash) === fills) this.fills.delete(hash);
    }
  }

  /** Drops session `id` before a write to it, and keeps Gets in flight from caching it. */
  forget(id: string): void {
    const hash = idHash(id);
    this.lru.drop(hash);
    this.fills.get(hash)?.forEach((fill) => (fill.gone = true));
  }

  /** Counters and size. */
  stats(): NearCacheStats {
    return { hits: this.hits, misses: this.misses, sessions: this.lru.size, bytes: this.lru.bytes };
  }

  /** Ends the stream and empties the cache; later Gets go to the server. */
  close(): void {
    this.stream.close();
  }

  /** The cached answer to `request`, if the cache may serve it now. */
  private lookup(hash: bigint, request: GetRequest): GetResponse | undefined {
    const entry = this.lru.get(hash, request.id);
    if (entry === undefined || !this.stream.leaseCurrent()) return undefined;
    const info = entry.response.session;
    const now = Date.now();
    if (!info?.idleExpiresAt || info.idleExpiresAt.getTime() <= now) return this.expired(entry);
    if (info.absoluteExpiresAt && info.absoluteExpiresAt.getTime() <= now) return this.expired(entry);
    if (!request.noRenew) this.renew(entry);
    const { entries } = entry.response;
    const wanted =
      request.keys.length === 0
        ? { ...entries }
        : pick(
            entries,
            request.keys.filter((key) => key in entries),
          );
    return { session: { ...info }, entries: wanted };
  }

  private expired(entry: CachedSession): undefined {
    this.lru.drop(entry.hash);
    return undefined;
  }

  /** Caches `response` unless the stream broke or the session changed while the Get was in flight. */
  private maybeFill(id: string, hash: bigint, fill: Fill, response: GetResponse): void {
    const version = response.session?.version;
    if (version === undefined || fill.gone || fill.newestVersion > version) return;
    if (fill.generation !== this.stream.generation) return;
    const bytes = GetResponse.encode(response).finish().length + entryOverheadBytes;
    this.lru.put({ id, hash, response: { ...response }, bytes, touching: false });
  }

  /** Renews `entry`'s idle timer on the server if its last renewal is an eighth of it old. */
  private renew(entry: CachedSession): void {
    const info = entry.response.session;
    if (entry.touching || !info?.idleTimeout || !info.lastAccessAt) return;
    if (Date.now() - info.lastAccessAt.getTime() < durationMs(info.idleTimeout) / 8) return;
    entry.touching = true;
    this.rpcs.touch({ id: entry.id }).then(
      ({ session }) => {
        entry.touching = false;
        if (this.lru.peek(entry.hash) !== entry) return;
        // A renewal that saw another version (a change not invalidated yet) makes the copy suspect.
        if (session?.version === info.version) entry.response.session = session;
        else this.lru.drop(entry.hash);
      },
      (error) => {
        entry.touching = false;
        if (error instanceof NotFoundError && this.lru.peek(entry.hash) === entry) this.lru.drop(entry.hash);
      },
    );
  }

  private invalidate({ idHash: hash, version, gone }: Invalidation): void {
    const entry = this.lru.peek(hash);
    if (entry !== undefined && (gone || (entry.response.session?.version ?? 0n) < version)) this.lru.drop(hash);
    for (const fill of this.fills.get(hash) ?? []) {
      fill.gone ||= gone;
      if (version > fill.newestVersion) fill.newestVersion = version;
    }
  }

  private dropAll(): void {
    this.lru.clear();
    for (const fills of this.fills.values()) fills.forEach((fill) => (fill.gone = true));
  }
}

function pick(entries: { [key: string]: Value }, keys: string[]): { [key: string]: Value } {
  return Object.fromEntries(keys.map((key) => [key, entries[key]]));
}
