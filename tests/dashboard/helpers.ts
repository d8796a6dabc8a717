/**
 * Shared steps of the dashboard's browser tests: logging a browser in,
 * reporting usage, reading gauges, and waiting on the page with a bound.
 *
 * @module
 */

import type { BrowserContext, Page } from "playwright-core";
import { SESSION_COOKIE } from "../../lib/http/auth.ts";
import type { TestApp } from "../support/app.ts";

/** Gives a browser context the login cookie of an instance, as /login would. */
export async function logIn(context: BrowserContext, app: TestApp) {
  await context.addCookies([{
    name: SESSION_COOKIE,
    value: await app.services.auth.sessionValue(),
    url: app.url,
    httpOnly: true,
    sameSite: "Strict",
  }]);
}

/** Reports one call's usage through POST /api/quota/usage with the admin token. */
export async function reportUsage(
  app: TestApp,
  report: {
    id: string;
    key: string;
    model?: string;
    input: number;
    output: number;
  },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.admin("/api/quota/usage", {
    method: "POST",
    body: JSON.stringify({
      id: report.id,
      key: report.key,
      model: report.model ?? "gpt-4o-mini",
      input_tokens: report.input,
      output_tokens: report.output,
    }),
  });
  return { status: response.status, body: await response.json() };
}

/** A CSS selector for the gauge of the limit with this id. */
export function gaugeSelector(limitId: string): string {
  return `[data-limit-id="${limitId.replaceAll('"', '\\"')}"] [role=meter]`;
}

/** The gauge's aria-valuenow, or null when the gauge is not on the page. */
export async function gaugeValue(
  page: Page,
  limitId: string,
): Promise<number | null> {
  const value = await page.locator(gaugeSelector(limitId)).getAttribute(
    "aria-valuenow",
    { timeout: 2_000 },
  );
  return value === null ? null : Number(value);
}

/** Waits (at most `timeoutMs`) until the gauge's aria-valuenow equals `expected`. */
export async function waitForGauge(
  page: Page,
  limitId: string,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  await page.waitForFunction(
    ({ selector, expected }) =>
      document.querySelector(selector)?.getAttribute("aria-valuenow") ===
        String(expected),
    { selector: gaugeSelector(limitId), expected },
    { timeout: timeoutMs, polling: 25 },
  );
}

/** Waits (at most `timeoutMs`) until the connection indicator is in `state`. */
export async function waitForIndicator(
  page: Page,
  state: string,
  timeoutMs: number,
): Promise<void> {
  await page.waitForSelector(`[role=status][data-state="${state}"]`, {
    timeout: timeoutMs,
  });
}

/** The words of the connection indicator. */
export async function indicatorText(page: Page): Promise<string> {
  return (await page.locator("[role=status]").textContent({
    timeout: 2_000,
  })) ?? "";
}

/** A loopback port that was free a moment ago (for a server restarted in place). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Collects page errors and console errors, to assert that there were none. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    // Chromium asks for /favicon.ico on its own; the app has none.
    if (message.location().url.endsWith("/favicon.ico")) return;
    errors.push(message.text());
  });
  return errors;
}
