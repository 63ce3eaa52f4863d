package dev.sessiond.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.Timestamp;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.Operation;
import dev.sessiond.v1.SessionInfo;
import dev.sessiond.v1.Value;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * The write-through rules of {@link NearCacheStore}, without a server: an own Commit updates the
 * cached copy only when that is provably exact, and Gets racing it never put an older version back.
 */
class NearCacheStoreTest {
  private static final String ID = "s";
  private static final long HASH = NearCacheStore.idHash(ID);

  /** A store holding a lease for a minute. */
  private static NearCacheStore leased() {
    NearCacheStore store = new NearCacheStore(1 << 20);
    store.granted(System.nanoTime() + 60_000_000_000L);
    return store;
  }

  /** The SessionInfo of version {@code version}, live for an hour. */
  private static SessionInfo info(long version) {
    Timestamp later =
        Timestamp.newBuilder().setSeconds(System.currentTimeMillis() / 1000 + 3600).build();
    return SessionInfo.newBuilder().setId(ID).setVersion(version).setIdleExpiresAt(later).build();
  }

  /** Session {@code ID} at {@code version} holding k = v. */
  private static GetResponse answer(long version) {
    return GetResponse.newBuilder()
        .setSession(info(version))
        .putEntries("k", Values.string("v"))
        .build();
  }

  /** {@code store} holding {@link #answer}(3), filled by a Get. */
  private static NearCacheStore cachedAt3() {
    NearCacheStore store = leased();
    store.endFill(store.beginFill(HASH), ID, answer(3));
    return store;
  }

  private static Operation set(String key, String value) {
    return Operation.newBuilder()
        .setSet(Operation.SetOp.newBuilder().setKey(key).setValue(Values.string(value)))
        .build();
  }

  private static Operation remove(String key) {
    return Operation.newBuilder().setRemove(Operation.RemoveOp.newBuilder().setKey(key)).build();
  }

  private static Operation clear() {
    return Operation.newBuilder().setClear(Operation.ClearOp.getDefaultInstance()).build();
  }

  /** What {@code store} serves for {@code ID}: "version: key=value ..." in key order, or null. */
  private static String served(NearCacheStore store) {
    GetResponse response = store.lookup(ID, HASH);
    if (response == null) {
      return null;
    }
    StringBuilder text = new StringBuilder().append(response.getSession().getVersion()).append(':');
    for (Map.Entry<String, Value> entry : new TreeMap<>(response.getEntriesMap()).entrySet()) {
      text.append(' ').append(entry.getKey()).append('=').append(entry.getValue().getStringValue());
    }
    return text.toString();
  }

  /** Commits {@code ops} over what {@code store} holds, the server answering {@code written}. */
  private static void commit(NearCacheStore store, List<Operation> ops, SessionInfo written) {
    store.endWrite(store.beginWrite(ID, HASH), ID, ops, written);
  }

  @Test
  void anOwnCommitUpdatesTheCopyOnlyWhenThatIsExact() {
    record Case(String name, List<Operation> ops, SessionInfo written, String served) {}
    for (Case c :
        List.of(
            new Case("only ours", List.of(set("w", "x"), remove("k")), info(4), "4: w=x"),
            new Case("a clear then a set", List.of(clear(), set("w", "y")), info(4), "4: w=y"),
            new Case("nothing changed", List.of(remove("absent")), info(3), "3: k=v"),
            new Case("another write too", List.of(set("w", "x")), info(5), null),
            new Case("an older answer", List.of(set("w", "x")), info(2), null),
            new Case("a failure", List.of(set("w", "x")), null, null))) {
      NearCacheStore store = cachedAt3();
      commit(store, c.ops(), c.written());
      assertEquals(c.served(), served(store), c.name());
    }
    NearCacheStore empty = leased();
    commit(empty, List.of(set("w", "x")), info(4));
    assertNull(served(empty), "a commit over no cached copy was cached");
  }

  @Test
  void anOwnCommitSpoiledInFlightIsNotCached() {
    record Case(String name, Consumer<NearCacheStore> during, String served) {}
    for (Case c :
        List.of(
            new Case(
                "its own invalidation", store -> store.invalidate(HASH, 4, false), "4: k=v w=x"),
            new Case("a later version", store -> store.invalidate(HASH, 5, false), null),
            new Case("an ending", store -> store.invalidate(HASH, 0, true), null),
            new Case("a rotation or delete", store -> store.drop(HASH), null),
            new Case("a stream break", store -> store.reset(), null))) {
      NearCacheStore store = cachedAt3();
      NearCacheStore.Fill write = store.beginWrite(ID, HASH);
      c.during().accept(store);
      store.granted(System.nanoTime() + 60_000_000_000L);
      store.endWrite(write, ID, List.of(set("w", "x")), info(4));
      assertEquals(c.served(), served(store), c.name());
    }
  }

  @Test
  void getsRacingAnOwnCommitDoNotPutAnOlderVersionBack() {
    NearCacheStore store = cachedAt3();
    NearCacheStore.Fill before = store.beginFill(HASH); // may answer from before the commit
    NearCacheStore.Fill write = store.beginWrite(ID, HASH);
    NearCacheStore.Fill during = store.beginFill(HASH); // answered before the commit applied
    store.endWrite(write, ID, List.of(set("w", "ours")), info(4));
    store.endFill(before, ID, answer(4));
    store.endFill(during, ID, answer(3));
    assertEquals("4: k=v w=ours", served(store));

    NearCacheStore.Fill after = store.beginFill(HASH); // sent after it, answered out of order
    store.endFill(after, ID, answer(3));
    assertEquals("4: k=v w=ours", served(store), "a fill replaced a newer cached version");

    NearCacheStore uncached = leased();
    NearCacheStore.Fill overNothing = uncached.beginWrite(ID, HASH);
    NearCacheStore.Fill meanwhile = uncached.beginFill(HASH);
    uncached.endWrite(overNothing, ID, List.of(set("w", "ours")), info(4));
    uncached.endFill(meanwhile, ID, answer(3));
    assertNull(served(uncached), "a Get filled a version older than a commit that had returned");
  }
}
