// Session and Client against a real sessiond: typed values, conflicts, retries, errors, deadlines.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Client,
  ConflictError,
  DeadlineExceededError,
  NotFoundError,
  Session,
  UnavailableError,
  newSessionId,
  retryOnConflict,
} from "../src/index.js";
import { mismatches, readVectors, setVectors } from "../tools/vectors.js";
import { unusedAddress, useSessiond } from "./sessiond-server.js";

const env = useSessiond();

describe("typed values", () => {
  test("every vector of clients/testdata/values.json reads back with its type and value", async () => {
    const vectors = readVectors();
    const written = Session.start(env.client);
    setVectors(written, vectors);
    await written.commit();
    assert.ok(written.id);
    assert.deepEqual(await mismatches(Session.open(env.client, written.id), vectors), []);
  });

  test("a getter of another type reads nothing: no conversions", async () => {
    const session = await Session.create(env.client, { entries: { n: 5, d: 5.5, s: "5" } });
    const fresh = Session.open(env.client, session.id as string);
    assert.equal(await fresh.getInt("n"), 5n);
    assert.equal(await fresh.getDouble("n"), undefined);
    assert.equal(await fresh.getInt("d"), undefined);
    assert.equal(await fresh.getString("n"), undefined);
    assert.equal(await fresh.getInt("absent"), undefined);
    assert.deepEqual(await fresh.keys(), ["d", "n", "s"]);
  });

  test("setInt refuses numbers beyond 2^53 and bigints beyond int64", () => {
    const session = Session.start(env.client);
    assert.throws(() => session.setInt("k", 2 ** 53), RangeError);
    assert.throws(() => session.setInt("k", 2n ** 63n), RangeError);
    session.setInt("k", -(2n ** 63n));
  });

  test("plain values map as docs/COOKIES.md says", async () => {
    const entries = {
      s: "x",
      i: 7,
      big: 2n ** 60n,
      d: 0.5,
      b: true,
      raw: Buffer.from([0, 255]),
      obj: { a: [1, null] },
    };
    const created = await Session.create(env.client, { entries });
    const session = Session.open(env.client, created.id as string);
    assert.equal(await session.getInt("i"), 7n);
    assert.equal(await session.get("i"), 7);
    assert.equal(await session.get("big"), 2n ** 60n);
    assert.equal(await session.getDouble("d"), 0.5);
    assert.deepEqual(await session.getBytes("raw"), Buffer.from([0, 255]));
    assert.deepEqual(await session.getJson("obj"), { a: [1, null] });
  });
});

describe("session life", () => {
  test("reads see pending changes; commit stores them in one version", async () => {
    const session = await Session.create(env.client, { entries: { a: "1" } });
    session.setString("b", "2");
    session.remove("a");
    assert.deepEqual(await session.keys(), ["b"]);
    assert.ok(session.hasPendingChanges);
    await session.commit();
    assert.equal(session.hasPendingChanges, false);
    assert.equal(session.info?.version, 2n);
    assert.deepEqual(await Session.open(env.client, session.id as string).keys(), ["b"]);
  });

  test("a new session is stored only once something is set", async () => {
    const session = Session.start(env.client);
    session.remove("x");
    session.clear();
    await session.commit();
    assert.equal(session.isNew, true);
    session.setBool("seen", true);
    await session.commit();
    assert.equal(session.isNew, false);
    assert.equal(await Session.open(env.client, String(session.id)).getBool("seen"), true);
  });

  test("rotateId moves the data to a new id and kills the old one", async () => {
    const session = await Session.create(env.client, { entries: { user: "ann" } });
    const oldId = session.id as string;
    await session.rotateId();
    assert.notEqual(session.id, oldId);
    assert.equal(await Session.open(env.client, session.id as string).getString("user"), "ann");
    await assert.rejects(Session.open(env.client, oldId).load(), NotFoundError);
  });

  test("delete ends the session and leaves a new empty one", async () => {
    const session = await Session.create(env.client, { entries: { user: "ann" } });
    const id = session.id as string;
    assert.equal(await session.delete(), true);
    assert.equal(session.isNew, true);
    assert.deepEqual(await session.keys(), []);
    await assert.rejects(Session.open(env.client, id).load(), NotFoundError);
  });

  test("a proposed id is used, and a taken one is refused", async () => {
    const id = newSessionId();
    assert.match(id, /^[A-Za-z0-9_-]{32}$/);
    const session = await Session.create(env.client, { id, entries: { a: 1 } });
    assert.equal(session.id, id);
    await assert.rejects(Session.create(env.client, { id, entries: { a: 2 } }), { name: "AlreadyExistsError" });
  });
});

