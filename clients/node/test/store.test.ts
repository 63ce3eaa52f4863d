// The express-session Store over real HTTP against a real sessiond.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import express, { NextFunction, Request, Response } from "express";
import session from "express-session";
import { Client, NotFoundError, Session } from "../src/index.js";
import { SessiondStore } from "../src/express-session/index.js";
import { Served, cookiePairs, serve } from "./http-app.js";
import { useSessiond } from "./sessiond-server.js";

declare module "express-session" {
  interface SessionData {
    user: string;
    visits: number;
    cart: string[];
    [key: string]: unknown;
  }
}

const env = useSessiond();
let served: Served;
const arrivals = new Map<string, () => void>();
const releases = new Map<string, Promise<void>>();

before(async () => {
  await env.ready;
  const app = express();
  app.use(
    session({
      store: new SessiondStore({ client: env.client }),
      genid: SessiondStore.genid,
      secret: "s3cret",
      name: "sid",
      resave: false,
      saveUninitialized: false,
      cookie: { secure: false, sameSite: "lax" },
    }),
  );
  app.get("/", (req, res) => {
    res.json({ user: req.session.user ?? null, visits: req.session.visits ?? 0, cart: req.session.cart ?? [] });
  });
  app.post("/set/:key/:value", async (req, res, next) => {
    arrivals.get(req.params.key)?.();
    await releases.get(req.params.key);
    req.session[req.params.key] = req.params.value;
    // express-session writes the status line before its own save ends: save first to answer an error.
    req.session.save((error) => (error ? next(error) : res.send("ok")));
  });
  app.post("/visit", (req, res) => {
    req.session.visits = (req.session.visits ?? 0) + 1;
    req.session.cart = [...(req.session.cart ?? []), "apple"];
    res.send("ok");
  });
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.send("bye")));
  });
  app.use((error: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(error.status ?? 500).send(error.name);
  });
  served = await serve(app);
});

after(async () => {
  await served.close();
});

const sessionIdOf = (cookie: string) =>
  decodeURIComponent(cookie.slice("sid=".length)).slice("s:".length, "s:".length + 32);
/**
 * POSTs to `path` and reads the whole response: express-session sends the status line before its
 * save ends, and the body's end only after it.
 */
async function post(path: string, cookie?: string) {
  const response = await fetch(`${served.url}${path}`, { method: "POST", headers: cookie ? { cookie } : {} });
  return { status: response.status, body: await response.text(), cookies: cookiePairs(response) };
}

