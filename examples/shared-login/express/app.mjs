// The Express half of the shared-login example: logs a user in (rotating the session id) with
// sessiond's own middleware and shows the user and the cart the Flask app keeps in the same session.
// Configuration from the environment: SESSIOND_ADDR (host:port), PORT, SESSION_SECRET,
// COOKIE_SECURE (0 for plain http in local runs).
import express from "express";
import { Client } from "sessiond";
import { sessiond } from "sessiond/express";

const escape = (text) =>
  String(text).replace(
    /[&<>"']/g,
    (c) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[
        c
      ],
  );

const page = (user, cart) => `<!doctype html>
<html><head><meta charset="utf-8"><title>Express</title></head>
<body>
<p id="user">${escape(user)}</p>
<ul id="cart">${cart.map((item) => `<li>${escape(item)}</li>`).join("")}</ul>
<form method="post" action="/express/login">
  <input name="user" id="login-user"><button type="submit" id="login">Log in</button>
</form>
</body></html>
`;

const app = express();
app.use(express.urlencoded({ extended: false }));
app.use(
  sessiond({
    client: new Client(process.env.SESSIOND_ADDR),
    secret: process.env.SESSION_SECRET,
    secure: process.env.COOKIE_SECURE !== "0",
  }),
);

app.get("/express/", async (req, res) => {
  const user = (await req.sessiond.getString("user")) ?? "anonymous";
  const cart = await req.sessiond.getJson("cart");
  const items = Array.isArray(cart)
    ? cart.filter((item) => typeof item === "string")
    : [];
  res.type("html").send(page(user, items));
});

app.post("/express/login", async (req, res) => {
  await req.sessiond.rotateId();
  req.sessiond.setString("user", String(req.body.user ?? ""));
  res.redirect(303, "/express/");
});

const port = Number(process.env.PORT);
app.listen(port, "127.0.0.1", () =>
  console.log(`express: listening on 127.0.0.1:${port}`),
);
