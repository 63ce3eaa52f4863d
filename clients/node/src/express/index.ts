// sessiond's own Express middleware and its cookie.
export { sessiond, type SessiondOptions } from "./middleware.js";
export { SessionCookie, type CookieOptions } from "./cookie.js";
