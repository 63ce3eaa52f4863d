package dev.sessiond.client;

import com.google.protobuf.Timestamp;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.SessionInfo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The memory of a near cache and the lease it may serve under: whole sessions (GetResponses of
 * every entry) keyed by the hash of their id, least recently used evicted first to stay within a
 * byte bound, and the fills in flight that invalidations spoil. Thread-safe: one lock guards
 * everything, so a lease check, a lookup, a fill and a reset never interleave.
 *
 * <p>The lease comes from {@link InvalidationStream}: {@link #granted} extends it, {@link #reset}
 * (the stream broke) empties the cache and forgets it. A session is served only while the lease is
 * current on the monotonic clock and its expiry times are ahead of the wall clock; it is filled
 * only from a Get sent while a lease of the same stream was held and not spoiled while in flight.
 */
final class NearCacheStore {
  /** What an entry costs beyond its serialized session: map node, key, record, list links. */
  private static final long ENTRY_OVERHEAD = 160;

  private final long maxBytes;
  private final LinkedHashMap<Long, Entry> entries = new LinkedHashMap<>(64, 0.75f, true);
  private final List<Fill> fills = new ArrayList<>();
  private long bytes;
  // The stream's lease: whether one is held on the current stream, until when (System.nanoTime),
  // and which stream (incremented by every reset).
  private boolean leased;
  private long leaseUntil;
  private long epoch;
  private long hits;
  private long misses;

  /** A cache of at most {@code maxBytes} (positive). */
  NearCacheStore(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  /** A cached session: its id, its Get of every entry, its size, whether a Touch is in flight. */
  private static final class Entry {
    final String id;
    GetResponse session;
    final long bytes;
    boolean touching;

    Entry(String id, GetResponse session, long bytes) {
      this.id = id;
      this.session = session;
      this.bytes = bytes;
    }
  }

  /**
   * A Get of every entry in flight that may fill the cache: spoiled by a write of its session, an
   * invalidation of it above the answer's version, or a reset.
   */
  static final class Fill {
    final long hash;
    final long epoch;
    boolean gone;
    long newestVersion;

    Fill(long hash, long epoch) {
      this.hash = hash;
      this.epoch = epoch;
    }
  }

  /**
   * The near cache's key of {@code id}: the first 8 bytes of the SHA-256 of its UTF-8 text, big
   * endian (the Invalidation's id_hash).
   */
  static long idHash(String id) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(id.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(digest, 0, Long.BYTES).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /**
   * Session {@code id} if it may be served now: cached, the lease current and neither expiry time
   * passed by the wall clock. Counts a hit or a miss.
   */
  synchronized GetResponse lookup(String id, long hash) {
    Entry entry = servable(id, hash);
    if (entry == null) {
      misses++;
      return null;
    }
    hits++;
    return entry.session;
  }

  /**
   * Whether a hit on {@code id} should renew the idle timer on the server, and if so marks a Touch
   * in flight: none is in flight, the session can still be extended (its idle expiry is before its
   * absolute one) and its last renewal is older than an eighth of its idle timeout.
   */
  synchronized boolean claimTouch(String id, long hash) {
    Entry entry = entries.get(hash);
    if (entry == null || !entry.id.equals(id) || entry.touching) {
      return false;
    }
    SessionInfo info = entry.session.getSession();
    long idleExpires = millis(info.getIdleExpiresAt());
    long idleTimeout =
        Duration.ofSeconds(info.getIdleTimeout().getSeconds(), info.getIdleTimeout().getNanos())
            .toMillis();
    boolean extensible =
        idleTimeout > 0
            && (!info.hasAbsoluteExpiresAt() || idleExpires < millis(info.getAbsoluteExpiresAt()));
    long lastRenewal = idleExpires - idleTimeout;
    if (!extensible || System.currentTimeMillis() - lastRenewal < idleTimeout / 8) {
      return false;
    }
    entry.touching = true;
    return true;
  }

  /**
   * A Touch of {@code id} returned: with {@code renewed}, the entry (if still the same version)
   * takes its expiry times; null (it failed) leaves it as it was.
   */
  synchronized void touched(String id, long hash, SessionInfo renewed) {
    Entry entry = entries.get(hash);
    if (entry == null || !entry.id.equals(id)) {
      return;
    }
    entry.touching = false;
    if (renewed != null && renewed.getVersion() == entry.session.getSession().getVersion()) {
      entry.session = entry.session.toBuilder().setSession(renewed).build();
    }
  }

  /**
   * Registers a Get of every entry of the session hashed {@code hash} about to be sent; null if no
   * lease is held, so that its answer may not fill the cache.
   */
  synchronized Fill beginFill(long hash) {
    if (!leaseCurrent()) {
      return null;
    }
    Fill fill = new Fill(hash, epoch);
    fills.add(fill);
    return fill;
  }

  /**
   * Unregisters {@code fill}; with its {@code answer} (null: the Get failed), caches it unless the
   * fill was spoiled while in flight or the stream broke since it was sent.
   */
  synchronized void endFill(Fill fill, String id, GetResponse answer) {
    fills.remove(fill);
    if (answer == null
        || fill.gone
        || fill.epoch != epoch
        || fill.newestVersion > answer.getSession().getVersion()) {
      return;
    }
    long size = answer.getSerializedSize() + ENTRY_OVERHEAD;
    remove(fill.hash);
    if (size > maxBytes) {
      return;
    }
    entries.put(fill.hash, new Entry(id, answer, size));
    bytes += size;
    Iterator<Entry> oldest = entries.values().iterator();
    while (bytes > maxBytes) {
      bytes -= oldest.next().bytes;
      oldest.remove();
    }
  }

  /**
   * Applies an invalidation: drops the session hashed {@code hash} if {@code gone} or cached below
   * {@code version}, and spoils its fills in flight likewise.
   */
  synchronized void invalidate(long hash, long version, boolean gone) {
    Entry entry = entries.get(hash);
    if (entry != null && (gone || entry.session.getSession().getVersion() < version)) {
      remove(hash);
    }
    for (Fill fill : fills) {
      if (fill.hash == hash) {
        fill.gone |= gone;
        fill.newestVersion = Math.max(fill.newestVersion, version);
      }
    }
  }

  /** Drops the session hashed {@code hash} and spoils its fills in flight: it is being written. */
  synchronized void drop(long hash) {
    invalidate(hash, 0, true);
  }

  /**
   * The stream granted a lease until {@code until} (System.nanoTime); it never moves backwards on
   * one stream.
   */
  synchronized void granted(long until) {
    if (!leased || until - leaseUntil > 0) {
      leaseUntil = until;
    }
    leased = true;
  }

  /** The stream broke: forgets the lease, empties the cache and spoils every fill in flight. */
  synchronized void reset() {
    leased = false;
    epoch++;
    entries.clear();
    bytes = 0;
  }

  /** Hits, misses and the bytes held, counted since the cache was made. */
  synchronized NearCacheStats stats() {
    return new NearCacheStats(hits, misses, entries.size(), bytes);
  }

  /** The entry of {@code id} if it may be served now (holding the lock). */
  private Entry servable(String id, long hash) {
    if (!leaseCurrent()) {
      return null;
    }
    Entry entry = entries.get(hash);
    if (entry == null || !entry.id.equals(id)) {
      return null;
    }
    SessionInfo info = entry.session.getSession();
    long now = System.currentTimeMillis();
    if (millis(info.getIdleExpiresAt()) <= now
        || (info.hasAbsoluteExpiresAt() && millis(info.getAbsoluteExpiresAt()) <= now)) {
      remove(hash);
      return null;
    }
    return entry;
  }

  /** Whether a lease is held and not lapsed (holding the lock). */
  private boolean leaseCurrent() {
    return leased && leaseUntil - System.nanoTime() > 0;
  }

  /** Removes the entry hashed {@code hash} if any (holding the lock). */
  private void remove(long hash) {
    Entry removed = entries.remove(hash);
    if (removed != null) {
      bytes -= removed.bytes;
    }
  }

  private static long millis(Timestamp time) {
    return Instant.ofEpochSecond(time.getSeconds(), time.getNanos()).toEpochMilli();
  }
}
