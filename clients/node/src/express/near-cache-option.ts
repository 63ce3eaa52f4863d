// The Express glue's near cache switch: on by default, one option to turn it off.
import { Client } from "../client.js";
import { NearCacheOptions } from "../near-cache/near-cache.js";

/** The glue's near cache bound unless its `nearCache` option names another: 16 MiB. */
export const defaultNearCacheBytes = 16 * 1024 * 1024;

/** The glue option: `{ maxBytes }`, or false (or maxBytes 0) to leave the client's cache off. */
export type NearCacheSwitch = NearCacheOptions | false;

/**
 * Turns on `client`'s near cache as `option` says (absent: defaultNearCacheBytes); a client whose
 * cache is on already keeps its own.
 */
export function applyNearCache(client: Client, option: NearCacheSwitch | undefined): void {
  if (option !== false) client.useNearCache(option ?? { maxBytes: defaultNearCacheBytes });
}
