// The near cache against a real sessiond: hits without rpcs, changes by other clients seen within
// a lease, a SIGSTOPped process that serves nothing stale, lease loss, sliding expiry, conflicts.
import assert from "node:assert/strict";
import { ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  Client,
  ConflictError,
  DeadlineExceededError,
  NotFoundError,
  Session,
  UnavailableError,
} from "../src/index.js";
import { readThroughCache } from "./near-cache-helpers.js";
import { SessiondServer } from "./sessiond-server.js";

/** The server's lease (--near_cache_lease's default) and a margin for scheduling. */
const leaseMs = 100;
const marginMs = 50;

let server: SessiondServer;
let caching: Client;
let other: Client;

before(async () => {
  server = await SessiondServer.start([], true);
  caching = new Client(server.address, { nearCache: { maxBytes: 1 << 20 } });
  other = new Client(server.address);
});

after(async () => {
  caching.close();
  other.close();
  await server.stop();
});

/**
 * The server's rpc counts once the rpcs already answered are all counted (it counts one just after
 * sending its reply): two reads 20 ms apart that agree.
 */
async function settledRpcCounts(): Promise<Map<string, number>> {
  let last = await server.rpcCounts();
  for (;;) {
    await sleep(20);
    const now = await server.rpcCounts();
    if ([...now].every(([method, count]) => last.get(method) === count)) return now;
    last = now;
  }
}

/** The Get rpcs the server finished (alone or in a Batch) and its Touch rpcs, since `before`. */
async function rpcsSince(before: Map<string, number>): Promise<{ gets: number; touches: number }> {
  const now = await settledRpcCounts();
  const delta = (method: string) => (now.get(method) ?? 0) - (before.get(method) ?? 0);
  return { gets: delta("Get") + delta("Batch"), touches: delta("Touch") + delta("Batch") };
}

/** A session created by the client without cache. */
async function created(entries: Record<string, unknown> = { user: "ann" }, idleTimeoutMs?: number): Promise<string> {
  return (await Session.create(other, { entries, principal: "p-" + Math.random(), idleTimeoutMs })).id as string;
}

