package dev.sessiond.client;

/**
 * What a client's near cache did so far ({@link Client#nearCacheStats()}).
 *
 * @param hits Gets answered from the cache, without an rpc
 * @param misses Gets that went to the server (not cached, no lease, or expired by the local clock)
 * @param sessions the sessions cached now
 * @param bytes what they count against the bound: serialized size plus a fixed overhead each
 */
public record NearCacheStats(long hits, long misses, long sessions, long bytes) {}
