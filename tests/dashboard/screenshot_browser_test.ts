import assert from "node:assert/strict";
import OpenAI from "openai";
import { addLimit, createKey, startTestApp } from "../support/app.ts";
import { launchBrowser } from "../support/browser.ts";
import { startFakeUpstream } from "../support/fake_upstream.ts";
import { logIn, reportUsage, waitForIndicator } from "./helpers.ts";

// The committed picture is rewritten only on request, so that a test run
// leaves the work tree clean: QUOTA_UPDATE_SCREENSHOT=1 deno task test.
const SCREENSHOT = Deno.env.get("QUOTA_UPDATE_SCREENSHOT") === "1"
  ? new URL("../../docs/dashboard.png", import.meta.url)
  : new URL("../.artifacts/dashboard.png", import.meta.url);

Deno.test({
  name:
    "dashboard screenshot - a gateway with traffic renders every panel, saved as a screenshot",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const upstream = await startFakeUpstream();
    // The traffic is spread over the last hour by running the server's clock
    // behind and catching up, so the chart has a shape.
    let offsetMs = -55 * 60_000;
    const app = await startTestApp({
      UPSTREAM_BASE_URL: upstream.url,
      UPSTREAM_API_KEY: "sk-provider-test",
    }, { clock: () => Date.now() + offsetMs });
    const browser = await launchBrowser();
    try {
      const secrets: Record<string, string> = {};
      for (const name of ["web-frontend", "batch-jobs", "support-bot"]) {
        secrets[name] = await createKey(app, name);
      }
      await addLimit(app, {
        scope: "gateway",
        metric: "requests",
        window: "1m",
        limit: 600,
      });
      await addLimit(app, {
        scope: "gateway",
        metric: "cost_usd",
        window: "day",
        limit: 25,
      });
      await addLimit(app, {
        scope: "key:web-frontend",
        metric: "tokens",
        window: "1h",
        limit: 45_000,
      });
      await addLimit(app, {
        scope: "key:web-frontend",
        metric: "requests",
        window: "1m",
        limit: 60,
      });
      await addLimit(app, {
        scope: "key:batch-jobs",
        metric: "tokens",
        window: "1h",
        limit: 40_000,
      });
      await addLimit(app, {
        scope: "key:support-bot",
        metric: "cost_usd",
        window: "day",
        limit: 0.05,
      });
      await addLimit(app, {
        scope: "key:web-frontend/model:gpt-4o",
        metric: "requests",
        window: "1h",
        limit: 200,
      });
      await addLimit(app, {
        scope: "model:gpt-4o",
        metric: "output_tokens",
        window: "1h",
        limit: 30_000,
      });

      // Traffic: direct reports of several sizes over the hour, then real
      // calls through the proxy at the end.
      // Tokens each key reports over the hour: web-frontend ends in the
      // warning band once the proxy calls add theirs, batch-jobs over its limit.
      const targets: Record<string, number> = {
        "web-frontend": 33_000,
        "batch-jobs": 42_500,
        "support-bot": 7_500,
      };
      const minutes = Array.from({ length: 54 }, (_, m) => m);
      const weights = minutes.map((m) =>
        1 + 0.6 * Math.sin(m / 5) + 0.3 * Math.cos(m / 2.3)
      );
      const weightSum = weights.reduce((a, b) => a + b, 0);
      let n = 0;
      for (const minute of minutes) {
        offsetMs = (-55 + minute) * 60_000;
        for (const [key, target] of Object.entries(targets)) {
          if (key === "support-bot" && minute % 3 !== 0) continue;
          const share = key === "support-bot" ? 3 : 1;
          const tokens = Math.round(
            target * share * weights[minute] / weightSum,
          );
          // Busier minutes have more calls, not only bigger ones.
          const calls = key === "support-bot"
            ? 1
            : Math.round(weights[minute] * 2);
          for (let c = 0; c < calls; c++) {
            const part = Math.round(tokens / calls);
            const input = Math.round(part * 0.74);
            const { status } = await reportUsage(app, {
              id: `shot-${n}`,
              key,
              model: key === "batch-jobs" || n % 3 === 0
                ? "gpt-4o"
                : "gpt-4o-mini",
              input,
              output: part - input,
            });
            n++;
            assert.equal(status, 201);
          }
        }
      }
      offsetMs = 0;
      const client = new OpenAI({
        baseURL: `${app.url}/v1`,
        apiKey: secrets["web-frontend"],
        maxRetries: 0,
      });
      for (let i = 0; i < 3; i++) {
        await client.chat.completions.create({
          model: "gpt-5-mini",
          messages: [{ role: "user", content: "What colour is the sky?" }],
          max_completion_tokens: 400,
        });
      }
      upstream.script({ kind: "rate_limit", retryAfterMs: "250" });
      await client.chat.completions.create({
        model: "gpt-5-mini",
        messages: [{ role: "user", content: "And the sea?" }],
        max_completion_tokens: 400,
      }).catch(() => {});

      // A stream the provider cuts: recorded with estimated numbers.
      upstream.script({ kind: "cut_stream" });
      try {
        const stream = await client.chat.completions.create({
          model: "gpt-5-mini",
          messages: [{ role: "user", content: "Tell me about the sky." }],
          max_completion_tokens: 400,
          stream: true,
        });
        for await (const _chunk of stream) {
          // Read until the cut.
        }
      } catch {
        // The cut surfaces as an error in the SDK.
      }
      // A call in flight: its reservation shades the gauges it holds against.
      const check = await app.admin("/api/quota/check", {
        method: "POST",
        body: JSON.stringify({
          key: "web-frontend",
          model: "gpt-4o",
          input_tokens: 1_800,
          max_output_tokens: 1_200,
        }),
      });
      assert.equal(check.status, 200, await check.clone().text());
      await check.body?.cancel();

      await logIn(browser.context, app);
      const page = await browser.newPage();
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.goto(`${app.url}/`);
      await waitForIndicator(page, "live", 10_000);
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
      const states = await page.locator("[data-limit-id]").evaluateAll(
        (nodes) => nodes.map((n) => n.getAttribute("data-state")),
      );
      for (const state of ["ok", "warning", "exceeded"]) {
        assert.ok(states.includes(state), `a limit is ${state}: ${states}`);
      }
      assert.ok(await page.locator("[data-upstream]").count() > 0);
      assert.ok(await page.locator("table.recent tbody tr").count() >= 8);
      assert.ok(
        await page.locator(".recent .badge", { hasText: "estimated" }).count() >
          0,
      );
      assert.ok(
        await page.locator("[data-reserved]:not([data-reserved='0'])").count() >
          0,
      );
      assert.ok(await page.locator("svg.chart rect").count() > 0);
      await page.screenshot({ path: SCREENSHOT.pathname, fullPage: true });
      const info = await Deno.stat(SCREENSHOT);
      assert.ok(info.size > 10_000);
      await page.close();
    } finally {
      await browser.close();
      await app.close();
      await upstream.close();
    }
  },
});
