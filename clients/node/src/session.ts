// Session: one sessiond session as a web request uses it, mirroring ASP.NET Core's ISession and
// the C++ client's sessiond::Session.
import { CallOptions, Client } from "./client.js";
import { ConflictError, NotFoundError, isRetryable } from "./errors.js";
import { newRequestId } from "./ids.js";
import { GetResponse, Operation, SessionInfo, Value } from "./gen/sessiond/v1/session.pb.js";
import { ValueKind, fromValue, int64Value, jsonValue, sameValue, toValue } from "./values.js";

/** What a new session is created with, besides its entries. */
export interface CreateOptions {
  /** The user the session belongs to; at most 256 bytes. */
  principal?: string;
  /** Idle (sliding) timeout; default the server's (--idle_timeout). Millisecond precision. */
  idleTimeoutMs?: number;
  /** Absolute lifetime; default the server's (--absolute_timeout). */
  absoluteTimeoutMs?: number;
  /**
   * A caller-proposed id (ids.newSessionId(): 24 CSPRNG bytes as 32 base64url characters), for
   * stores whose framework picks ids; never an id read from a cookie. Default: the server draws one.
   */
  id?: string;
}

/** How Session.open treats a session the server does not know, and creates one if it becomes new. */
export interface OpenOptions extends Omit<CreateOptions, "id"> {
  /**
   * When true, a session found unknown, expired or deleted on load becomes a new, empty, unstored
   * session (isNew true, id undefined) instead of failing with NotFoundError: what framework glue
   * does with a stale cookie. So does one that rotateId, or a commit of writes that followed no
   * read, finds gone; their pending sets stay, and that commit creates the new session. Default false.
   */
  emptyIfGone?: boolean;
}

type Typed<K extends ValueKind> = Extract<NonNullable<Value["kind"]>, { $case: K }>["value"];

const milliseconds = (ms: number | undefined) =>
  ms === undefined ? undefined : { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };

/**
 * A session loads lazily: the first read (a getter, keys or load) fetches every entry with one Get
 * and remembers the version it read. Setters, remove and clear never call the server: they record
 * the change, and reads see it at once. commit sends every pending change in one Commit carrying
 * that version as read_version, so the server rejects it with ConflictError if another writer
 * changed a key it writes, while writes to different keys by concurrent requests both succeed.
 *
 * A session is either stored (it has an id) or new (isNew: id undefined, started with
 * Session.start, or emptied by delete or by emptyIfGone): a new session reads as empty without any
 * rpc, and its first commit that sets something creates it with one CreateSession.
 *
 * Getters resolve to undefined when the key is absent or holds another type (no conversions: getInt
 * of a double is undefined). getInt resolves to a bigint, always. A session belongs to one request
 * and its methods must not run concurrently with commit.
 */
export class Session {
  private currentId: string | undefined;
  private currentInfo: SessionInfo | undefined;
  private loaded = false;
  private loading: Promise<void> | undefined;
  private loadError: Error | undefined;
  private readVersion: bigint | undefined;
  private entries = new Map<string, Value>();
  private cleared = false;
  private changes = new Map<string, Value | undefined>();
  private requestId = "";
  private lastConflict: string[] = [];

  private constructor(
    private readonly client: Client,
    id: string | undefined,
    private readonly createOptions: CreateOptions,
    private readonly openOptions: OpenOptions,
  ) {
    this.currentId = id;
    this.loaded = id === undefined;
  }

  /** The stored session `id` (for example from a cookie), not loaded yet. */
  static open(client: Client, id: string, options: OpenOptions = {}): Session {
    return new Session(client, id, { ...options }, options);
  }

  /**
   * The session `loaded` describes (a Get that listed no keys, for example one the caller made),
   * loaded at its version with nothing pending.
   */
  static adopt(client: Client, loaded: GetResponse, options: OpenOptions = {}): Session {
    const session = new Session(client, loaded.session?.id, { ...options }, options);
    session.entries = new Map(Object.entries(loaded.entries));
    session.adoptInfo(loaded.session);
    session.readVersion = loaded.session?.version;
    session.loaded = true;
    return session;
  }

  /** A new session, stored by the first commit that sets something; no rpc until then. */
  static start(client: Client, options: CreateOptions = {}): Session {
    return new Session(client, undefined, options, {});
  }

