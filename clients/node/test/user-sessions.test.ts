// A user's sessions against a real sessiond: ListSessions, RevokeSessions, why a session is gone
// (NotFoundError.reason), and WatchSessions as an async iterator.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NotFoundError, OutOfRangeError, toValue, v1 } from "../src/index.js";
import { useSessiond } from "./sessiond-server.js";

const env = useSessiond();
const Kind = v1.SessionEvent_Kind;

/** A new session of `principal` on `device`; its id. */
async function login(principal: string, device: string): Promise<string> {
  const { session } = await env.client.createSession({ principal, labels: { device } });
  assert.ok(session);
  return session.id;
}

/** The events about session `id` from `fromSequence` on, until `count` of them (5 s at most). */
async function eventsOf(id: string, fromSequence: bigint, count: number): Promise<v1.SessionEvent[]> {
  const seen: v1.SessionEvent[] = [];
  for await (const event of env.client.watchSessions({ fromSequence }, { deadline: new Date(Date.now() + 5000) })) {
    if (event.id === id) seen.push(event);
    if (seen.length === count) break;
  }
  return seen;
}

describe("a user's sessions", () => {
  test("lists newest first, revokes all but the current one, and the revoked one says REVOKED", async () => {
    const phone = await login("node-alice", "phone");
    const laptop = await login("node-alice", "laptop");
    const listed = await env.client.listSessions({ principal: "node-alice" });
    assert.deepEqual(
      listed.sessions.map((session) => [session.id, session.labels.device]),
      [
        [laptop, "laptop"],
        [phone, "phone"],
      ],
    );
    const { revoked } = await env.client.revokeSessions({ principal: "node-alice", exceptIds: [laptop] });
    assert.equal(revoked, 1n);
    await assert.rejects(
      env.client.touch({ id: phone }),
      (error) =>
        error instanceof NotFoundError &&
        error.reason === v1.NotFoundDetails_Reason.REVOKED &&
        error.endedAt instanceof Date,
    );
    const after = await env.client.listSessions({ principal: "node-alice" });
    assert.deepEqual(
      after.sessions.map((session) => session.id),
      [laptop],
    );
  });

  test("a session that never existed is NOT_FOUND with reason UNKNOWN", async () => {
    await assert.rejects(
      env.client.touch({ id: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
      (error) => error instanceof NotFoundError && error.reason === v1.NotFoundDetails_Reason.UNKNOWN,
    );
  });
});

describe("watchSessions", () => {
  test("yields a session's events in order, and resumes after a given sequence", async () => {
    const id = await login("node-bob", "tablet");
    await env.client.set({ id, entries: { theme: toValue("dark") } });
    await env.client.delete({ id });
    const events = await eventsOf(id, 1n, 3);
    assert.deepEqual(
      events.map((event) => event.kind),
      [Kind.CREATED, Kind.UPDATED, Kind.DELETED],
    );
    assert.deepEqual(events[1].changedKeys, ["theme"]);
    assert.equal(events[2].reason, v1.NotFoundDetails_Reason.DELETED);
    assert.ok(events[0].sequence < events[1].sequence && events[1].sequence < events[2].sequence);

    const resumed = await eventsOf(id, events[0].sequence + 1n, 2);
    assert.deepEqual(
      resumed.map((event) => event.sequence),
      [events[1].sequence, events[2].sequence],
    );
  });

  test("a sequence the log does not hold is an OutOfRangeError", async () => {
    const stream = env.client.watchSessions({ fromSequence: 1n << 40n });
    await assert.rejects(stream.next(), OutOfRangeError);
  });
});
