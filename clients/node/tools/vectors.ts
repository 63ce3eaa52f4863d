// The typed test vectors of clients/testdata/values.json: decoding them, writing them with the
// typed setters and checking them with the typed getters. Shared by the tests and the interop driver.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual } from "node:util";
import { Session } from "../src/index.js";

/** One vector: its key, its sessiond type and its value as the typed getter returns it. */
export type Vector =
  | { key: string; type: "string"; value: string }
  | { key: string; type: "int64"; value: bigint }
  | { key: string; type: "double"; value: number }
  | { key: string; type: "bool"; value: boolean }
  | { key: string; type: "bytes"; value: Buffer }
  | { key: string; type: "json"; value: unknown };

/** The default vectors file of the repository. */
export const defaultVectorsFile = join(__dirname, "..", "..", "..", "testdata", "values.json");

type RawVector = { key: string; type: Vector["type"]; value?: unknown; bits?: string; base64?: string };

/** Reads and decodes the vectors of `file` (encoding: clients/testdata/README.md). */
export function readVectors(file = defaultVectorsFile): Vector[] {
  const raw = JSON.parse(readFileSync(file, "utf8")) as { vectors: RawVector[] };
  return raw.vectors.map((v): Vector => {
    switch (v.type) {
      case "int64":
        return { key: v.key, type: v.type, value: BigInt(v.value as string) };
      case "double":
        return { key: v.key, type: v.type, value: Buffer.from(v.bits as string, "hex").readDoubleBE() };
      case "bytes":
        return { key: v.key, type: v.type, value: Buffer.from(v.base64 as string, "base64") };
      case "string":
        return { key: v.key, type: v.type, value: v.value as string };
      case "bool":
        return { key: v.key, type: v.type, value: v.value as boolean };
      case "json":
        return { key: v.key, type: v.type, value: v.value };
    }
  });
}

/** Records every vector in `session` with the typed setter of its type. */
export function setVectors(session: Session, vectors: Vector[]): void {
  for (const v of vectors) {
    switch (v.type) {
      case "string":
        session.setString(v.key, v.value);
        break;
      case "int64":
        session.setInt(v.key, v.value);
        break;
      case "double":
        session.setDouble(v.key, v.value);
        break;
      case "bool":
        session.setBool(v.key, v.value);
        break;
      case "bytes":
        session.setBytes(v.key, v.value);
        break;
      case "json":
        session.setJson(v.key, v.value);
        break;
    }
  }
}

/**
 * One line per difference between `session` and `vectors` ("key: expected ..., got ..."): a key
 * missing or extra, or a value that does not read back through the typed getter of its type with
 * exactly that value (doubles bit for bit, any NaN equal to any NaN; json as parsed documents).
 */
export async function mismatches(session: Session, vectors: Vector[]): Promise<string[]> {
  const problems: string[] = [];
  const keys = new Set(await session.keys());
  for (const v of vectors) {
    if (!keys.delete(v.key)) {
      problems.push(`${v.key}: expected ${v.type} ${show(v.value)}, got no such key`);
      continue;
    }
    const got = await read(session, v);
    if (!equal(v, got)) problems.push(`${v.key}: expected ${v.type} ${show(v.value)}, got ${show(got)}`);
  }
  for (const key of keys) problems.push(`${key}: expected no such key, got one`);
  return problems;
}

function read(session: Session, v: Vector): Promise<unknown> {
  switch (v.type) {
    case "string":
      return session.getString(v.key);
    case "int64":
      return session.getInt(v.key);
    case "double":
      return session.getDouble(v.key);
    case "bool":
      return session.getBool(v.key);
    case "bytes":
      return session.getBytes(v.key);
    case "json":
      return session.getJson(v.key);
  }
}

function equal(v: Vector, got: unknown): boolean {
  if (v.type !== "double") return got !== undefined && isDeepStrictEqual(got, v.value);
  if (typeof got !== "number") return false;
  return (Number.isNaN(got) && Number.isNaN(v.value)) || bits(got) === bits(v.value);
}

function bits(value: number): string {
  const buffer = Buffer.alloc(8);
  buffer.writeDoubleBE(value);
  return buffer.toString("hex");
}

function show(value: unknown): string {
  if (value === undefined) return "nothing (absent or another type)";
  if (typeof value === "number") return `${value} (bits ${bits(value)})`;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Buffer) return `bytes ${value.toString("base64")}`;
  return JSON.stringify(value);
}
