// The session cookie of docs/COOKIES.md: its value (the id, signed with HMAC-SHA256 when secrets
// are configured), its attributes, and reading it from a Cookie header.
import { createHmac, timingSafeEqual } from "node:crypto";
import { isSessionId } from "../ids.js";

/** The cookie's name and attributes (docs/COOKIES.md "Attributes"). */
export interface CookieOptions {
  /** Default "sessiond". Web tiers that share a login use the same name. */
  cookieName?: string;
  /** Secrets, newest first: the first signs, any verifies. None: the cookie is the bare id. */
  secret?: string | string[];
  /** Default true; false only for local development over plain http. */
  secure?: boolean;
  /** Default "Lax"; "None" requires secure. */
  sameSite?: "Strict" | "Lax" | "None";
  /** Default "/". */
  path?: string;
  /** Default none (host-only). */
  domain?: string;
  /** Makes the cookie persistent for this long (Max-Age, whole seconds); default: a browser-session cookie. */
  maxAgeMs?: number;
}

const signedPattern = /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/;
const clearedExpires = "Thu, 01 Jan 1970 00:00:00 GMT";

/** Writes and reads the session cookie as `options` configure it. */
export class SessionCookie {
  readonly name: string;
  private readonly secrets: string[];

  constructor(private readonly options: CookieOptions = {}) {
    this.name = options.cookieName ?? "sessiond";
    this.secrets = options.secret === undefined ? [] : [options.secret].flat();
    if (options.sameSite === "None" && options.secure === false) {
      throw new Error("sessiond cookie: SameSite=None requires secure");
    }
  }

  /** The Set-Cookie header value that stores `id`. */
  serialize(id: string): string {
    const maxAge = this.options.maxAgeMs === undefined ? [] : [`Max-Age=${Math.floor(this.options.maxAgeMs / 1000)}`];
    return this.header(this.sign(id), maxAge);
  }

  /** The Set-Cookie header value that clears the cookie. */
  serializeCleared(): string {
    return this.header("", ["Max-Age=0", `Expires=${clearedExpires}`]);
  }

  /**
   * The session id in the request's Cookie header, or undefined when there is none or it does not
   * have the form docs/COOKIES.md requires (then it counts as no cookie).
   */
  read(cookieHeader: string | undefined): string | undefined {
    for (const pair of (cookieHeader ?? "").split(";")) {
      const eq = pair.indexOf("=");
      if (eq > 0 && pair.slice(0, eq).trim() === this.name) return this.verify(pair.slice(eq + 1).trim());
    }
    return undefined;
  }

  private sign(id: string): string {
    return this.secrets.length === 0 ? id : `${id}.${signature(id, this.secrets[0])}`;
  }

  private verify(value: string): string | undefined {
    if (this.secrets.length === 0) return isSessionId(value) ? value : undefined;
    const id = value.slice(0, 32);
    if (!signedPattern.test(value)) return undefined;
    const given = Buffer.from(value.slice(33), "ascii");
    const valid = this.secrets.some((secret) => timingSafeEqual(given, Buffer.from(signature(id, secret))));
    return valid ? id : undefined;
  }

  private header(value: string, lifetime: string[]): string {
    const { path = "/", domain, secure = true, sameSite = "Lax" } = this.options;
    return [
      `${this.name}=${value}`,
      `Path=${path}`,
      ...(domain === undefined ? [] : [`Domain=${domain}`]),
      ...lifetime,
      "HttpOnly",
      ...(secure ? ["Secure"] : []),
      `SameSite=${sameSite}`,
    ].join("; ");
  }
}

/** base64url(HMAC-SHA256(secret, id)) without padding: 43 characters. */
function signature(id: string, secret: string): string {
  return createHmac("sha256", Buffer.from(secret, "utf8")).update(id, "ascii").digest("base64url");
}
