// sessiond's Express middleware over real HTTP against a real sessiond: docs/COOKIES.md, exactly.
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import express, { NextFunction, Request, Response as ExpressResponse } from "express";
import { Client, NotFoundError, Session, newSessionId } from "../src/index.js";
import { SessiondOptions, sessiond } from "../src/express/index.js";
import { Served, serve } from "./http-app.js";
import { useSessiond } from "./sessiond-server.js";

const env = useSessiond();

/** Latches a handler can wait on, keyed by name, released by the test. */
const gates = new Map<
  string,
  { opened: Promise<void>; open: () => void; reached: () => void; arrived: Promise<void> }
>();
function gate(name: string) {
  let open = () => {};
  let reached = () => {};
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (reached = resolve));
  const g = { opened, open, reached, arrived };
  gates.set(name, g);
  return g;
}

function app(options: Partial<SessiondOptions> = {}) {
  const a = express();
  a.use(sessiond({ client: env.client, secret: "s3cret", secure: false, ...options }));
  a.get("/read", async (req, res) => {
    res.send((await req.sessiond.getString("user")) ?? "anonymous");
  });
  a.post("/write/:key/:value", async (req, res) => {
    const g = typeof req.query.gate === "string" ? gates.get(req.query.gate) : undefined;
    if (g) {
      await req.sessiond.load();
      g.reached();
      await g.opened;
    }
    req.sessiond.setString(req.params.key, req.params.value);
    if (req.query.redirect) res.redirect(303, "/read");
    else res.send("ok");
  });
  a.post("/login/:user", async (req, res) => {
    await req.sessiond.rotateId();
    req.sessiond.setString("user", req.params.user);
    res.redirect(303, "/read");
  });
  a.post("/logout", async (req, res) => {
    await req.sessiond.delete();
    res.redirect(303, "/read");
  });
  a.use((error: Error & { status?: number }, _req: Request, res: ExpressResponse, _next: NextFunction) => {
    res.status(error.status ?? 500).send(error.name);
  });
  return a;
}

const sign = (id: string, secret = "s3cret") => `${id}.${createHmac("sha256", secret).update(id).digest("base64url")}`;
const idOf = (cookie: string) => cookie.slice("sessiond=".length, "sessiond=".length + 32);

async function withApp(options: Partial<SessiondOptions>, body: (served: Served) => Promise<void>) {
  const served = await serve(app(options));
  try {
    await body(served);
  } finally {
    await served.close();
  }
}

const post = (url: string, cookie?: string) =>
  fetch(url, { method: "POST", redirect: "manual", headers: cookie ? { cookie } : {} });
const get = (url: string, cookie?: string) => fetch(url, { redirect: "manual", headers: cookie ? { cookie } : {} });

/** Logs in as `user` and returns the `sessiond=...` cookie pair. */
async function login(url: string, user: string): Promise<string> {
  const response = await post(`${url}/login/${user}`);
  const [setCookie] = response.headers.getSetCookie();
  return setCookie.split(";")[0];
}

