// sessiond's own Express (Connect-style) middleware: docs/COOKIES.md, exactly.
import { IncomingMessage, ServerResponse } from "node:http";
import { Client } from "../client.js";
import { OpenOptions, Session } from "../session.js";
import { CookieOptions, SessionCookie } from "./cookie.js";
import { holdResponse } from "./hold.js";
import { asHttpError } from "./http-error.js";
import { NearCacheSwitch, applyNearCache } from "./near-cache-option.js";

/** The middleware's client, cookie and the timeouts of the sessions it creates. */
export interface SessiondOptions extends CookieOptions {
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

declare module "node:http" {
  interface IncomingMessage {
    /** The request's session (set by the sessiond middleware). */
    sessiond: Session;
  }
}

/**
 * Middleware that gives each request `req.sessiond`, a Session for the id in its cookie (or a new,
 * unstored one), with the life docs/COOKIES.md fixes:
 * - nothing is fetched until the handler first reads it; a stale cookie reads as an empty session;
 * - before the status line and headers go out (res.end, res.redirect, res.send, ...), pending
 *   changes are committed (read_version = the loaded version; a new session is created only if
 *   something was set), and only then the response is released; a failed commit goes to Express's
 *   error path instead (`err.status` 409 for a conflict, else 500) and nothing of the handler's
 *   response is sent;
 * - Set-Cookie is sent when the session was created or its id rotated (`await
 *   req.sessiond.rotateId()` at login), and the cookie is cleared when the session was deleted
 *   (`await req.sessiond.delete()` at logout) or found gone with nothing stored; else never.
 */
export function sessiond(options: SessiondOptions) {
  const cookie = new SessionCookie(options);
  const { client, idleTimeoutMs, absoluteTimeoutMs } = options;
  applyNearCache(client, options.nearCache);
  const open: OpenOptions = { emptyIfGone: true, idleTimeoutMs, absoluteTimeoutMs };
  return function sessiondMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) {
    const cookieId = cookie.read(req.headers.cookie);
    const session =
      cookieId === undefined
        ? Session.start(client, { idleTimeoutMs, absoluteTimeoutMs })
        : Session.open(client, cookieId, open);
    req.sessiond = session;
    holdResponse(
      res,
      () => session.hasPendingChanges || session.id !== cookieId,
      async () => {
        await session.commit();
        if (session.id !== cookieId) {
          res.appendHeader(
            "Set-Cookie",
            session.id === undefined ? cookie.serializeCleared() : cookie.serialize(session.id),
          );
        }
      },
      (error) => next(asHttpError(error)),
    );
    next();
  };
}
