// An express-session Store over sessiond.
export { SessiondStore, type SessiondStoreOptions } from "./store.js";
