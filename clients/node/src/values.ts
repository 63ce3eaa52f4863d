// sessiond.v1.Value construction and comparison, and the mapping between plain JavaScript values
// and typed Values that docs/COOKIES.md fixes for framework sessions.
import { Value } from "./gen/sessiond/v1/session.pb.js";

const int64Min = -(2n ** 63n);
const int64Max = 2n ** 63n - 1n;

/** The kinds a Value holds, as the generated oneof names them. */
export type ValueKind = NonNullable<Value["kind"]>["$case"];

/** The int64 Value of `value`; throws RangeError if it is not an integer within int64. */
export function int64Value(value: bigint | number): Value {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`${value} is not a safe integer: pass a bigint`);
  }
  const big = BigInt(value);
  if (big < int64Min || big > int64Max) throw new RangeError(`${value} is outside int64`);
  return { kind: { $case: "int64Value", value: big } };
}

/** The json Value holding the JSON text of `value`; throws TypeError if it has none. */
export function jsonValue(value: unknown): Value {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError(`${typeof value} has no JSON text`);
  return { kind: { $case: "jsonValue", value: text } };
}

/**
 * The Value docs/COOKIES.md maps `value` to: string → string, integral number → int64 (a number
 * beyond int64 → double), other number → double, bigint → int64, boolean → bool, Buffer or
 * Uint8Array → bytes, anything else (objects, arrays, null, Dates) → its JSON text.
 */
export function toValue(value: unknown): Value {
  switch (typeof value) {
    case "string":
      return { kind: { $case: "stringValue", value } };
    case "boolean":
      return { kind: { $case: "boolValue", value } };
    case "bigint":
      return int64Value(value);
    case "number":
      return Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) < 2 ** 63
        ? { kind: { $case: "int64Value", value: BigInt(value) } }
        : { kind: { $case: "doubleValue", value } };
    default:
      return value instanceof Uint8Array
        ? { kind: { $case: "bytesValue", value: Buffer.from(value) } }
        : jsonValue(value);
  }
}

/**
 * The plain JavaScript value of `value`, the inverse of toValue: an int64 within ±(2^53 − 1) reads
 * as a number, beyond as a bigint; bytes as a Buffer; json as its parsed document. An empty Value
 * reads as undefined.
 */
export function fromValue(value: Value): unknown {
  const kind = value.kind;
  if (kind === undefined) return undefined;
  switch (kind.$case) {
    case "int64Value":
      return kind.value >= BigInt(Number.MIN_SAFE_INTEGER) && kind.value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(kind.value)
        : kind.value;
    case "jsonValue":
      return JSON.parse(kind.value);
    default:
      return kind.value;
  }
}

/** Whether two Values hold the same kind and the same value, bit for bit. */
export function sameValue(a: Value | undefined, b: Value | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Buffer.from(Value.encode(a).finish()).equals(Value.encode(b).finish());
}
