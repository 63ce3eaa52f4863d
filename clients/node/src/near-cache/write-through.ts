// What a client's own write does to a cached session's entries: the write as Commit operations, and
// those operations applied to a copy of the entries (used by NearCache.write).
import { Operation, Value } from "../gen/sessiond/v1/session.pb.js";
import { Operation as Call } from "../rpc.js";

/** A write that changes a session's entries and whose result the near cache may write through. */
export type EntriesWrite = Extract<Call, { $case: "set" | "remove" | "clear" | "commit" }>;

/** `write` as the Commit operations it applies in order (a Set's entries have distinct keys). */
export function operationsOf(write: EntriesWrite): Operation[] {
  switch (write.$case) {
    case "set":
      return Object.entries(write.value.entries).map(([key, value]) => ({
        op: { $case: "set", value: { key, value } },
      }));
    case "remove":
      return write.value.keys.map((key) => ({ op: { $case: "remove", value: { key } } }));
    case "clear":
      return [{ op: { $case: "clear", value: {} } }];
    case "commit":
      return write.value.ops;
  }
}

/** A copy of `entries` with `ops` applied in order (`entries` is not changed). */
export function applied(entries: { [key: string]: Value }, ops: Operation[]): { [key: string]: Value } {
  const result = { ...entries };
  for (const { op } of ops) {
    if (op?.$case === "set") result[op.value.key] = Value.fromPartial(op.value.value ?? {});
    else if (op?.$case === "remove") delete result[op.value.key];
    else if (op?.$case === "clear") for (const key of Object.keys(result)) delete result[key];
  }
  return result;
}