describe("near cache", () => {
  test("a cached session is read again without an rpc, with the same entries and version", async () => {
    const id = await created({ user: "ann", n: 7 });
    const first = await readThroughCache(caching, id);
    const before = await settledRpcCounts();
    const hits = caching.nearCacheStats()?.hits ?? 0;
    for (let i = 0; i < 5; i++) {
      const again = await caching.get({ id });
      assert.deepEqual(again.entries, first.entries);
      assert.equal(again.session?.version, first.session?.version);
    }
    const subset = await caching.get({ id, keys: ["n", "absent"] });
    assert.deepEqual(Object.keys(subset.entries), ["n"]);
    assert.equal((await rpcsSince(before)).gets, 0);
    assert.equal(caching.nearCacheStats()?.hits, hits + 6);
  });

  test("another client's Set is seen within a lease, its Delete within a lease after it returns", async () => {
    const id = await created({ user: "ann" });
    await readThroughCache(caching, id);
    await other.set({ id, entries: { user: { kind: { $case: "stringValue", value: "bob" } } } });
    let seen: unknown;
    for (let waited = 0; waited < 1000 && seen !== "bob"; waited += 10) {
      seen = (await caching.get({ id })).entries.user?.kind?.value;
      await sleep(10);
    }
    assert.equal(seen, "bob");
    await readThroughCache(caching, id);
    await other.delete({ id });
    await sleep(leaseMs + marginMs);
    await assert.rejects(caching.get({ id }), NotFoundError);
  });

  test("sessions revoked by another client are not served a lease after RevokeSessions returns", async () => {
    const principal = "revoked-" + Math.random();
    const id = (await Session.create(other, { principal, entries: { a: 1 } })).id as string;
    await readThroughCache(caching, id);
    assert.equal((await other.revokeSessions({ principal })).revoked, 1n);
    await sleep(leaseMs + marginMs);
    await assert.rejects(caching.get({ id }), NotFoundError);
  });

  test("a SIGSTOPped process serves nothing stale once continued: Delete did not wait for it", async () => {
    const id = await created({ user: "ann" });
    const child = fork(join(__dirname, "near-cache-child.js"), {
      env: { ...process.env, SESSIOND_ADDRESS: server.address, SESSION_ID: id },
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    try {
      assert.equal(await message(child), "cached");
      child.kill("SIGSTOP");
      await waitStopped(child.pid as number);
      const started = performance.now();
      await other.delete({ id });
      assert.ok(performance.now() - started < 2000, "Delete waited on the stopped process");
      child.kill("SIGCONT");
      child.send("get");
      assert.equal(await message(child), "not found");
      child.send("exit");
      await once(child, "exit");
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a paused server's sessions stop being served within a lease", async () => {
    const id = await created();
    await readThroughCache(caching, id);
    await server.pause();
    try {
      await sleep(leaseMs + marginMs);
      const hits = caching.nearCacheStats()?.hits;
      await assert.rejects(caching.get({ id }, { deadline: new Date(Date.now() + 300) }), DeadlineExceededError);
      assert.equal(caching.nearCacheStats()?.hits, hits);
    } finally {
      server.resume();
    }
  });

  test("a stopped server's sessions are not served: Get fails with UnavailableError", async () => {
    const lone = await SessiondServer.start();
    const client = new Client(lone.address, { nearCache: { maxBytes: 1 << 20 } });
    try {
      const id = (await Session.create(client, { entries: { a: 1 } })).id as string;
      await readThroughCache(client, id);
      await lone.stop();
      await assert.rejects(client.get({ id }), UnavailableError);
    } finally {
      client.close();
      await lone.stop();
    }
  });

  test("reads from the cache keep a session alive, with far fewer Touches than reads", async () => {
    const id = await created({ a: 1 }, 2000);
    await readThroughCache(caching, id);
    const before = await settledRpcCounts();
    const hits = caching.nearCacheStats()?.hits ?? 0;
    let reads = 0;
    for (const end = Date.now() + 3000; Date.now() < end; reads++) {
      await caching.get({ id });
      await sleep(20);
    }
    const { touches } = await rpcsSince(before);
    assert.ok((caching.nearCacheStats()?.hits ?? 0) - hits > reads / 2, "most reads were cache hits");
    assert.ok(touches >= 1 && touches <= reads / 10, `${touches} Touches for ${reads} reads`);
    assert.equal((await other.get({ id })).entries.a?.kind?.value, 1n);
  });

  test("a commit after a stale cached read fails with ConflictError, never overwrites", async () => {
    const id = await created({ k: "old" });
    await readThroughCache(caching, id);
    const session = Session.open(caching, id);
    const hits = caching.nearCacheStats()?.hits ?? 0;
    assert.equal(await session.getString("k"), "old");
    assert.equal(caching.nearCacheStats()?.hits, hits + 1);
    await other.set({ id, entries: { k: { kind: { $case: "stringValue", value: "theirs" } } } });
    session.setString("k", "mine");
    await assert.rejects(session.commit(), ConflictError);
    assert.equal((await other.get({ id })).entries.k?.kind?.value, "theirs");
  });

  test("a write through the caching client is read back at once", async () => {
    const id = await created({ k: "old" });
    await readThroughCache(caching, id);
    await caching.set({ id, entries: { k: { kind: { $case: "stringValue", value: "new" } } } });
    assert.equal((await caching.get({ id })).entries.k?.kind?.value, "new");
  });

  test("the cache keeps to its byte bound", async () => {
    const small = new Client(server.address, { nearCache: { maxBytes: 4096 } });
    try {
      const big = "x".repeat(1500);
      const ids = [await created({ big }), await created({ big }), await created({ big })];
      for (const id of ids) await readThroughCache(small, id);
      const stats = small.nearCacheStats();
      assert.ok(stats && stats.bytes <= 4096 && stats.sessions === 2, JSON.stringify(stats));
      assert.throws(() => new Client(server.address, { nearCache: { maxBytes: -1 } }), RangeError);
    } finally {
      small.close();
    }
  });
});

/** The next message `child` sends. */
async function message(child: ChildProcess): Promise<unknown> {
  const [sent] = (await once(child, "message")) as unknown[];
  return sent;
}

/** Resolves once process `pid` is stopped (state T in /proc), 2 s at most. */
async function waitStopped(pid: number): Promise<void> {
  for (let waited = 0; waited < 2000; waited += 5) {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("T")) return;
    await sleep(5);
  }
  throw new Error(`process ${pid} did not stop`);
}
