// The benchmarked web tier: a minimal Express app whose GET /hit reads the session and writes one
// key, and whose GET /read only reads it. BACKEND picks the session layer: "store" (express-session
// + sessiond's SessiondStore), "middleware" (sessiond's own middleware) or "redis" (express-session
// + connect-redis); NEAR_CACHE=off turns the sessiond glue's near cache off (default on).
// Environment: PORT, BACKEND, NEAR_CACHE, SESSIOND_ADDR (store, middleware) or REDIS_URL (redis).
import express from "express";
import session from "express-session";

const app = express();
const backend = process.env.BACKEND;
const nearCache = process.env.NEAR_CACHE === "off" ? false : undefined;

/** express-session over `store`, configured alike for both stores. */
const expressSession = (store, genid) =>
  session({
    store,
    genid,
    secret: "bench",
    resave: false,
    saveUninitialized: false,
    cookie: { secure: false },
  });

if (backend === "middleware") {
  const { Client } = await import("sessiond");
  const { sessiond } = await import("sessiond/express");
  app.use(
    sessiond({
      client: new Client(process.env.SESSIOND_ADDR),
      secret: "bench",
      secure: false,
      nearCache,
    }),
  );
  app.post("/login", (req, res) => {
    req.sessiond.setString("user", "bench");
    res.send("ok");
  });
  app.get("/hit", async (req, res) => {
    const hits = (await req.sessiond.getInt("hits")) ?? 0n;
    req.sessiond.setInt("hits", hits + 1n);
    res.send(String(hits + 1n));
  });
  app.get("/read", async (req, res) => {
    res.send(String((await req.sessiond.getInt("hits")) ?? 0n));
  });
} else {
  if (backend === "store") {
    const { Client } = await import("sessiond");
    const { SessiondStore } = await import("sessiond/express-session");
    app.use(
      expressSession(
        new SessiondStore({
          client: new Client(process.env.SESSIOND_ADDR),
          nearCache,
        }),
        SessiondStore.genid,
      ),
    );
  } else if (backend === "redis") {
    const { createClient } = await import("redis");
    const { RedisStore } = await import("connect-redis");
    const redis = createClient({ url: process.env.REDIS_URL });
    await redis.connect();
    app.use(expressSession(new RedisStore({ client: redis })));
  } else {
    throw new Error(
      `BACKEND must be store, middleware or redis, not ${backend}`,
    );
  }
  app.post("/login", (req, res) => {
    req.session.user = "bench";
    res.send("ok");
  });
  app.get("/hit", (req, res) => {
    req.session.hits = (req.session.hits ?? 0) + 1;
    res.send(String(req.session.hits));
  });
  app.get("/read", (req, res) => {
    res.send(String(req.session.hits ?? 0));
  });
}

const port = Number(process.env.PORT);
app.listen(port, "127.0.0.1", () =>
  console.log(`bench app (${backend}) on 127.0.0.1:${port}`),
);