describe("SessiondStore", () => {
  test("an anonymous hit stores nothing; the first write creates a session under the genid id", async () => {
    assert.deepEqual((await fetch(served.url)).headers.getSetCookie(), []);
    const [cookie] = (await post("/visit")).cookies;
    const id = sessionIdOf(cookie);
    assert.match(id, /^[A-Za-z0-9_-]{32}$/);
    const stored = Session.open(env.client, id);
    assert.equal(await stored.getInt("visits"), 1n);
    assert.deepEqual(await stored.getJson("cart"), ["apple"]);
    const storedCookie = (await stored.getJson("cookie")) as Record<string, unknown>;
    assert.equal(storedCookie.sameSite, "lax");
    assert.equal(storedCookie.path, "/");
  });

  test("values round-trip typed across requests, and other languages' writes read back", async () => {
    const [cookie] = (await post("/visit")).cookies;
    await post("/visit", cookie);
    const other = Session.open(env.client, sessionIdOf(cookie));
    other.setString("user", "written-by-another-tier");
    await other.commit();
    const body = (await (await fetch(served.url, { headers: { cookie } })).json()) as Record<string, unknown>;
    assert.deepEqual(body, { user: "written-by-another-tier", visits: 2, cart: ["apple", "apple"] });
  });

  test("a save commits only the changed keys, so writes by other tiers meanwhile survive", async () => {
    const [cookie] = (await post("/visit")).cookies;
    const id = sessionIdOf(cookie);
    let arrived: () => void = () => {};
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    let release: () => void = () => {};
    arrivals.set("note", arrived);
    releases.set("note", new Promise((resolve) => (release = resolve)));
    const response = post("/set/note/hello", cookie);
    await reached;
    const other = Session.open(env.client, id);
    other.setString("user", "bob");
    await other.commit();
    release();
    assert.equal((await response).status, 200);
    const stored = Session.open(env.client, id);
    assert.equal(await stored.getString("note"), "hello");
    assert.equal(await stored.getString("user"), "bob");
    assert.equal(await stored.getInt("visits"), 1n);
  });

  test("two concurrent requests writing different keys both keep their writes", async () => {
    const [cookie] = (await post("/visit")).cookies;
    const waits = ["a", "b"].map((key) => {
      let release: () => void = () => {};
      releases.set(key, new Promise((resolve) => (release = resolve)));
      return { key, release, reached: new Promise<void>((resolve) => arrivals.set(key, resolve)) };
    });
    const responses = waits.map(({ key }) => post(`/set/${key}/${key}-value`, cookie));
    await Promise.all(waits.map((w) => w.reached));
    for (const w of waits) w.release();
    assert.deepEqual(
      (await Promise.all(responses)).map((r) => r.status),
      [200, 200],
    );
    const stored = Session.open(env.client, sessionIdOf(cookie));
    assert.equal(await stored.getString("a"), "a-value");
    assert.equal(await stored.getString("b"), "b-value");
  });

  test("two concurrent requests writing the same key: the second fails with 409", async () => {
    const [cookie] = (await post("/visit")).cookies;
    let release: () => void = () => {};
    const reached = new Promise<void>((resolve) => arrivals.set("same", resolve));
    releases.set("same", new Promise((resolve) => (release = resolve)));
    const slow = post("/set/same/slow", cookie);
    await reached;
    arrivals.delete("same");
    releases.delete("same");
    assert.equal((await post("/set/same/fast", cookie)).status, 200);
    release();
    const conflict = await slow;
    assert.equal(conflict.status, 409);
    assert.equal(await Session.open(env.client, sessionIdOf(cookie)).getString("same"), "fast");
  });

  test("destroy deletes the session", async () => {
    const [cookie] = (await post("/visit")).cookies;
    assert.equal((await post("/logout", cookie)).body, "bye");
    await assert.rejects(Session.open(env.client, sessionIdOf(cookie)).load(), NotFoundError);
    const body = (await (await fetch(served.url, { headers: { cookie } })).json()) as Record<string, unknown>;
    assert.equal(body.visits, 0);
  });

  test("get of an unknown, malformed or deleted id is no session, touch of one is no error", async () => {
    const store = new SessiondStore({ client: env.client });
    const get = promisify(store.get.bind(store));
    const touch = promisify(store.touch.bind(store));
    for (const sid of ["not-an-id", "A".repeat(32)]) assert.equal(await get(sid), null);
    await touch("A".repeat(32), {} as never);
  });

  test("the near cache is on by default: repeated reads of a session are served from it", async () => {
    const [cookie] = (await post("/visit")).cookies;
    const hits = env.client.nearCacheStats()?.hits ?? 0;
    for (let waited = 0; waited < 2000 && (env.client.nearCacheStats()?.hits ?? 0) === hits; waited += 10) {
      const body = (await (await fetch(served.url, { headers: { cookie } })).json()) as Record<string, unknown>;
      assert.equal(body.visits, 1);
      await sleep(10);
    }
    assert.ok((env.client.nearCacheStats()?.hits ?? 0) > hits, "no read was served from the near cache");
    await post("/visit", cookie);
    const body = (await (await fetch(served.url, { headers: { cookie } })).json()) as Record<string, unknown>;
    assert.equal(body.visits, 2);
  });

  test("nearCache: false leaves the client's cache off; the default turns it on", () => {
    const client = new Client(env.server.address);
    try {
      new SessiondStore({ client, nearCache: false });
      assert.equal(client.nearCacheStats(), undefined);
      new SessiondStore({ client });
      assert.deepEqual(client.nearCacheStats(), { hits: 0, misses: 0, sessions: 0, bytes: 0 });
    } finally {
      client.close();
    }
  });
});
