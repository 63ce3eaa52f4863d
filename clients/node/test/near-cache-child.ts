// A child process for near-cache.test.ts: a caching client that caches one session, then answers
// the parent's "get" with what its Get gave, at once. Environment: SESSIOND_ADDRESS, SESSION_ID.
import { Client, NotFoundError } from "../src/index.js";
import { readThroughCache } from "./near-cache-helpers.js";

const client = new Client(process.env.SESSIOND_ADDRESS as string, { nearCache: { maxBytes: 1 << 20 } });
const id = process.env.SESSION_ID as string;

process.on("message", (message) => {
  if (message === "get") {
    client.get({ id }).then(
      (response) => process.send?.(`found version ${response.session?.version}`),
      (error: unknown) => process.send?.(error instanceof NotFoundError ? "not found" : String(error)),
    );
  } else {
    client.close();
    process.disconnect();
  }
});

readThroughCache(client, id).then(
  () => process.send?.("cached"),
  (error: unknown) => process.send?.(String(error)),
);
