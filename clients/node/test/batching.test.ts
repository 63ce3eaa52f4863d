// Automatic batching against a real sessiond (with metrics, to count the rpcs it served): the calls
// of one event-loop turn travel as Batch rpcs, each caller still gets exactly its own result or the
// error its unary call gives, and a call's own deadline holds inside a batch.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Client,
  ConflictError,
  DeadlineExceededError,
  InvalidArgumentError,
  NotFoundError,
  SessiondError,
  v1,
} from "../src/index.js";
import { SessiondServer } from "./sessiond-server.js";

let server: SessiondServer;
let batching: Client;
let unbatched: Client;

before(async () => {
  server = await SessiondServer.start([], true);
  batching = new Client(server.address);
  unbatched = new Client(server.address, { batching: false });
});

after(async () => {
  batching.close();
  unbatched.close();
  await server.stop();
});

/** How many rpcs of each SessionService method the server finished since `before`. */
async function rpcsSince(before: Map<string, number>): Promise<Map<string, number>> {
  const now = await server.rpcCounts();
  return new Map([...now].map(([method, count]) => [method, count - (before.get(method) ?? 0)]));
}

function total(counts: Map<string, number>): number {
  return [...counts.values()].reduce((sum, count) => sum + count, 0);
}

const calls = 200;

/** Creates `calls` sessions at once, then commits to half and reads the other half, all at once. */
async function createCommitAndGet(client: Client): Promise<void> {
  const created = await Promise.all(
    Array.from({ length: calls }, (_, i) =>
      client.createSession({ entries: { n: { kind: { $case: "int64Value", value: BigInt(i) } } } }),
    ),
  );
  const ids = created.map((response) => response.session?.id as string);
  assert.equal(new Set(ids).size, calls);
  await Promise.all(
    ids.map(async (id, i) => {
      if (i % 2 === 0) {
        const got = await client.get({ id });
        assert.equal(got.session?.id, id);
        assert.deepEqual(got.entries.n, { kind: { $case: "int64Value", value: BigInt(i) } });
      } else {
        const set: v1.Operation = {
          op: { $case: "set", value: { key: "m", value: { kind: { $case: "stringValue", value: `${i}` } } } },
        };
        const committed = await client.commit({ id, ops: [set], readVersion: 1n });
        assert.equal(committed.session?.id, id);
        assert.equal(committed.session?.version, 2n);
      }
    }),
  );
}

describe("automatic batching", () => {
  test("concurrent calls each get their own result, in far fewer rpcs than calls", async () => {
    const before = await server.rpcCounts();
    await createCommitAndGet(batching);
    const served = await rpcsSince(before);
    assert.ok((served.get("Batch") ?? 0) > 0, "no Batch rpc");
    assert.ok(total(served) <= 2 * Math.ceil(calls / 128), `${total(served)} rpcs for ${2 * calls} calls`);
  });

  test("with batching off every call is its own rpc and no Batch is sent", async () => {
    const before = await server.rpcCounts();
    await createCommitAndGet(unbatched);
    const served = await rpcsSince(before);
    assert.equal(served.get("Batch") ?? 0, 0);
    assert.equal(total(served), 2 * calls);
  });

  test("a lone call is sent as its own unary rpc", async () => {
    const before = await server.rpcCounts();
    await batching.createSession({});
    const served = await rpcsSince(before);
    assert.equal(served.get("CreateSession"), 1);
    assert.equal(total(served), 1);
  });

  test("maxBatchOperations bounds a batch: the rest of the turn goes in the next", async () => {
    const small = new Client(server.address, { maxBatchOperations: 3 });
    try {
      const before = await server.rpcCounts();
      const created = await Promise.all(Array.from({ length: 7 }, () => small.createSession({})));
      assert.equal(new Set(created.map((response) => response.session?.id)).size, 7);
      const served = await rpcsSince(before);
      // 3 + 3 in two Batches, the seventh alone as its own rpc.
      assert.equal(served.get("Batch"), 2);
      assert.equal(served.get("CreateSession"), 1);
    } finally {
      small.close();
    }
  });

  test("maxBatchBytes bounds a batch: a call that would pass it starts the next, a bigger one goes alone", async () => {
    const small = new Client(server.address, { maxBatchBytes: 1000 });
    const text = (length: number) => ({ t: { kind: { $case: "stringValue" as const, value: "x".repeat(length) } } });
    try {
      const before = await server.rpcCounts();
      const created = await Promise.all([
        small.createSession({ entries: text(400) }),
        small.createSession({ entries: text(2000) }),
        small.createSession({ entries: text(400) }),
        small.createSession({ entries: text(400) }),
      ]);
      assert.deepEqual(
        created.map((response) => response.session?.version),
        [1n, 1n, 1n, 1n],
      );
      const served = await rpcsSince(before);
      // The 2000-byte call alone; the first two 400-byte ones in a Batch; the third alone (its turn's rest).
      assert.equal(served.get("Batch"), 1);
      assert.equal(served.get("CreateSession"), 2);
    } finally {
      small.close();
    }
  });
});

