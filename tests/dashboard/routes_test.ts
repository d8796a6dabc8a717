import assert from "node:assert/strict";
import {
  addLimit,
  ADMIN_TOKEN,
  createKey,
  startTestApp,
} from "../support/app.ts";
import { reportUsage } from "./helpers.ts";

function loginForm(token: string, next?: string): RequestInit {
  const body = new URLSearchParams({ token });
  if (next !== undefined) body.set("next", next);
  return { method: "POST", body, redirect: "manual" };
}

Deno.test("dashboard routes - with an admin token the pages send a browser without the cookie to /login", async () => {
  const app = await startTestApp();
  try {
    const home = await fetch(`${app.url}/`, { redirect: "manual" });
    await home.body?.cancel();
    assert.equal(home.status, 303);
    assert.equal(home.headers.get("location"), "/login");
    const diag = await fetch(`${app.url}/test-quota`, { redirect: "manual" });
    await diag.body?.cancel();
    assert.equal(diag.status, 303);
    assert.equal(diag.headers.get("location"), "/login?next=%2Ftest-quota");
    const form = await fetch(`${app.url}/login`);
    assert.equal(form.status, 200);
    assert.match(await form.text(), /<input[^>]+name="token"/);
  } finally {
    await app.close();
  }
});

Deno.test("dashboard routes - a wrong or empty token gets 401 and a message; the right one sets the cookie and redirects", async () => {
  const app = await startTestApp();
  try {
    const wrong = await fetch(
      `${app.url}/login`,
      loginForm("wrong-token-0000000000"),
    );
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get("set-cookie"), null);
    assert.match(await wrong.text(), /not the admin token/);
    const empty = await fetch(`${app.url}/login`, loginForm(""));
    assert.equal(empty.status, 401);
    assert.match(await empty.text(), /Enter the admin token/);

    const right = await fetch(
      `${app.url}/login`,
      loginForm(ADMIN_TOKEN, "/test-quota"),
    );
    await right.body?.cancel();
    assert.equal(right.status, 303);
    assert.equal(right.headers.get("location"), "/test-quota");
    const cookie = right.headers.get("set-cookie") ?? "";
    const value = /^qm_session=([^;]+);/.exec(cookie)?.[1] ?? "";
    assert.match(value, /^\d+\.[0-9a-f]{64}$/);
    assert.equal(
      cookie,
      `qm_session=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000`,
    );
    assert.ok(
      !cookie.includes(ADMIN_TOKEN),
      "the cookie never holds the token",
    );

    const page = await fetch(`${app.url}/`, {
      headers: { cookie: `qm_session=${value}` },
    });
    assert.equal(page.status, 200);
    await page.body?.cancel();

    const behindTls = await fetch(`${app.url}/login`, {
      ...loginForm(ADMIN_TOKEN, "//evil.example/"),
      headers: { "x-forwarded-proto": "https" },
    });
    await behindTls.body?.cancel();
    assert.equal(behindTls.headers.get("location"), "/");
    assert.match(behindTls.headers.get("set-cookie") ?? "", /; Secure$/);

    const logout = await fetch(`${app.url}/logout`, {
      method: "POST",
      redirect: "manual",
      headers: { cookie: `qm_session=${value}` },
    });
    await logout.body?.cancel();
    assert.equal(logout.status, 303);
    assert.equal(logout.headers.get("location"), "/login");
    assert.match(
      logout.headers.get("set-cookie") ?? "",
      /^qm_session=;.*Max-Age=0/,
    );
  } finally {
    await app.close();
  }
});

Deno.test("dashboard routes - the first HTML holds the same status as GET /api/quota/status", async () => {
  const app = await startTestApp({ QUOTA_PUBLIC_DASHBOARD: "true" });
  try {
    await createKey(app, "dora");
    const limit = await addLimit(app, {
      scope: "key:dora",
      metric: "tokens",
      window: "1h",
      limit: 10_000,
    });
    await reportUsage(app, {
      id: "d1",
      key: "dora",
      input: 7_000,
      output: 1_500,
    });
    const rest = await (await app.admin("/api/quota/status")).json();
    const restLimit = rest.scopes.flatMap((s: { limits: unknown[] }) =>
      s.limits
    )
      .find((l: { id: string }) => l.id === limit.id);
    const html = await (await fetch(`${app.url}/`)).text();
    const row = html.slice(html.indexOf(`data-limit-id="${limit.id}"`));
    assert.match(row, new RegExp(`aria-valuenow="${restLimit.used}"`));
    assert.match(row, /data-state="warning"/);
    assert.match(row, /8,500<\/strong> of 10,000 tokens/);
    assert.equal(restLimit.state, "warning");
    assert.match(html, /<table class="recent">/);
    // Public: no login needed and /login goes back to the dashboard.
    const login = await fetch(`${app.url}/login`, { redirect: "manual" });
    await login.body?.cancel();
    assert.equal(login.status, 303);
    assert.equal(login.headers.get("location"), "/");
  } finally {
    await app.close();
  }
});

Deno.test("dashboard routes - with a separate API origin the page may connect to it (CSP) and the island is told where", async () => {
  const app = await startTestApp({
    QUOTA_PUBLIC_DASHBOARD: "true",
    QUOTA_API_ORIGIN: "https://quota-api.example.com",
  });
  try {
    const response = await fetch(`${app.url}/`);
    const csp = response.headers.get("content-security-policy") ?? "";
    assert.match(
      csp,
      /connect-src [^;]*https:\/\/quota-api\.example\.com wss:\/\/quota-api\.example\.com/,
    );
    assert.match(csp, /script-src 'self' 'nonce-/);
    assert.match(await response.text(), /quota-api\.example\.com/);
  } finally {
    await app.close();
  }
});
