// Measures one running bench app: logs in 2 × CONNECTIONS sessions (no two requests of one
// session overlap), then runs autocannon for DURATION seconds on GET /hit (MIX=write: every
// request reads the session and writes one key) or on 80 % GET /read and 20 % GET /hit
// (MIX=read-mostly), and prints one JSON line: requests/s, latency, non-2xx count, and CPU per
// request of the web tier (APP_PID) and of the session server (SERVER_PID), from
// /proc/<pid>/stat (utime + stime).
// Environment: URL, APP_PID, SERVER_PID, NAME, MIX, NEAR_CACHE, CONNECTIONS, DURATION, WARMUP, CLK_TCK.
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import autocannon from "autocannon";

const { URL: url, NAME: name } = process.env;
const mix = process.env.MIX ?? "write";
const readShare = { write: 0, "read-mostly": 0.8 }[mix];
if (readShare === undefined)
  throw new Error(`MIX must be write or read-mostly, not ${mix}`);
const connections = Number(process.env.CONNECTIONS ?? 32);
const duration = Number(process.env.DURATION ?? 10);
const warmup = Number(process.env.WARMUP ?? 2);
const ticksPerSecond = Number(process.env.CLK_TCK ?? 100);

/** CPU seconds `pid` used so far (user + system). */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

async function login() {
  const response = await fetch(`${url}/login`, { method: "POST" });
  const [cookie] = response.headers.getSetCookie();
  if (!response.ok || !cookie)
    throw new Error(`login failed: ${response.status}`);
  return cookie.split(";")[0];
}

/**
 * Runs autocannon for `seconds` on GET /read (a `readShare` of the requests, at random) and GET /hit. Each request borrows a session cookie from `idle` and
 * gives it back with its response, so that no two requests of one session ever overlap (autocannon
 * resets a connection's context after each pass over its request list, so cookies cannot be pinned
 * to connections).
 */
function run(seconds, idle) {
  return autocannon({
    url: `${url}/hit`,
    connections,
    duration: seconds,
    requests: [
      {
        setupRequest: (request, context) => {
          context.cookie = idle.pop();
          if (!context.cookie) throw new Error("no idle session left");
          return {
            ...request,
            path: Math.random() < readShare ? "/read" : "/hit",
            headers: { ...request.headers, cookie: context.cookie },
          };
        },
        onResponse: (_status, _body, context) => idle.push(context.cookie),
      },
    ],
  });
}

// Twice as many sessions as connections: a request that gets no response keeps its cookie.
const cookies = [];
for (let i = 0; i < 2 * connections; i++) cookies.push(await login());
await run(warmup, cookies);
// Requests the warm-up left in flight still run in the app: let them end before measuring.
await sleep(1000);
const pids = [process.env.APP_PID, process.env.SERVER_PID];
const before = pids.map(cpuSeconds);
const result = await run(duration, cookies);
const used = pids.map((pid, i) => cpuSeconds(pid) - before[i]);
const requests = result.requests.total;
console.log(
  JSON.stringify({
    name,
    mix,
    nearCache: process.env.NEAR_CACHE ?? "",
    connections,
    seconds: duration,
    requests,
    requestsPerSecond: Math.round(requests / duration),
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    statusCodes: Object.fromEntries(
      Object.entries(result.statusCodeStats).map(([code, { count }]) => [
        code,
        count,
      ]),
    ),
    errors: result.errors,
    webCpuUsPerRequest: Math.round((used[0] / requests) * 1e6),
    serverCpuUsPerRequest: Math.round((used[1] / requests) * 1e6),
  }),
);
