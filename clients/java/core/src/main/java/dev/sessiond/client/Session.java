package dev.sessiond.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.sessiond.v1.CommitRequest;
import dev.sessiond.v1.CreateSessionRequest;
import dev.sessiond.v1.DeleteRequest;
import dev.sessiond.v1.GetRequest;
import dev.sessiond.v1.GetResponse;
import dev.sessiond.v1.Operation;
import dev.sessiond.v1.RotateIdRequest;
import dev.sessiond.v1.SessionInfo;
import dev.sessiond.v1.Value;
import dev.sessiond.v1.Value.KindCase;
import java.util.List;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * One sessiond session as a web request uses it, mirroring ASP.NET Core's ISession and the C++
 * client's {@code sessiond::Session}.
 *
 * <p>A session opened by id loads lazily: the first read (a getter, {@link #keys()} or {@link
 * #load()}) fetches every entry with one Get and remembers the version it read. Setters, {@link
 * #remove} and {@link #clear()} never call the server: they record the change, and reads see it at
 * once. {@link #commit()} sends every pending change in one Commit carrying that version as
 * read_version, so the server rejects it with a {@link ConflictException} naming the keys if
 * another writer changed a key it writes, while writes to different keys by concurrent requests
 * both succeed. {@link #update} wraps that in a bounded reload-and-retry loop.
 *
 * <p>Getters return null when the key is absent or holds another type: there is no conversion
 * ({@link #getLong} on a string, {@link #getDouble} on an int64 are null). {@link #setInt} stores
 * an int64, as every client does. A getter that has to load throws what {@link #load()} throws.
 *
 * <p>Every rpc has a blocking method and an {@code ...Async} method returning a {@link
 * CompletableFuture}. A Session belongs to one request: it is not thread-safe, and one async call
 * must complete before the next method is called.
 */
public final class Session {
  private final Client client;
  private final boolean isNew;
  // The options of a session not created yet (startNew), sent with its first commit.
  private final CreateOptions createOptions;
  private String id;
  private boolean stored;
  private SessionInfo info = SessionInfo.getDefaultInstance();
  // Whether entries holds the session at info.version; the failure of the last load, if it failed.
  private boolean loaded;
  private SessiondException loadFailure;
  // What commit sends as read_version: the version the entries the caller may have read were
  // loaded at; null if the session was never loaded (blind writes: the last writer wins).
  private Long readVersion;
  private final TreeMap<String, Value> entries = new TreeMap<>();
  // Pending: whether a clear was recorded, and each key's last set (a value) or removal (null).
  private boolean cleared;
  private final TreeMap<String, Value> changes = new TreeMap<>();
  // The idempotency key of the pending changes: null until they are first sent, then kept until
  // they are committed or changed.
  private String requestId;
  private List<String> conflictingKeys = List.of();

  private Session(Client client, String id, boolean isNew, boolean stored, CreateOptions options) {
    this.client = client;
    this.id = id;
    this.isNew = isNew;
    this.stored = stored;
    this.createOptions = options;
    this.loaded = !stored;
  }

  /**
   * Session {@code id} (for example from a cookie), not loaded yet: no rpc until the first read.
   */
  public static Session open(Client client, String id) {
    return new Session(client, id, false, true, null);
  }

  /**
   * A new session that exists only here until {@link #commit()} creates it (with CreateSession, its
   * pending entries and {@code options}) under a fresh random id proposed now, so that {@link
   * #id()} is known before. A commit that would leave it empty creates nothing: no session per
   * anonymous hit.
   */
  public static Session startNew(Client client, CreateOptions options) {
    return new Session(client, Ids.newSessionId(), true, false, options);
  }

  /** Creates a session on the server now, with {@code options}; it is returned loaded. */
  public static Session create(Client client, CreateOptions options) {
    return Client.await(createAsync(client, options), client.address());
  }

  /** {@link #create} without blocking. The server draws the id. */
  public static CompletableFuture<Session> createAsync(Client client, CreateOptions options) {
    Session session = new Session(client, "", true, false, options);
    return session.sendCreate(false).thenApply(ignored -> session);
  }

  /** The session id. It changes when a commit creates the session and when it is rotated. */
  public String id() {
    return id;
  }

  /**
   * Whether this object created the session (or will create it at commit), rather than opening it.
   */
  public boolean isNew() {
    return isNew;
  }

  /** Whether the session exists on the server (false for {@link #startNew} before its commit). */
  public boolean isStored() {
    return stored;
  }

  /**
   * The version, expiry times and principal from the last rpc that returned them; the default
   * instance before any.
   */
  public SessionInfo info() {
    return info;
  }

  /** Loads the session (one Get of every entry) unless it is loaded; keeps pending changes. */
  public void load() {
    Client.await(loadAsync(), client.address());
  }

  /**
   * {@link #load()} without blocking. After a failure the same error is returned without calling
   * the server until {@link #reload()}. {@link SessionNotFoundException}: the session is unknown,
   * expired or deleted.
   */
  public CompletableFuture<Void> loadAsync() {
    if (loaded) {
      return CompletableFuture.completedFuture(null);
    }
    if (loadFailure != null) {
      return CompletableFuture.failedFuture(loadFailure);
    }
    return client
        .getAsync(GetRequest.newBuilder().setId(id).build())
        .handle(
            (response, failure) -> {
              if (failure != null) {
                loadFailure = Errors.from(failure, client.address());
                throw loadFailure;
              }
              adopt(response);
              return null;
            });
  }

  /**
   * Discards pending changes and what was loaded, and loads again: what to do after a conflict,
   * before redoing the request's logic on fresh values.
   */
  public void reload() {
    Client.await(reloadAsync(), client.address());
  }

  /** {@link #reload()} without blocking. */
  public CompletableFuture<Void> reloadAsync() {
    discardPending();
    conflictingKeys = List.of();
    if (stored) {
      loaded = false;
      loadFailure = null;
      entries.clear();
    }
    return loadAsync();
  }

  /** The keys the session holds, pending changes included, sorted. Loads first if needed. */
  public SortedSet<String> keys() {
    load();
    TreeSet<String> keys = cleared ? new TreeSet<>() : new TreeSet<>(entries.keySet());
    changes.forEach(
        (key, value) -> {
          if (value == null) {
            keys.remove(key);
          } else {
            keys.add(key);
          }
        });
    return keys;
  }

  /** The value of {@code key} with pending changes applied, of whatever type; null if absent. */
  public Value getValue(String key) {
    load();
    if (changes.containsKey(key)) {
      return changes.get(key);
    }
    return cleared ? null : entries.get(key);
  }

  /** The string at {@code key}; null if absent or not a string. */
  public String getString(String key) {
    Value value = find(key, KindCase.STRING_VALUE);
    return value == null ? null : value.getStringValue();
  }

  /** A copy of the bytes at {@code key}; null if absent or not bytes. */
  public byte[] getBytes(String key) {
    Value value = find(key, KindCase.BYTES_VALUE);
    return value == null ? null : value.getBytesValue().toByteArray();
  }

  /** The int64 at {@code key}; null if absent or not an int64. */
  public Long getLong(String key) {
    Value value = find(key, KindCase.INT64_VALUE);
    return value == null ? null : value.getInt64Value();
  }

  /** The int64 at {@code key} as an int; null if absent, not an int64, or outside int's range. */
  public Integer getInt(String key) {
    Long value = getLong(key);
    return value == null || value != value.intValue() ? null : value.intValue();
  }

  /** The double at {@code key}; null if absent or not a double. */
  public Double getDouble(String key) {
    Value value = find(key, KindCase.DOUBLE_VALUE);
    return value == null ? null : value.getDoubleValue();
  }

  /** The boolean at {@code key}; null if absent or not a bool. */
  public Boolean getBool(String key) {
    Value value = find(key, KindCase.BOOL_VALUE);
    return value == null ? null : value.getBoolValue();
  }

  /**
   * The JSON document at {@code key} as a tree (JSON null: a NullNode); null if absent or not JSON.
   *
   * @throws IllegalStateException if the stored text is not JSON
   */
  public JsonNode getJson(String key) {
    Value value = find(key, KindCase.JSON_VALUE);
    return value == null ? null : Values.parseJson(value);
  }

  /**
   * The JSON document at {@code key} read into {@code type} by Jackson; null if absent or not JSON.
   *
   * @throws IllegalStateException if the stored text is not JSON or does not fit {@code type}
   */
  public <T> T getJson(String key, Class<T> type) {
    Value value = find(key, KindCase.JSON_VALUE);
    return value == null ? null : Values.parseJson(value, type);
  }

  /** Records that {@code key} is to hold {@code value} (any type); no rpc. */
  public void setValue(String key, Value value) {
    record(key, value);
  }

  /** Records a string. */
  public void setString(String key, String value) {
    record(key, Values.string(value));
  }

  /** Records bytes (copied). */
  public void setBytes(String key, byte[] value) {
    record(key, Values.bytes(value));
  }

  /** Records an int64. */
  public void setLong(String key, long value) {
    record(key, Values.int64(value));
  }

  /** Records an int as an int64. */
  public void setInt(String key, int value) {
    record(key, Values.int64(value));
  }

  /** Records a double. */
  public void setDouble(String key, double value) {
    record(key, Values.float64(value));
  }

  /** Records a boolean. */
  public void setBool(String key, boolean value) {
    record(key, Values.bool(value));
  }

  /** Records {@code value} serialized to JSON by Jackson (null: the JSON null). */
  public void setJson(String key, Object value) {
    record(key, Values.json(value));
  }

  /** Records that {@code key} is to be removed; absent keys are ignored. */
  public void remove(String key) {
    record(key, null);
  }

  /** Records that every entry is to be removed. */
  public void clear() {
    cleared = true;
    changes.clear();
    requestId = null;
  }

  /** Whether a set, remove or clear was recorded since the last load or successful commit. */
  public boolean hasPendingChanges() {
    return cleared || !changes.isEmpty();
  }

  /**
   * The keys the server reported as changed by others when the last commit failed with a conflict;
   * empty after any other outcome and after a reload.
   */
  public List<String> conflictingKeys() {
    return conflictingKeys;
  }

  /**
   * The Commit request for the pending changes: a clear first if one was recorded, then the last
   * set or remove of each key in key order, the read_version (absent if never loaded) and the
   * request_id (empty until the changes are first sent).
   */
  public CommitRequest pendingCommit() {
    CommitRequest.Builder request = CommitRequest.newBuilder().setId(id);
    if (cleared) {
      request.addOps(Operation.newBuilder().setClear(Operation.ClearOp.getDefaultInstance()));
    }
    changes.forEach(
        (key, value) -> {
          Operation.Builder op = request.addOpsBuilder();
          if (value == null) {
            op.getRemoveBuilder().setKey(key);
          } else {
            op.getSetBuilder().setKey(key).setValue(value);
          }
        });
    if (readVersion != null) {
      request.setReadVersion(readVersion);
    }
    if (requestId != null) {
      request.setRequestId(requestId);
    }
    return request.build();
  }

  /** Sends the pending changes; see {@link #commitAsync()}. */
  public void commit() {
    Client.await(commitAsync(), client.address());
  }

  /**
   * Sends the pending changes in one rpc: Commit, or CreateSession for a session made by {@link
   * #startNew} (under its proposed id, or the id the server gives). Completes at once when nothing
   * is pending. A commit whose reply is lost is re-sent with the same request_id (see {@link
   * ClientOptions}). On success the changes become the session's state and {@link #info()} is the
   * server's answer; if others wrote in between, the next read loads again. On failure the changes
   * stay pending: {@link ConflictException} when a written key changed after the version loaded
   * ({@link #conflictingKeys()} names them), {@link SessionNotFoundException}, {@link
   * InvalidArgumentException}, or another {@link SessiondException}.
   */
  public CompletableFuture<Void> commitAsync() {
    if (!hasPendingChanges()) {
      return CompletableFuture.completedFuture(null);
    }
    if (!stored) {
      if (applied().isEmpty()) {
        discardPending();
        return CompletableFuture.completedFuture(null);
      }
      return sendCreate(true);
    }
    if (loadFailure != null) {
      return CompletableFuture.failedFuture(loadFailure);
    }
    if (requestId == null) {
      requestId = Ids.newRequestId();
    }
    CommitRequest request = pendingCommit();
    conflictingKeys = List.of();
    return Retry.withRetries(client.options(), () -> client.commitAsync(request))
        .handle(
            (response, failure) -> {
              if (failure != null) {
                SessiondException error = Errors.from(failure, client.address());
                if (error instanceof ConflictException conflict) {
                  conflictingKeys = conflict.conflictingKeys();
                }
                throw error;
              }
              applyCommitted(response.getSession());
              return null;
            });
  }

  /**
   * Moves the session to a new id with the same data (call it at login against session fixation);
   * the old id is dead at once. Pending changes stay pending. A session not created yet just
   * proposes another id.
   */
  public void rotateId() {
    Client.await(rotateIdAsync(), client.address());
  }

  /** {@link #rotateId()} without blocking. */
  public CompletableFuture<Void> rotateIdAsync() {
    if (!stored) {
      id = Ids.newSessionId();
      return CompletableFuture.completedFuture(null);
    }
    RotateIdRequest request =
        RotateIdRequest.newBuilder().setId(id).setRequestId(Ids.newRequestId()).build();
    return Retry.withRetries(client.options(), () -> client.rotateIdAsync(request))
        .thenAccept(
            response -> {
              id = response.getSession().getId();
              if (loaded && response.getSession().getVersion() != info.getVersion() + 1) {
                markStale();
              }
              info = response.getSession();
            });
  }

  /**
   * Ends the session (logout) and discards pending changes; later reads find it gone. Returns
   * whether a live session was deleted (false: it had ended already, or was never created).
   */
  public boolean delete() {
    return Client.await(deleteAsync(), client.address());
  }

  /** {@link #delete()} without blocking. */
  public CompletableFuture<Boolean> deleteAsync() {
    discardPending();
    if (!stored) {
      return CompletableFuture.completedFuture(false);
    }
    DeleteRequest request =
        DeleteRequest.newBuilder().setId(id).setRequestId(Ids.newRequestId()).build();
    return Retry.withRetries(client.options(), () -> client.deleteAsync(request))
        .thenApply(
            response -> {
              entries.clear();
              loaded = false;
              loadFailure =
                  new SessionNotFoundException(
                      "sessiond at " + client.address() + ": the session was deleted", null);
              return response.getDeleted();
            });
  }

  /**
   * Runs {@code work} on this session and commits; on a conflict reloads and runs it again, up to 3
   * times in all. Returns what the last run of {@code work} returned.
   */
  public <T> T update(Function<Session, T> work) {
    return update(3, work);
  }

  /**
   * {@link #update(Function)} with at most {@code attempts} runs; the last conflict is thrown if
   * every run conflicted.
   */
  public <T> T update(int attempts, Function<Session, T> work) {
    for (int attempt = 1; ; attempt++) {
      T result = work.apply(this);
      try {
        commit();
        return result;
      } catch (ConflictException conflict) {
        if (attempt >= attempts) {
          throw conflict;
        }
        reload();
      }
    }
  }

  /** The value at {@code key} if it holds a value of type {@code kind}, else null. */
  private Value find(String key, KindCase kind) {
    Value value = getValue(key);
    return value != null && value.getKindCase() == kind ? value : null;
  }

  /** Records a set ({@code value}) or a removal (null) of {@code key}. */
  private void record(String key, Value value) {
    if (value == null && cleared) {
      changes.remove(key);
    } else {
      changes.put(key, value);
    }
    requestId = null;
  }

  private void discardPending() {
    cleared = false;
    changes.clear();
    requestId = null;
  }

  /** Takes a full Get response as the session's state. */
  private void adopt(GetResponse response) {
    info = response.getSession();
    entries.clear();
    entries.putAll(response.getEntriesMap());
    loaded = true;
    loadFailure = null;
    readVersion = info.getVersion();
  }

  /** The entries with the pending changes applied to them. */
  private TreeMap<String, Value> applied() {
    TreeMap<String, Value> result = cleared ? new TreeMap<>() : new TreeMap<>(entries);
    changes.forEach(
        (key, value) -> {
          if (value == null) {
            result.remove(key);
          } else {
            result.put(key, value);
          }
        });
    return result;
  }

  /** Forgets the loaded entries so that the next read loads again; readVersion stays. */
  private void markStale() {
    loaded = false;
    entries.clear();
  }

  /** Makes the pending changes the loaded state after a commit answered {@code committed}. */
  private void applyCommitted(SessionInfo committed) {
    if (loaded) {
      TreeMap<String, Value> after = applied();
      long expected = info.getVersion() + (after.equals(entries) ? 0 : 1);
      if (committed.getVersion() == expected) {
        entries.clear();
        entries.putAll(after);
        readVersion = committed.getVersion();
      } else {
        markStale();
      }
    }
    info = committed;
    discardPending();
  }

  /**
   * Sends CreateSession with the create options, the pending entries and (if {@code propose}) the
   * proposed id; on success the session is stored, loaded, with nothing pending.
   */
  private CompletableFuture<Void> sendCreate(boolean propose) {
    if (requestId == null) {
      requestId = Ids.newRequestId();
    }
    TreeMap<String, Value> initial = new TreeMap<>(createOptions.entries());
    initial.putAll(applied());
    CreateSessionRequest.Builder request =
        CreateSessionRequest.newBuilder()
            .putAllEntries(initial)
            .setPrincipal(createOptions.principal())
            .setRequestId(requestId);
    if (propose) {
      request.setId(id);
    }
    if (createOptions.idleTimeout() != null) {
      request.setIdleTimeout(toProto(createOptions.idleTimeout()));
    }
    if (createOptions.absoluteTimeout() != null) {
      request.setAbsoluteTimeout(toProto(createOptions.absoluteTimeout()));
    }
    CreateSessionRequest built = request.build();
    return Retry.withRetries(client.options(), () -> client.createSessionAsync(built))
        .thenAccept(
            response -> {
              GetResponse created =
                  GetResponse.newBuilder()
                      .setSession(response.getSession())
                      .putAllEntries(initial)
                      .build();
              stored = true;
              id = created.getSession().getId();
              adopt(created);
              discardPending();
            });
  }

  private static com.google.protobuf.Duration toProto(java.time.Duration duration) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(duration.getSeconds())
        .setNanos(duration.getNano())
        .build();
  }
}
