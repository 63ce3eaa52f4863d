// A Store for express-session that keeps each session in sessiond, one entry per top-level key.
import { isDeepStrictEqual } from "node:util";
import type { Request } from "express";
import { SessionData, Store } from "express-session";
import { Client } from "../client.js";
import { NotFoundError } from "../errors.js";
import { isSessionId, newSessionId } from "../ids.js";
import { Value } from "../gen/sessiond/v1/session.pb.js";
import { Session } from "../session.js";
import { fromValue, toValue } from "../values.js";
import { asHttpError } from "../express/http-error.js";
import { NearCacheSwitch, applyNearCache } from "../express/near-cache-option.js";

/** The store's client and the timeouts of the sessions it creates. */
export interface SessiondStoreOptions {
  client: Client;
  /** Idle timeout of new sessions; default the server's. */
  idleTimeoutMs?: number;
  /** Absolute lifetime of new sessions; default the server's. */
  absoluteTimeoutMs?: number;
  /**
   * The client's near cache (README, "Near cache"): on by default with 16 MiB; `false` leaves it
   * off. A client whose cache is on already keeps its own.
   */
  nearCache?: NearCacheSwitch;
}

type Callback = (error?: unknown) => void;
/** A session as this request loaded or last stored it: the Session and each property's Value. */
type Stored = { session: Session; values: Map<string, Value> };

/** The property express-session keeps its cookie's attributes in; stored once, at creation. */
const cookieKey = "cookie";
const storedMark = Symbol("sessiond stored");

/**
 * An express-session Store over sessiond. Each top-level property of req.session is one sessiond
 * entry with the typed value docs/COOKIES.md maps it to, so other languages read it. `set` commits
 * only the properties that changed since `get` loaded the session, with that version as
 * read_version: two concurrent requests that write different properties both keep their writes;
 * one whose property another request changed meanwhile fails with ConflictError (err.status 409).
 *
 * express-session picks the ids: configure it with `genid: SessiondStore.genid` (24 CSPRNG bytes as
 * 32 base64url characters, the only form sessiond accepts), and `saveUninitialized: false` (no
 * session per anonymous hit). `cookie` (express-session's cookie data) is stored as a json entry
 * when the session is created and never rewritten: expiry is sessiond's idle and absolute timeout.
 * `all`, `length` and `clear` are not implemented: sessiond has no rpc that lists sessions.
 */
export class SessiondStore extends Store {
  /** express-session's `genid` for this store. */
  static genid(this: void): string {
    return newSessionId();
  }

  private readonly stored = new WeakMap<object, Stored>();

  constructor(private readonly options: SessiondStoreOptions) {
    super();
    applyNearCache(options.client, options.nearCache);
  }

  /** Loads session `sid`; null if it is unknown, expired, deleted or not an id at all. */
  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void {
    if (!isSessionId(sid)) return callback(null, null);
    this.options.client.get({ id: sid }).then(
      (response) => {
        const data: Record<string | symbol, unknown> = { [cookieKey]: {} };
        for (const [key, value] of Object.entries(response.entries)) data[key] = fromValue(value);
        const stored: Stored = {
          session: Session.adopt(this.options.client, response),
          values: new Map(Object.entries(response.entries)),
        };
        data[storedMark] = stored;
        callback(null, data as unknown as SessionData);
      },
      (error) => callback(error instanceof NotFoundError ? null : error, null),
    );
  }

  /** Remembers, for `set`, what the session object express-session builds from `get` was loaded as. */
  override createSession(req: Request, data: SessionData) {
    const stored = (data as unknown as Record<symbol, Stored | undefined>)[storedMark];
    const created = super.createSession(req, data);
    if (stored) this.stored.set(created, stored);
    return created;
  }

  /** Commits the changed properties of `data`, or creates session `sid` with them if it is new. */
  override set(sid: string, data: SessionData, callback?: Callback): void {
    this.commit(sid, data).then(
      () => callback?.(),
      (error) => callback?.(asHttpError(error)),
    );
  }

  /**
   * Renews the idle timer; a session gone meanwhile is not an error. No rpc for a session this
   * request loaded or stored: that Get or Commit renewed it already.
   */
  override touch(sid: string, data: SessionData, callback?: Callback): void {
    if (this.stored.has(data)) return callback?.();
    this.options.client.touch({ id: sid }).then(
      () => callback?.(),
      (error) => callback?.(error instanceof NotFoundError ? undefined : error),
    );
  }

  /** Ends session `sid` (logout); ending an unknown one is not an error. */
  override destroy(sid: string, callback?: Callback): void {
    this.options.client.delete({ id: sid }).then(
      () => callback?.(),
      (error) => callback?.(error),
    );
  }

  private async commit(sid: string, data: SessionData): Promise<void> {
    const stored = this.stored.get(data);
    const session = stored?.session ?? Session.start(this.options.client, { ...this.options, id: sid });
    const values = new Map<string, Value>();
    for (const [key, value] of Object.entries(data)) {
      if (value === undefined || (stored && key === cookieKey)) continue;
      const plain: unknown = key === cookieKey ? JSON.parse(JSON.stringify(value)) : value;
      const before = stored?.values.get(key);
      const unchanged = before !== undefined && isDeepStrictEqual(plain, fromValue(before));
      const next = unchanged ? before : toValue(plain);
      values.set(key, next);
      if (!unchanged) session.setValue(key, next);
    }
    for (const key of stored?.values.keys() ?? []) if (key !== cookieKey && !values.has(key)) session.remove(key);
    await session.commit();
    this.stored.set(data, { session, values });
  }
}
