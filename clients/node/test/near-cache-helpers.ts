// Helpers of the near cache tests.
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../src/index.js";
import { GetResponse } from "../src/gen/sessiond/v1/session.pb.js";

/**
 * Gets session `id` through caching `client` until a Get is answered from its cache (the stream
 * needs its first lease, then a Get to fill it): 2 s at most, else throws.
 */
export async function readThroughCache(client: Client, id: string): Promise<GetResponse> {
  for (let waited = 0; waited < 2000; waited += 10) {
    const hits = client.nearCacheStats()?.hits ?? 0;
    const response = await client.get({ id });
    if ((client.nearCacheStats()?.hits ?? 0) > hits) return response;
    await sleep(10);
  }
  throw new Error(`session ${id.slice(0, 4)}… was not served from the near cache within 2 s`);
}
