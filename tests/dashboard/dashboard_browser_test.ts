import assert from "node:assert/strict";
import OpenAI from "openai";
import { chromium } from "playwright-core";
import {
  addLimit,
  ADMIN_TOKEN,
  createKey,
  startTestApp,
  type TestApp,
} from "../support/app.ts";
import {
  CHROMIUM_ARGS,
  chromiumPath,
  launchBrowser,
} from "../support/browser.ts";
import { startFakeUpstream } from "../support/fake_upstream.ts";
import {
  collectErrors,
  freePort,
  gaugeValue,
  indicatorText,
  logIn,
  reportUsage,
  waitForGauge,
  waitForIndicator,
} from "./helpers.ts";

/** The bound: a change reaches the gauge within a second. */
const MOVE_WITHIN_MS = 1_000;

const BROWSER_TEST = { sanitizeOps: false, sanitizeResources: false };

/** Used tokens of one limit, as REST reports them. */
async function usedOf(app: TestApp, limitId: string): Promise<number> {
  const status = await (await app.admin("/api/quota/status")).json();
  for (const scope of status.scopes) {
    for (const limit of scope.limits) {
      if (limit.id === limitId) return limit.used + limit.reserved;
    }
  }
  throw new Error(`no limit ${limitId} in the status`);
}

Deno.test({
  ...BROWSER_TEST,
  name:
    "dashboard - loads live, and a usage report or a proxied call moves the gauge within 1 s without a reload",
  async fn() {
    const upstream = await startFakeUpstream();
    const app = await startTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: "sk-provider-test",
    });
    const browser = await launchBrowser();
    try {
      const secret = await createKey(app, "alice");
      const limit = await addLimit(app, {
        scope: "key:alice",
        metric: "tokens",
        window: "1h",
        limit: 1_000_000,
      });
      const limitId = String(limit.id);
      await logIn(browser.context, app);
      const page = await browser.newPage();
      const errors = collectErrors(page);
      let loads = 0;
      page.on("load", () => loads++);
      await page.goto(`${app.url}/`);
      await waitForIndicator(page, "live", 10_000);
      assert.equal(await page.locator(".conn-label").textContent(), "Live");
      assert.equal(await gaugeValue(page, limitId), 0);

      const report = await reportUsage(app, {
        id: "call-1",
        key: "alice",
        input: 1_200,
        output: 300,
      });
      assert.equal(report.status, 201);
      await waitForGauge(page, limitId, 1_500, MOVE_WITHIN_MS);
      // The chart reloads its rollups when updates arrive (throttled).
      await page.waitForFunction(
        () =>
          document.querySelector("[data-total=requests]")?.textContent === "1",
        undefined,
        { timeout: 3_000 },
      );
      assert.match(
        await page.locator(`[data-limit-id="${limitId}"] .limit-used`)
          .textContent() ?? "",
        /^1,500$/,
      );

      // A call through the proxy, with the official SDK.
      const client = new OpenAI({
        baseURL: `${app.url}/v1`,
        apiKey: secret,
        maxRetries: 0,
      });
      await client.chat.completions.create({
        model: "gpt-5-mini",
        messages: [{ role: "user", content: "What colour is the sky?" }],
        max_completion_tokens: 300,
      });
      const expected = await usedOf(app, limitId);
      assert.ok(expected > 1_500, "the proxied call counted");
      await waitForGauge(page, limitId, expected, MOVE_WITHIN_MS);
      // The proxied call shows in the recent calls, with the provider's own quota.
      await page.waitForSelector("table.recent td code:text('gpt-5-mini')", {
        timeout: MOVE_WITHIN_MS,
      });
      // The provider's own quota, from the headers of its answer.
      await page.waitForSelector("[data-upstream]", { timeout: 2_000 });
      assert.equal(loads, 1, "the page was never reloaded");
      assert.deepEqual(errors, []);
      await page.close();
    } finally {
      await browser.close();
      await app.close();
      await upstream.close();
    }
  },
});