describe("sessiond middleware", () => {
  test("an anonymous read creates nothing and sends no Set-Cookie", () =>
    withApp({}, async ({ url }) => {
      const response = await get(`${url}/read`);
      assert.equal(await response.text(), "anonymous");
      assert.deepEqual(response.headers.getSetCookie(), []);
    }));

  test("the first write creates the session and sends the signed cookie with the spec's attributes", () =>
    withApp({}, async ({ url }) => {
      const response = await post(`${url}/write/user/ann`);
      const [header, ...more] = response.headers.getSetCookie();
      assert.deepEqual(more, []);
      assert.match(header, /^sessiond=[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax$/);
      const id = idOf(header);
      assert.equal(header.split(";")[0], `sessiond=${sign(id)}`);
      assert.equal(await Session.open(env.client, id).getString("user"), "ann");
    }));

  test("defaults: Secure on, no secret means the bare id; options set Domain, Path, Max-Age, SameSite", async () => {
    await withApp({ secret: undefined, secure: undefined }, async ({ url }) => {
      const [header] = (await post(`${url}/write/a/1`)).headers.getSetCookie();
      assert.match(header, /^sessiond=[A-Za-z0-9_-]{32}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    });
    assert.throws(
      () => sessiond({ client: env.client, sameSite: "None", secure: false }),
      /SameSite=None requires secure/,
    );
    const options = { cookieName: "sid", domain: "example.test", path: "/app", maxAgeMs: 3_600_000 };
    await withApp({ ...options, sameSite: "Strict" }, async ({ url }) => {
      const [header] = (await post(`${url}/write/a/1`)).headers.getSetCookie();
      assert.match(header, /^sid=\S{76}; Path=\/app; Domain=example\.test; Max-Age=3600; HttpOnly; SameSite=Strict$/);
    });
  });

  test("an unchanged or updated session sends no Set-Cookie", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const read = await get(`${url}/read`, cookie);
      assert.equal(await read.text(), "ann");
      assert.deepEqual(read.headers.getSetCookie(), []);
      const write = await post(`${url}/write/theme/dark`, cookie);
      assert.equal(write.status, 200);
      assert.deepEqual(write.headers.getSetCookie(), []);
    }));

  test("forged, truncated or unsigned cookies count as no cookie, with no rpc for them", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const id = idOf(cookie);
      await env.server.pause();
      try {
        for (const forged of [`sessiond=${sign(id, "other")}`, `sessiond=${id}`, cookie.slice(0, -1), `${cookie}x`]) {
          const response = await get(`${url}/read`, forged);
          assert.equal(await response.text(), "anonymous", forged);
          assert.deepEqual(response.headers.getSetCookie(), []);
        }
      } finally {
        env.server.resume();
      }
    }));

  test("any configured secret verifies; the first signs", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      await withApp({ secret: ["new", "s3cret"] }, async (rotated) => {
        assert.equal(await (await get(`${rotated.url}/read`, cookie)).text(), "ann");
        const [header] = (await post(`${rotated.url}/login/bob`, cookie)).headers.getSetCookie();
        const pair = header.split(";")[0];
        assert.equal(pair, `sessiond=${sign(idOf(pair), "new")}`);
      });
    }));

  test("login rotates: a new cookie, the same data, the old id dead", () =>
    withApp({}, async ({ url }) => {
      const first = await post(`${url}/write/cart/apple`);
      const anonymous = first.headers.getSetCookie()[0].split(";")[0];
      const response = await post(`${url}/login/ann`, anonymous);
      assert.equal(response.status, 303);
      const [header] = response.headers.getSetCookie();
      const rotated = header.split(";")[0];
      assert.notEqual(idOf(rotated), idOf(anonymous));
      const session = Session.open(env.client, idOf(rotated));
      assert.equal(await session.getString("cart"), "apple");
      assert.equal(await session.getString("user"), "ann");
      await assert.rejects(Session.open(env.client, idOf(anonymous)).load(), NotFoundError);
    }));

  test("logout deletes the session and clears the cookie", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const response = await post(`${url}/logout`, cookie);
      assert.deepEqual(response.headers.getSetCookie(), [
        "sessiond=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax",
      ]);
      await assert.rejects(Session.open(env.client, idOf(cookie)).load(), NotFoundError);
    }));

  test("a cookie whose session is gone reads as empty and is cleared", () =>
    withApp({}, async ({ url }) => {
      const response = await get(`${url}/read`, `sessiond=${sign(newSessionId())}`);
      assert.equal(await response.text(), "anonymous");
      assert.match(response.headers.getSetCookie()[0], /^sessiond=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/);
    }));

  test("logging in or writing without a read with a stale cookie starts a new session", () =>
    withApp({}, async ({ url }) => {
      const stale = `sessiond=${sign(newSessionId())}`;
      for (const path of ["/login/ann", "/write/user/ann"]) {
        const [header] = (await post(`${url}${path}`, stale)).headers.getSetCookie();
        const fresh = header.split(";")[0];
        assert.notEqual(idOf(fresh), idOf(stale));
        assert.equal(await (await get(`${url}/read`, fresh)).text(), "ann");
      }
    }));

  test("a redirect after a write is sent only once the write is stored", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const g = gate("redirect");
      const response = post(`${url}/write/step/2?gate=redirect&redirect=1`, cookie);
      await g.arrived;
      await env.server.pause();
      g.open();
      let answered = false;
      void response.then(() => (answered = true));
      await sleep(300);
      assert.equal(answered, false, "the redirect went out before the commit was stored");
      env.server.resume();
      const redirect = await response;
      assert.equal(redirect.status, 303);
      assert.equal(await Session.open(env.client, idOf(cookie)).getString("step"), "2");
    }));

  test("two concurrent requests writing different keys both keep their writes", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const [a, b] = [gate("a"), gate("b")];
      const responses = [post(`${url}/write/a/1?gate=a`, cookie), post(`${url}/write/b/2?gate=b`, cookie)];
      await Promise.all([a.arrived, b.arrived]);
      a.open();
      b.open();
      assert.deepEqual(
        (await Promise.all(responses)).map((r) => r.status),
        [200, 200],
      );
      const session = Session.open(env.client, idOf(cookie));
      assert.equal(await session.getString("a"), "1");
      assert.equal(await session.getString("b"), "2");
    }));

  test("a write to a key another request changed meanwhile is a 409, and nothing of the handler's response", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const [a, b] = [gate("a"), gate("b")];
      const first = post(`${url}/write/k/1?gate=a`, cookie);
      const second = post(`${url}/write/k/2?gate=b&redirect=1`, cookie);
      await Promise.all([a.arrived, b.arrived]);
      a.open();
      assert.equal((await first).status, 200);
      b.open();
      const conflict = await second;
      assert.equal(conflict.status, 409);
      assert.equal(await conflict.text(), "ConflictError");
      assert.equal(conflict.headers.get("location"), null);
      assert.equal(await Session.open(env.client, idOf(cookie)).getString("k"), "1");
    }));

  test("the near cache is on by default: repeated reads of a session are served from it", () =>
    withApp({}, async ({ url }) => {
      const cookie = await login(url, "ann");
      const hits = env.client.nearCacheStats()?.hits ?? 0;
      for (let waited = 0; waited < 2000 && (env.client.nearCacheStats()?.hits ?? 0) === hits; waited += 10) {
        assert.equal(await (await get(`${url}/read`, cookie)).text(), "ann");
        await sleep(10);
      }
      assert.ok((env.client.nearCacheStats()?.hits ?? 0) > hits, "no read was served from the near cache");
      assert.equal(await (await post(`${url}/write/user/bob`, cookie)).text(), "ok");
      assert.equal(await (await get(`${url}/read`, cookie)).text(), "bob");
    }));

  test("nearCache: false leaves the client's cache off", async () => {
    const client = new Client(env.server.address);
    try {
      await withApp({ client, nearCache: false }, async ({ url }) => {
        const cookie = await login(url, "ann");
        assert.equal(await (await get(`${url}/read`, cookie)).text(), "ann");
        assert.equal(client.nearCacheStats(), undefined);
      });
    } finally {
      client.close();
    }
  });
});