/** The outcome of `call`: its response, or the error it threw. */
async function outcome<T>(call: Promise<T>): Promise<T | SessiondError> {
  return call.catch((error: SessiondError) => error);
}

/** What a user can observe of an error: its class and every field the client sets. */
function observed(error: unknown): object {
  assert.ok(error instanceof SessiondError, `not a SessiondError: ${String(error)}`);
  return { class: error.constructor.name, ...error, message: error.message };
}

describe("per-call errors inside one batch", () => {
  test("NOT_FOUND, ABORTED, INVALID_ARGUMENT and a success each reach their own caller, as unary calls give them", async () => {
    const deleted = (await unbatched.createSession({})).session?.id as string;
    await unbatched.delete({ id: deleted });
    const string = (value: string): v1.Value => ({ kind: { $case: "stringValue", value } });
    const conflicted = (await unbatched.createSession({ entries: { k: string("a") } })).session?.id as string;
    await unbatched.set({ id: conflicted, entries: { k: string("b") } });
    const live = (await unbatched.createSession({ entries: { k: string("live") } })).session?.id as string;
    const conflictingCommit = {
      id: conflicted,
      ops: [{ op: { $case: "set" as const, value: { key: "k", value: string("c") } } }],
      readVersion: 1n,
    };
    const send = (client: Client) =>
      [
        outcome(client.get({ id: deleted })),
        outcome(client.commit(conflictingCommit)),
        outcome(client.get({ id: "not an id" })),
        outcome(client.get({ id: live })),
      ] as const;

    const before = await server.rpcCounts();
    const [gone, conflict, invalid, found] = await Promise.all(send(batching));
    const served = await rpcsSince(before);
    assert.equal(served.get("Batch"), 1);
    assert.equal(total(served), 1);

    assert.ok(gone instanceof NotFoundError);
    assert.equal(gone.reason, v1.NotFoundDetails_Reason.DELETED);
    assert.ok(gone.endedAt instanceof Date);
    assert.ok(conflict instanceof ConflictError);
    assert.deepEqual(conflict.conflictingKeys, ["k"]);
    assert.equal(conflict.currentVersion, 2n);
    assert.ok(invalid instanceof InvalidArgumentError);
    assert.ok(!(found instanceof SessiondError));
    assert.deepEqual(found.entries.k, string("live"));

    const [unaryGone, unaryConflict, unaryInvalid] = await Promise.all(send(unbatched));
    assert.deepEqual(observed(gone), observed(unaryGone));
    assert.deepEqual(observed(conflict), observed(unaryConflict));
    assert.deepEqual(observed(invalid), observed(unaryInvalid));
  });
});

describe("deadlines inside a batch", () => {
  test("a call with a short deadline stops waiting at it; the others of its batch keep theirs", async () => {
    const id = (await batching.createSession({})).session?.id as string;
    await server.pause();
    try {
      const short = outcome(batching.get({ id }, { deadline: new Date(Date.now() + 200) }));
      const long = outcome(batching.touch({ id }, { deadline: new Date(Date.now() + 10_000) }));
      assert.ok((await short) instanceof DeadlineExceededError);
      const pending = Symbol("pending");
      assert.equal(await Promise.race([long, Promise.resolve(pending)]), pending);
      server.resume();
      const touched = await long;
      assert.ok(!(touched instanceof SessiondError));
      assert.equal(touched.session?.id, id);
    } finally {
      server.resume();
    }
  });
});
