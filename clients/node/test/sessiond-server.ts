// A real sessiond started for a test on a free loopback port, stopped by its pid.
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "../src/index.js";

/** A loopback address where nothing listens (a port just bound and released). */
export async function unusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return `127.0.0.1:${port}`;
}

/** The binary tests run: $SESSIOND_BIN, else /work/bin/sessiond. */
export const sessiondBin = process.env.SESSIOND_BIN ?? "/work/bin/sessiond";

/** One running sessiond (memory store) and its address. */
export class SessiondServer {
  private constructor(
    private readonly process: ChildProcess,
    private readonly dir: string,
    readonly address: string,
    private readonly metricsAddress?: string,
  ) {}

  /**
   * Starts sessiond with `flags` besides the listen, port file and store ones, and with metrics on
   * a free loopback port if `metrics`; waits for its port (10 s at most).
   */
  static async start(flags: string[] = [], metrics = false): Promise<SessiondServer> {
    const metricsAddress = metrics ? await unusedAddress() : undefined;
    if (metricsAddress) flags = [...flags, `--metrics_listen=${metricsAddress}`];
    const dir = mkdtempSync(join(tmpdir(), "sessiond-node-test-"));
    const portFile = join(dir, "port");
    const child = spawn(
      sessiondBin,
      ["--listen=127.0.0.1:0", `--port_file=${portFile}`, "--store=memory", "--drain_grace=0s", ...flags],
      {
        stdio: ["ignore", "ignore", "inherit"],
      },
    );
    for (let waited = 0; waited < 10_000; waited += 20) {
      if (child.exitCode !== null) break;
      const port = readPort(portFile);
      if (port) return new SessiondServer(child, dir, `127.0.0.1:${port}`, metricsAddress);
      await sleep(20);
    }
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${sessiondBin} did not report its port within 10 s`);
  }

  /**
   * The finished rpcs of each SessionService method ("Get", "Batch", ...), all codes summed, from
   * sessiond_rpcs_total on the /metrics page (started with `metrics` only).
   */
  async rpcCounts(): Promise<Map<string, number>> {
    const response = await fetch(`http://${this.metricsAddress}/metrics`);
    const counts = new Map<string, number>();
    for (const [, method, count] of (await response.text()).matchAll(
      /^sessiond_rpcs_total\{[^}]*method="\/sessiond\.v1\.SessionService\/(\w+)"[^}]*\} (\S+)$/gm,
    )) {
      counts.set(method, (counts.get(method) ?? 0) + Number(count));
    }
    return counts;
  }

  /** Freezes (SIGSTOP) the server so that calls hang, until resume; resolves once it is stopped. */
  async pause(): Promise<void> {
    this.process.kill("SIGSTOP");
    for (let waited = 0; waited < 2000 && !this.isStopped(); waited += 5) await sleep(5);
  }

  private isStopped(): boolean {
    const stat = readFileSync(`/proc/${this.process.pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).startsWith("T");
  }

  resume(): void {
    this.process.kill("SIGCONT");
  }

  /** Stops the server: SIGTERM, then SIGKILL after 3 s. */
  async stop(): Promise<void> {
    this.resume();
    const exited = new Promise((resolve) => this.process.once("exit", resolve));
    if (this.process.exitCode === null && this.process.kill("SIGTERM")) {
      const timer = setTimeout(() => this.process.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function readPort(file: string): string | undefined {
  try {
    const text = readFileSync(file, "utf8").trim();
    return /^\d+$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

/** The sessiond of a test file and a Client of it, valid inside its tests and once `ready` resolved. */
export interface SessiondEnv {
  server: SessiondServer;
  client: Client;
  /** Resolves once both are set: other root-level `before` hooks run concurrently and must await it. */
  ready: Promise<void>;
}

/** Starts a sessiond and a Client before the calling file's tests, and stops both after them. */
export function useSessiond(): SessiondEnv {
  let started: () => void = () => {};
  const env = { ready: new Promise<void>((resolve) => (started = resolve)) } as SessiondEnv;
  before(async () => {
    env.server = await SessiondServer.start();
    env.client = new Client(env.server.address);
    started();
  });
  after(async () => {
    env.client.close();
    await env.server.stop();
  });
  return env;
}
