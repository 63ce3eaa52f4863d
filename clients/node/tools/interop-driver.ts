// The Node driver of the cross-language matrix: tests/interop/README.md's commands over the
// public Session API. Usage: interop-driver write VECTORS | read VECTORS ID |
// commit-after-go ID KEY VALUE, with the server at $SESSIOND_ADDR.
import { createInterface } from "node:readline";
import { Client, ConflictError, Session } from "../src/index.js";
import { mismatches, readVectors, setVectors } from "./vectors.js";

async function main(args: string[], client: Client): Promise<number> {
  const [command, ...rest] = args;
  if (command === "write" && rest.length === 1) {
    const session = Session.start(client);
    setVectors(session, readVectors(rest[0]));
    await session.commit();
    console.log(session.id);
    return 0;
  }
  if (command === "read" && rest.length === 2) {
    const problems = await mismatches(Session.open(client, rest[1]), readVectors(rest[0]));
    for (const problem of problems) console.error(problem);
    return problems.length === 0 ? 0 : 1;
  }
  if (command === "commit-after-go" && rest.length === 3) {
    const [id, key, value] = rest;
    const session = Session.open(client, id);
    await session.load();
    console.log(`loaded ${session.info?.version}`);
    await lineGo();
    session.setString(key, value);
    try {
      await session.commit();
      console.log(`committed ${session.info?.version}`);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      console.log(`conflict ${error.conflictingKeys.join(",")}`);
    }
    return 0;
  }
  console.error("usage: write VECTORS | read VECTORS ID | commit-after-go ID KEY VALUE");
  return 1;
}

/** Resolves when stdin brings a line "go"; rejects if stdin ends first. */
async function lineGo(): Promise<void> {
  for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "go") return;
  throw new Error('stdin ended before a line "go"');
}

const address = process.env.SESSIOND_ADDR;
if (!address) {
  console.error("SESSIOND_ADDR is not set");
  process.exit(1);
}
const client = new Client(address);
main(process.argv.slice(2), client).then(
  (code) => {
    client.close();
    process.exitCode = code;
  },
  (error: unknown) => {
    client.close();
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