Deno.test({
  ...BROWSER_TEST,
  name:
    "dashboard - the server stops: reconnecting with the attempt number; it returns on the same port and data: live with current numbers, nothing counted twice",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "qm-dashboard-" });
    const settings = { QUOTA_DATA_DIR: dataDir, PORT: String(freePort()) };
    let app: TestApp | null = await startTestApp(settings);
    const browser = await launchBrowser();
    try {
      await createKey(app, "bob");
      const limit = await addLimit(app, {
        scope: "key:bob",
        metric: "tokens",
        window: "1h",
        limit: 1_000_000,
      });
      const limitId = String(limit.id);
      await reportUsage(app, {
        id: "before",
        key: "bob",
        input: 700,
        output: 0,
      });
      await logIn(browser.context, app);
      const page = await browser.newPage();
      await page.goto(`${app.url}/`);
      await waitForIndicator(page, "live", 10_000);
      await waitForGauge(page, limitId, 700, 2_000);

      await app.close();
      app = null;
      await waitForIndicator(page, "reconnecting", 5_000);
      assert.match(
        await indicatorText(page),
        /Reconnecting (in \d+ s|now) \(attempt \d+\)/,
      );
      // The numbers on screen are marked as not live.
      await page.waitForSelector("main[data-stale=true]", { timeout: 5_000 });

      app = await startTestApp(settings);
      // Once it is back, the page reconnects by itself (the backoff caps the wait).
      await waitForIndicator(page, "live", 15_000);
      await page.waitForSelector("main[data-stale=false]", { timeout: 2_000 });
      await waitForGauge(page, limitId, 700, 2_000);

      // A retry of the first report is a duplicate; a new one adds once.
      const again = await reportUsage(app, {
        id: "before",
        key: "bob",
        input: 700,
        output: 0,
      });
      assert.equal(again.body.status, "duplicate");
      await reportUsage(app, {
        id: "after",
        key: "bob",
        input: 250,
        output: 50,
      });
      await waitForGauge(page, limitId, 1_000, MOVE_WITHIN_MS);
      assert.equal(await usedOf(app, limitId), 1_000);
      await page.close();
    } finally {
      await browser.close();
      await app?.close();
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  ...BROWSER_TEST,
  name:
    "dashboard - login: the page asks for the token, a wrong one is refused with a message, the right one opens the live dashboard, logout closes it",
  async fn() {
    const app = await startTestApp();
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${app.url}/`);
      assert.equal(new URL(page.url()).pathname, "/login");

      await page.fill("#token", "not-the-admin-token-at-all");
      const [refused] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith("/login")),
        page.click("button[type=submit]"),
      ]);
      assert.equal(refused.status(), 401);
      assert.match(
        await page.locator("[role=alert]").textContent() ?? "",
        /not the admin token/,
      );

      await page.fill("#token", ADMIN_TOKEN);
      await page.click("button[type=submit]");
      await page.waitForURL(`${app.url}/`, { timeout: 5_000 });
      await waitForIndicator(page, "live", 10_000);
      const cookies = await browser.context.cookies(app.url);
      const session = cookies.find((c) => c.name === "qm_session");
      assert.ok(session, "the login set the session cookie");
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, "Strict");
      assert.notEqual(session.value, ADMIN_TOKEN);

      await page.click("text=Log out");
      await page.waitForURL(`${app.url}/login`, { timeout: 5_000 });
      await page.goto(`${app.url}/test-quota`);
      assert.equal(new URL(page.url()).pathname, "/login");
      assert.equal(new URL(page.url()).searchParams.get("next"), "/test-quota");
      await page.close();
    } finally {
      await browser.close();
      await app.close();
    }
  },
});

Deno.test({
  ...BROWSER_TEST,
  name:
    "dashboard - without JavaScript the first HTML shows the snapshot: gauges, numbers and recent calls",
  async fn() {
    const app = await startTestApp({ QUOTA_PUBLIC_DASHBOARD: "true" });
    const browser = await chromium.launch({
      executablePath: chromiumPath(),
      headless: true,
      args: CHROMIUM_ARGS,
    });
    try {
      await createKey(app, "carol");
      const limit = await addLimit(app, {
        scope: "key:carol",
        metric: "requests",
        window: "1m",
        limit: 10,
      });
      await reportUsage(app, { id: "c1", key: "carol", input: 10, output: 5 });
      await reportUsage(app, { id: "c2", key: "carol", input: 10, output: 5 });
      const context = await browser.newContext({ javaScriptEnabled: false });
      const page = await context.newPage();
      await page.goto(`${app.url}/`);
      const gauge = page.locator(
        `[data-limit-id="${limit.id}"] [role=meter]`,
      );
      assert.equal(await gauge.getAttribute("aria-valuenow"), "2");
      assert.equal(await gauge.getAttribute("aria-valuemax"), "10");
      assert.match(
        await page.locator(`[data-limit-id="${limit.id}"]`).textContent() ??
          "",
        /2 of 10 requests/,
      );
      assert.equal(await page.locator("table.recent tbody tr").count(), 2);
      assert.ok(await page.locator(".noscript-banner").isVisible());
      assert.equal(
        await page.evaluate(() => document.documentElement.dataset.islands),
        undefined,
      );
      await context.close();
    } finally {
      await browser.close();
      await app.close();
    }
  },
});

Deno.test({
  ...BROWSER_TEST,
  name:
    "test-quota - shows a REST round trip and the socket live, then explains the failure when the server stops",
  async fn() {
    let app: TestApp | null = await startTestApp();
    const browser = await launchBrowser();
    try {
      await logIn(browser.context, app);
      const page = await browser.newPage();
      const errors = collectErrors(page);
      await page.goto(`${app.url}/test-quota`);
      await waitForIndicator(page, "live", 10_000);
      await page.waitForSelector("[data-testid=rest-result][data-outcome=ok]", {
        timeout: 10_000,
      });
      assert.match(
        await page.locator("[data-testid=rest-result]").textContent() ?? "",
        /^HTTP 200 in \d+ ms$/,
      );
      assert.equal(
        await page.locator("[data-testid=origin-verdict]").textContent(),
        "this origin is allowed",
      );
      await page.waitForSelector("[data-testid=last-message] code", {
        timeout: 5_000,
      });
      assert.equal(
        await page.locator("[data-testid=last-message] code").textContent(),
        "snapshot",
      );
      assert.deepEqual(errors, []);

      await app.close();
      app = null;
      await waitForIndicator(page, "reconnecting", 5_000);
      await page.waitForSelector(
        "[data-testid=rest-result][data-outcome=network]",
        { timeout: 10_000 },
      );
      assert.match(
        await page.locator("[data-testid=socket-explanation]").textContent() ??
          "",
        /cannot be reached: it is down or restarting/,
      );
      assert.match(
        await page.locator("[data-testid=rest-explanation]").textContent() ??
          "",
        /could not reach/,
      );
      await page.close();
    } finally {
      await browser.close();
      await app?.close();
    }
  },
});

Deno.test({
  ...BROWSER_TEST,
  name:
    "test-quota - a page whose API origin does not allow it: the socket is refused and the page says to add it to CORS_ORIGINS",
  async fn() {
    const api = await startTestApp({ QUOTA_PUBLIC_DASHBOARD: "true" });
    const front = await startTestApp({
      QUOTA_PUBLIC_DASHBOARD: "true",
      QUOTA_API_ORIGIN: api.url,
    });
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${front.url}/test-quota`);
      assert.equal(
        await page.locator("[data-testid=api-origin]").textContent(),
        api.url,
      );
      assert.equal(
        await page.locator("[data-testid=origin-verdict]").textContent(),
        "this origin is NOT allowed",
      );
      await waitForIndicator(page, "reconnecting", 10_000);
      const explanation = page.locator("[data-testid=socket-explanation]");
      await explanation.waitFor({ timeout: 5_000 });
      assert.match(
        await explanation.textContent() ?? "",
        new RegExp(`refuses sockets from ${front.url}.*CORS_ORIGINS`),
      );
      await page.close();
    } finally {
      await browser.close();
      await front.close();
      await api.close();
    }
  },
});