  /** Creates a session now with `entries` (plain values mapped by toValue) and returns it loaded. */
  static async create(
    client: Client,
    options: CreateOptions & { entries?: Record<string, unknown> } = {},
    call?: CallOptions,
  ): Promise<Session> {
    const session = Session.start(client, options);
    for (const [key, value] of Object.entries(options.entries ?? {})) session.set(key, value);
    await session.store(true, call);
    return session;
  }

  /** The session id; undefined while the session is new. */
  get id(): string | undefined {
    return this.currentId;
  }

  /** Whether the session is not stored on the server (yet, or any more). */
  get isNew(): boolean {
    return this.currentId === undefined;
  }

  /** Version and expiry times from the last rpc that returned them; undefined before any. */
  get info(): SessionInfo | undefined {
    return this.currentInfo;
  }

  /** Whether a set, remove or clear was recorded since the last load or successful commit. */
  get hasPendingChanges(): boolean {
    return this.cleared || this.changes.size > 0;
  }

  /** The keys the server named when the last commit failed with ConflictError; else empty. */
  get conflictingKeys(): readonly string[] {
    return this.lastConflict;
  }

  /**
   * Loads every entry with one Get unless loaded already; keeps pending changes. A failure is
   * remembered and thrown again without an rpc until reload. NotFoundError: unknown, expired or
   * deleted (unless OpenOptions.emptyIfGone).
   */
  async load(call?: CallOptions): Promise<void> {
    if (this.loaded) return;
    if (this.loadError !== undefined) throw this.loadError;
    this.loading ??= this.fetch(call).finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Discards pending changes and loaded state, then loads again: what to do after a conflict. */
  async reload(call?: CallOptions): Promise<void> {
    this.discardPending();
    this.lastConflict = [];
    this.loadError = undefined;
    this.loaded = this.isNew;
    this.entries = new Map();
    await this.load(call);
  }

  /** The keys the session holds, pending changes included, sorted. Loads first if needed. */
  async keys(call?: CallOptions): Promise<string[]> {
    await this.load(call);
    const keys = new Set(this.cleared ? [] : this.entries.keys());
    for (const [key, value] of this.changes) {
      if (value === undefined) keys.delete(key);
      else keys.add(key);
    }
    return [...keys].sort();
  }

  async getString(key: string): Promise<string | undefined> {
    return this.find(key, "stringValue");
  }

  async getBytes(key: string): Promise<Buffer | undefined> {
    return this.find(key, "bytesValue");
  }

  /** The int64 at `key` as a bigint (whatever its size). */
  async getInt(key: string): Promise<bigint | undefined> {
    return this.find(key, "int64Value");
  }

  async getDouble(key: string): Promise<number | undefined> {
    return this.find(key, "doubleValue");
  }

  async getBool(key: string): Promise<boolean | undefined> {
    return this.find(key, "boolValue");
  }

  /** The parsed JSON document at `key` (which may be null); undefined if absent or not json. */
  async getJson(key: string): Promise<unknown> {
    const text = await this.find(key, "jsonValue");
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** The value at `key` of whatever kind, as values.fromValue maps it; undefined if absent. */
  async get(key: string): Promise<unknown> {
    const value = await this.lookup(key);
    return value === undefined ? undefined : fromValue(value);
  }

  setString(key: string, value: string): void {
    this.record(key, { kind: { $case: "stringValue", value } });
  }

  setBytes(key: string, value: Uint8Array): void {
    this.record(key, { kind: { $case: "bytesValue", value: Buffer.from(value) } });
  }

  /** Stores an int64; a number must be a safe integer, a bigint within int64 (else RangeError). */
  setInt(key: string, value: bigint | number): void {
    this.record(key, int64Value(value));
  }

  setDouble(key: string, value: number): void {
    this.record(key, { kind: { $case: "doubleValue", value } });
  }

  setBool(key: string, value: boolean): void {
    this.record(key, { kind: { $case: "boolValue", value } });
  }

  /** Stores the JSON text of `value`; TypeError if it has none (undefined, a function). */
  setJson(key: string, value: unknown): void {
    this.record(key, jsonValue(value));
  }

  /** Stores `value` with the kind values.toValue maps it to (docs/COOKIES.md's table). */
  set(key: string, value: unknown): void {
    this.record(key, toValue(value));
  }

  /** Stores `value` as it is (a sessiond.v1.Value of any kind). */
  setValue(key: string, value: Value): void {
    this.record(key, value);
  }

  /** Records that `key` is to be removed; absent keys are ignored. */
  remove(key: string): void {
    this.record(key, undefined);
  }

  /** Records that every entry is to be removed. */
  clear(): void {
    this.changes.clear();
    this.cleared = !this.isNew;
    this.requestId = "";
  }

  /**
   * Sends every pending change in one rpc; nothing when none is pending. A stored session sends a
   * Commit with read_version (absent if the session was never read: a blind write, last writer
   * wins); a new session with something set sends a CreateSession and gets its id. A call whose
   * reply is lost (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED) is sent again, up to
   * ClientOptions.commitAttempts times in all, with the same request_id, so the server applies it
   * at most once. On failure the changes stay pending: ConflictError names the written keys another
   * writer changed since the load (reload and redo the work, or use retryOnConflict).
   */
  async commit(call?: CallOptions): Promise<void> {
    await this.store(false, call);
  }

  /**
   * Moves the session to a new id with the same data (call it at login); the old id is dead at
   * once. Pending changes stay pending. A new session has no id to rotate: it gets a fresh one when
   * stored.
   */
  async rotateId(call?: CallOptions): Promise<void> {
    const id = this.currentId;
    if (id === undefined) return;
    const requestId = newRequestId();
    try {
      const response = await this.retrying((c) => this.client.rotateId({ id, requestId }, c), call);
      this.adoptInfo(response.session);
    } catch (error) {
      if (!this.isGoneAndEmptyAllowed(error)) throw error;
      this.becomeNew(this.changes);
    }
  }

  /**
   * Ends the session (logout) and resolves to whether a live session was deleted. The session then
   * is new and empty: a later commit that sets something creates another one with a fresh id.
   */
  async delete(call?: CallOptions): Promise<boolean> {
    const id = this.currentId;
    let deleted = false;
    if (id !== undefined) {
      const requestId = newRequestId();
      deleted = (await this.retrying((c) => this.client.delete({ id, requestId }, c), call)).deleted;
    }
    this.becomeNew();
    return deleted;
  }

  private async fetch(call?: CallOptions): Promise<void> {
    const id = this.currentId as string;
    try {
      const response = await this.client.get({ id }, call);
      this.entries = new Map(Object.entries(response.entries));
      this.adoptInfo(response.session);
      this.readVersion = response.session?.version;
      this.loaded = true;
    } catch (error) {
      if (error instanceof NotFoundError && this.openOptions.emptyIfGone) {
        this.becomeNew();
        return;
      }
      this.loadError = error instanceof Error ? error : new Error(String(error));
      throw this.loadError;
    }
  }

  /** Makes this a new, empty, unstored session, keeping the sets among `keep` as pending. */
  private becomeNew(keep = new Map<string, Value | undefined>()): void {
    const sets = [...keep].filter(([, value]) => value !== undefined);
    this.currentId = undefined;
    this.currentInfo = undefined;
    this.readVersion = undefined;
    this.entries = new Map();
    this.loaded = true;
    this.loadError = undefined;
    this.discardPending();
    this.changes = new Map(sets);
  }

  private discardPending(): void {
    this.cleared = false;
    this.changes.clear();
    this.requestId = "";
  }

  private async lookup(key: string): Promise<Value | undefined> {
    await this.load();
    if (this.changes.has(key)) return this.changes.get(key);
    return this.cleared ? undefined : this.entries.get(key);
  }

  private async find<K extends ValueKind>(key: string, kind: K): Promise<Typed<K> | undefined> {
    const value = await this.lookup(key);
    return (value?.kind?.$case === kind ? value.kind.value : undefined) as Typed<K> | undefined;
  }

  private record(key: string, value: Value | undefined): void {
    if (value === undefined && this.isNew) this.changes.delete(key);
    else this.changes.set(key, value);
    this.requestId = "";
  }

  /** The entries once the pending changes apply to the loaded ones. */
  private applied(): Map<string, Value> {
    const result = new Map<string, Value>(this.cleared ? [] : this.entries);
    for (const [key, value] of this.changes) {
      if (value === undefined) result.delete(key);
      else result.set(key, value);
    }
    return result;
  }

  private async store(force: boolean, call?: CallOptions): Promise<void> {
    if (!this.hasPendingChanges && !force) return;
    if (this.loadError !== undefined) throw this.loadError;
    this.requestId ||= newRequestId();
    const requestId = this.requestId;
    this.lastConflict = [];
    const after = this.applied();
    if (this.isNew) {
      const { principal, id, idleTimeoutMs, absoluteTimeoutMs } = this.createOptions;
      const request = {
        entries: Object.fromEntries(after),
        principal,
        id,
        idleTimeout: milliseconds(idleTimeoutMs),
        absoluteTimeout: milliseconds(absoluteTimeoutMs),
        requestId,
      };
      const response = await this.retrying((c) => this.client.createSession(request, c), call);
      this.currentId = response.session?.id;
      this.createOptions.id = undefined;
      this.adoptCommitted(after, response.session, true);
      return;
    }
    const id = this.currentId as string;
    const ops: Operation[] = this.cleared ? [{ op: { $case: "clear", value: {} } }] : [];
    for (const key of [...this.changes.keys()].sort()) {
      const value = this.changes.get(key);
      ops.push({
        op: value === undefined ? { $case: "remove", value: { key } } : { $case: "set", value: { key, value } },
      });
    }
    const request = { id, ops, readVersion: this.readVersion, requestId };
    try {
      const response = await this.retrying((c) => this.client.commit(request, c), call);
      const changed =
        after.size !== this.entries.size || [...after].some(([k, v]) => !sameValue(v, this.entries.get(k)));
      const expected = (this.currentInfo?.version ?? 0n) + (changed ? 1n : 0n);
      this.adoptCommitted(after, response.session, this.loaded && response.session?.version === expected);
    } catch (error) {
      if (error instanceof ConflictError) this.lastConflict = error.conflictingKeys;
      if (this.loaded || !this.isGoneAndEmptyAllowed(error)) throw error;
      // A blind write to a session that is gone: as if it had been found gone, then written.
      this.becomeNew(this.changes);
      await this.store(false, call);
    }
  }

  /** Whether `error` says the session is gone and OpenOptions.emptyIfGone makes that a new session. */
  private isGoneAndEmptyAllowed(error: unknown): boolean {
    return error instanceof NotFoundError && this.openOptions.emptyIfGone === true;
  }

  /**
   * Makes `after` the loaded state if `current` (nobody else wrote in between); else the next read
   * loads again, and until then commits keep the old read_version.
   */
  private adoptCommitted(after: Map<string, Value>, info: SessionInfo | undefined, current: boolean): void {
    this.discardPending();
    this.adoptInfo(info);
    this.entries = current ? after : new Map<string, Value>();
    this.loaded = current;
    if (current) this.readVersion = info?.version;
  }

  private adoptInfo(info: SessionInfo | undefined): void {
    this.currentInfo = info;
    if (info?.id) this.currentId = info.id;
  }

  /** Runs `send` until it succeeds, fails for good, or ClientOptions.commitAttempts ran out. */
  private async retrying<T>(send: (call?: CallOptions) => Promise<T>, call?: CallOptions): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send(call);
      } catch (error) {
        if (!isRetryable(error) || attempt >= this.client.commitAttempts) throw error;
        await new Promise((resolve) => setTimeout(resolve, this.client.retryBackoffMs * 2 ** (attempt - 1)));
      }
    }
  }
}

/** How retryOnConflict retries. */
export interface RetryOptions {
  /** How many times the work runs at most. Default 3. */
  attempts?: number;
  call?: CallOptions;
}

/**
 * Runs `work` on `session` and commits; on a ConflictError reloads the session and runs `work`
 * again on fresh values, up to `attempts` times in all, then rethrows the conflict. Resolves to
 * what the successful run of `work` returned. `work` must only read and record changes.
 */
export async function retryOnConflict<T>(
  session: Session,
  work: (session: Session) => T | Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    const result = await work(session);
    try {
      await session.commit(options.call);
      return result;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= attempts) throw error;
      await session.reload(options.call);
    }
  }
}