describe("errors", () => {
  test("an unknown session is NotFoundError, remembered until reload", async () => {
    const session = Session.open(env.client, newSessionId());
    await assert.rejects(session.getString("a"), NotFoundError);
    await assert.rejects(session.load(), NotFoundError);
  });

  test("emptyIfGone turns an unknown session into a new one", async () => {
    const session = Session.open(env.client, newSessionId(), { emptyIfGone: true });
    assert.equal(await session.getString("a"), undefined);
    assert.equal(session.isNew, true);
  });

  test("an unreachable env.server is UnavailableError naming its address", async () => {
    const address = await unusedAddress();
    const unreachable = new Client(address, { commitAttempts: 1 });
    try {
      const error = await Session.open(unreachable, newSessionId())
        .load()
        .catch((e: unknown) => e);
      assert.ok(error instanceof UnavailableError);
      assert.match(error.message, new RegExp(address.replace(/\./g, "\\.")));
    } finally {
      unreachable.close();
    }
  });

  test("a call past its deadline is DeadlineExceededError", async () => {
    const slow = new Client(env.server.address, { timeoutMs: 200 });
    const session = await Session.create(slow, { entries: { a: 1 } });
    await env.server.pause();
    try {
      const started = Date.now();
      await assert.rejects(Session.open(slow, session.id as string).load(), DeadlineExceededError);
      assert.ok(Date.now() - started < 2000);
    } finally {
      env.server.resume();
      slow.close();
    }
  });

  test("a commit whose reply is lost is resent with its request_id and applies once", async () => {
    const flaky = new Client(env.server.address, { timeoutMs: 300, commitAttempts: 4, retryBackoffMs: 100 });
    const session = await Session.create(flaky, { entries: { n: 1 } });
    await session.load();
    session.setInt("n", 2);
    await env.server.pause();
    setTimeout(() => env.server.resume(), 500);
    try {
      await session.commit();
    } finally {
      env.server.resume();
      flaky.close();
    }
    assert.equal(session.info?.version, 2n);
    const reread = Session.open(env.client, session.id as string);
    assert.equal(await reread.getInt("n"), 2n);
    assert.equal(reread.info?.version, 2n);
  });
});

describe("conflicts", () => {
  test("concurrent commits of different keys both succeed", async () => {
    const created = await Session.create(env.client, { entries: { a: "0", b: "0" } });
    const first = Session.open(env.client, created.id as string);
    const second = Session.open(env.client, created.id as string);
    await Promise.all([first.load(), second.load()]);
    first.setString("a", "1");
    second.setString("b", "2");
    await first.commit();
    await second.commit();
    const reread = Session.open(env.client, created.id as string);
    assert.equal(await reread.getString("a"), "1");
    assert.equal(await reread.getString("b"), "2");
  });

  test("a commit of a key changed since the load is a ConflictError naming the keys", async () => {
    const created = await Session.create(env.client, { entries: { a: "0", b: "0" } });
    const first = Session.open(env.client, created.id as string);
    const second = Session.open(env.client, created.id as string);
    await Promise.all([first.load(), second.load()]);
    first.setString("a", "1");
    await first.commit();
    second.setString("a", "2");
    second.setString("b", "2");
    const error = await second.commit().catch((e: unknown) => e);
    assert.ok(error instanceof ConflictError);
    assert.deepEqual(error.conflictingKeys, ["a"]);
    assert.equal(error.currentVersion, 2n);
    assert.deepEqual(second.conflictingKeys, ["a"]);
    assert.ok(second.hasPendingChanges);
    await second.reload();
    assert.equal(await second.getString("a"), "1");
  });

  test("retryOnConflict reloads and reruns the work", async () => {
    const created = await Session.create(env.client, { entries: { n: 0 } });
    const racer = Session.open(env.client, created.id as string);
    const session = Session.open(env.client, created.id as string);
    let runs = 0;
    await retryOnConflict(session, async (s) => {
      const n = (await s.getInt("n")) ?? 0n;
      if (runs++ === 0) {
        racer.setInt("n", 10);
        await racer.commit();
      }
      s.setInt("n", n + 1n);
    });
    assert.equal(runs, 2);
    assert.equal(await Session.open(env.client, created.id as string).getInt("n"), 11n);
  });

  test("retryOnConflict gives up after its attempts", async () => {
    const created = await Session.create(env.client, { entries: { n: 0 } });
    const session = Session.open(env.client, created.id as string);
    let runs = 0;
    const racer = Session.open(env.client, created.id as string);
    await assert.rejects(
      retryOnConflict(
        session,
        async (s) => {
          runs++;
          await s.load();
          racer.setInt("n", runs * 100);
          await racer.commit();
          s.setInt("n", 1);
        },
        { attempts: 2 },
      ),
      ConflictError,
    );
    assert.equal(runs, 2);
  });
});
