// Drives headless Chromium through one origin (nginx) serving the Express, Flask, Go and Spring
// apps: one login shared by all four. test.sh starts everything and sets BASE_URL; screenshots go to
// test-artefacts/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";

const base = process.env.BASE_URL;
const artefacts = new URL("./test-artefacts/", import.meta.url).pathname;
let browser;
let page;

before(async () => {
  mkdirSync(artefacts, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
      "--disable-quic",
    ],
  });
  page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(10_000);
});

after(() => browser?.close());

/** The value of the sessiond cookie, or undefined. */
async function sessionCookie() {
  return (await page.context().cookies()).find((c) => c.name === "sessiond")
    ?.value;
}

/** Opens `path`, saves a screenshot `name`, and returns the user and the cart it shows. */
async function visit(path, name) {
  await page.goto(`${base}${path}`);
  return shown(name);
}

/** Clicks `selector` and waits for the page it leads to (a form's 303 and the GET after it). */
async function submit(selector) {
  await Promise.all([page.waitForNavigation(), page.click(selector)]);
}

async function shown(name) {
  await page.screenshot({ path: `${artefacts}${name}.png` });
  return {
    user: await page.textContent("#user"),
    cart: await page.locator("#cart li").allTextContents(),
  };
}

test("one login, shared by Express, Flask, Go and Spring through the sessiond cookie", async (t) => {
  await t.test("anonymous on both pages, with no cookie", async () => {
    assert.deepEqual(await visit("/express/", "01-express-anonymous"), {
      user: "anonymous",
      cart: [],
    });
    assert.deepEqual(await visit("/flask/", "02-flask-anonymous"), {
      user: "anonymous",
      cart: [],
    });
    assert.equal(await sessionCookie(), undefined);
  });

  let anonymousCookie;
  await t.test("adding to the cart on Flask creates the session", async () => {
    await page.fill("#item", "apple");
    await submit("#add");
    assert.deepEqual(await shown("03-flask-cart"), {
      user: "anonymous",
      cart: ["apple"],
    });
    anonymousCookie = await sessionCookie();
    assert.match(anonymousCookie, /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
  });

  await t.test(
    "logging in on Express rotates the id and keeps the cart",
    async () => {
      assert.deepEqual(await visit("/express/", "04-express-before-login"), {
        user: "anonymous",
        cart: ["apple"],
      });
      await page.fill("#login-user", "ann");
      await submit("#login");
      assert.deepEqual(await shown("05-express-logged-in"), {
        user: "ann",
        cart: ["apple"],
      });
      const rotated = await sessionCookie();
      assert.match(rotated, /^[A-Za-z0-9_-]{32}\.[A-Za-z0-9_-]{43}$/);
      assert.notEqual(rotated.slice(0, 32), anonymousCookie.slice(0, 32));
    },
  );

  await t.test(
    "Flask sees the user; adding to its cart shows on Express",
    async () => {
      assert.deepEqual(await visit("/flask/", "06-flask-logged-in"), {
        user: "ann",
        cart: ["apple"],
      });
      await page.fill("#item", "pear");
      await submit("#add");
      assert.deepEqual(await shown("07-flask-cart-2"), {
        user: "ann",
        cart: ["apple", "pear"],
      });
      assert.deepEqual(await visit("/express/", "08-express-cart-2"), {
        user: "ann",
        cart: ["apple", "pear"],
      });
    },
  );

  await t.test("the pre-login cookie is dead", async () => {
    const current = await page.context().cookies();
    const other = await browser.newContext();
    await other.addCookies(
      current.map((c) => ({
        ...c,
        value: c.name === "sessiond" ? anonymousCookie : c.value,
      })),
    );
    const stale = await other.newPage();
    await stale.goto(`${base}/express/`);
    assert.equal(await stale.textContent("#user"), "anonymous");
    await other.close();
  });

  await t.test("Go and Spring see the user and the cart", async () => {
    for (const [path, name] of [
      ["/go/", "09-go-logged-in"],
      ["/spring/", "10-spring-logged-in"],
    ]) {
      assert.deepEqual(await visit(path, name), {
        user: "ann",
        cart: ["apple", "pear"],
      });
    }
  });

  await t.test("logging out on Flask logs out on Express", async () => {
    await visit("/flask/", "11-flask-before-logout");
    await submit("#logout");
    assert.deepEqual(await shown("12-flask-logged-out"), {
      user: "anonymous",
      cart: [],
    });
    assert.equal(await sessionCookie(), undefined);
    assert.deepEqual(await visit("/express/", "13-express-logged-out"), {
      user: "anonymous",
      cart: [],
    });
  });

  await t.test("a second login on Express is seen on Spring", async () => {
    await page.fill("#login-user", "bob");
    await submit("#login");
    assert.deepEqual(await shown("14-express-logged-in-again"), {
      user: "bob",
      cart: [],
    });
    await visit("/flask/", "15-flask-logged-in-again");
    await page.fill("#item", "plum");
    await submit("#add");
    assert.deepEqual(await visit("/spring/", "16-spring-logged-in-again"), {
      user: "bob",
      cart: ["plum"],
    });
  });

  await t.test("logging out on Spring logs out everywhere", async () => {
    await submit("#logout");
    assert.deepEqual(await shown("17-spring-logged-out"), {
      user: "anonymous",
      cart: [],
    });
    assert.equal(await sessionCookie(), undefined);
    for (const [path, name] of [
      ["/express/", "18-express-logged-out"],
      ["/flask/", "19-flask-logged-out"],
      ["/go/", "20-go-logged-out"],
    ]) {
      assert.deepEqual(await visit(path, name), {
        user: "anonymous",
        cart: [],
      });
    }
  });
});
