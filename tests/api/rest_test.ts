import assert from "node:assert/strict";
import type { QuotaStatus } from "../../lib/quota/types.ts";
import {
  addLimit,
  ADMIN_TOKEN,
  createKey,
  startTestApp,
} from "../support/app.ts";
import type { TestApp } from "../support/app.ts";

async function withApp(
  fn: (app: TestApp) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  const app = await startTestApp(settings);
  try {
    await fn(app);
  } finally {
    await app.close();
  }
}

async function status(app: TestApp, query = ""): Promise<QuotaStatus> {
  const response = await app.admin(`/api/quota/status${query}`);
  assert.equal(response.status, 200);
  return await response.json();
}

function limitOf(s: QuotaStatus, scope: string, metric: string) {
  const found = s.scopes.find((x) => x.scope === scope)?.limits.find((l) =>
    l.metric === metric
  );
  assert.ok(found, `no ${metric} limit on ${scope}`);
  return found;
}

function report(app: TestApp, body: unknown, secret?: string) {
  return app.admin("/api/quota/usage", {
    method: "POST",
    body: JSON.stringify(body),
    headers: secret ? { authorization: `Bearer ${secret}` } : undefined,
  });
}

async function assertOpenAIError(
  response: Response,
  status: number,
  pattern?: RegExp,
): Promise<Record<string, unknown>> {
  assert.equal(response.status, status);
  const body = await response.json();
  assert.equal(typeof body.error?.message, "string");
  assert.ok(
    "type" in body.error && "code" in body.error && "param" in body.error,
  );
  assert.match(body.error.message, /\.$|\)$/);
  if (pattern) assert.match(body.error.message, pattern);
  return body.error;
}

Deno.test("rest - a usage report counts once per id, also when retried", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 10_000,
    });
    const body = {
      id: "req-7f3a",
      key: "team-a",
      model: "gpt-4o-mini",
      input_tokens: 1000,
      output_tokens: 234,
    };
    const first = await report(app, body);
    assert.equal(first.status, 201);
    assert.equal((await first.json()).status, "recorded");
    const retry = await report(app, body);
    assert.equal(retry.status, 200);
    assert.equal((await retry.json()).status, "duplicate");
    const tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.used, 1234);
    assert.equal(tokens.remaining, 10_000 - 1234);
  });
});

Deno.test("rest - a usage report takes the provider's own usage object", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    await addLimit(app, {
      scope: "key:team-a",
      metric: "input_tokens",
      window: "day",
      limit: 5000,
    });
    const response = await report(app, {
      id: "req-7f3b",
      key: "team-a",
      model: "gpt-4o-mini",
      usage: {
        prompt_tokens: 1000,
        completion_tokens: 234,
        total_tokens: 1234,
        prompt_tokens_details: { cached_tokens: 400 },
      },
    });
    assert.equal(response.status, 201);
    const cost = (await response.json()).cost_usd;
    assert.ok(cost > 0, "a known model is never billed $0");
    assert.equal(
      limitOf(await status(app), "key:team-a", "input_tokens").used,
      1000,
    );
  });
});

Deno.test("rest - a virtual key reports and sees only its own usage", async () => {
  await withApp(async (app) => {
    const a = await createKey(app, "team-a");
    await createKey(app, "team-b");
    await addLimit(app, {
      scope: "key:team-b",
      metric: "requests",
      window: "1m",
      limit: 5,
    });
    const own = await report(app, {
      id: "r1",
      model: "gpt-4o-mini",
      input_tokens: 1,
      output_tokens: 1,
    }, a);
    assert.equal(own.status, 201);
    const other = await report(app, {
      id: "r2",
      key: "team-b",
      model: "gpt-4o-mini",
      input_tokens: 1,
      output_tokens: 1,
    }, a);
    await assertOpenAIError(other, 403, /only report usage for itself/);
    const peek = await fetch(`${app.url}/api/quota/status?key=team-b`, {
      headers: { authorization: `Bearer ${a}` },
    });
    await assertOpenAIError(peek, 403);
    const mine = await fetch(`${app.url}/api/quota/status`, {
      headers: { authorization: `Bearer ${a}` },
    });
    assert.equal(mine.status, 200);
    const body: QuotaStatus = await mine.json();
    assert.ok(body.scopes.every((s) => !s.scope.includes("team-b")));
    assert.equal(
      limitOf(await status(app), "key:team-b", "requests").used,
      0,
    );
  });
});

Deno.test("rest - check holds the estimate, usage settles it, release frees it", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 1000,
    });
    const check = await app.admin("/api/quota/check", {
      method: "POST",
      body: JSON.stringify({
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 300,
        max_output_tokens: 200,
      }),
    });
    assert.equal(check.status, 200);
    assert.equal(check.headers.get("x-ratelimit-limit-tokens"), "1000");
    const admitted = await check.json();
    assert.equal(admitted.allowed, true);
    let tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.reserved, 500);
    assert.equal(tokens.used, 0);

    const settle = await report(app, {
      id: "call-1",
      key: "team-a",
      model: "gpt-4o-mini",
      reservation_id: admitted.reservation_id,
      input_tokens: 300,
      output_tokens: 50,
    });
    assert.equal(settle.status, 201);
    tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.reserved, 0);
    assert.equal(tokens.used, 350);

    const second = await (await app.admin("/api/quota/check", {
      method: "POST",
      body: JSON.stringify({
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 100,
        max_output_tokens: 100,
      }),
    })).json();
    assert.equal(
      limitOf(await status(app), "key:team-a", "tokens").reserved,
      200,
    );
    const release = await app.admin("/api/quota/release", {
      method: "POST",
      body: JSON.stringify({
        key: "team-a",
        reservation_id: second.reservation_id,
      }),
    });
    assert.equal(release.status, 200);
    assert.equal((await release.json()).released, true);
    tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.reserved, 0);
    assert.equal(tokens.used, 350);
  });
});

Deno.test("rest - an admission over the limit gets an OpenAI-shaped 429 and holds nothing", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1m",
      limit: 1000,
    });
    const response = await app.admin("/api/quota/check", {
      method: "POST",
      body: JSON.stringify({
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 900,
        max_output_tokens: 200,
      }),
    });
    const error = await assertOpenAIError(response, 429, /team-a/);
    assert.equal(error.code, "rate_limit_exceeded");
    assert.ok(Number(response.headers.get("retry-after")) >= 1);
    assert.equal(response.headers.get("x-ratelimit-limit-tokens"), "1000");
    const tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.reserved, 0);
    assert.equal(tokens.used, 0);
  });
});

const BAD_REPORTS: [string, unknown, number, RegExp?][] = [
  ["a negative count", { input_tokens: -1, output_tokens: 1 }, 400],
  ["a fractional count", { input_tokens: 1.5, output_tokens: 1 }, 400],
  ["an enormous count", { input_tokens: 1e12, output_tokens: 1 }, 400],
  ["a string count", { input_tokens: "12", output_tokens: 1 }, 400],
  [
    "cached tokens above input tokens",
    { input_tokens: 10, cached_tokens: 11, output_tokens: 1 },
    400,
  ],
  [
    "reasoning tokens above output tokens",
    { input_tokens: 10, output_tokens: 1, reasoning_tokens: 5 },
    400,
  ],
  ["an unknown field", { input_tokens: 1, output_tokens: 1, bonus: 1 }, 400],
  ["no counts at all", {}, 400],
  ["an unknown model", { model: "no-such-model-x", input_tokens: 1 }, 404],
  ["an unknown key", { key: "nobody", input_tokens: 1 }, 404],
  ["a bad key name", { key: "has space", input_tokens: 1 }, 400],
  [
    "a usage object with NaN-like values",
    { usage: { prompt_tokens: null, completion_tokens: "x" } },
    400,
  ],
];

for (const [what, fields, expected] of BAD_REPORTS) {
  Deno.test(`rest - a usage report with ${what} gets ${expected} and changes nothing`, async () => {
    await withApp(async (app) => {
      await createKey(app, "team-a");
      await addLimit(app, {
        scope: "gateway",
        metric: "requests",
        window: "day",
        limit: 100,
      });
      const before = await status(app);
      const response = await report(app, {
        id: "bad-1",
        key: "team-a",
        model: "gpt-4o-mini",
        ...(fields as Record<string, unknown>),
      });
      await assertOpenAIError(response, expected);
      const after = await status(app);
      assert.deepEqual(after.scopes, before.scopes);
      assert.equal(after.recent.length, 0);
    });
  });
}

Deno.test("rest - malformed JSON, a wrong content type and an oversized body get clear 4xx", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    const malformed = await app.admin("/api/quota/usage", {
      method: "POST",
      body: '{"id": "x", ',
    });
    await assertOpenAIError(malformed, 400, /not valid JSON/);
    const text = await app.admin("/api/quota/usage", {
      method: "POST",
      body: "id=x",
      headers: { "content-type": "text/plain" },
    });
    await assertOpenAIError(text, 415, /Content-Type: application\/json/);
    const huge = await app.admin("/api/quota/usage", {
      method: "POST",
      body: JSON.stringify({ id: "x".repeat(5000) }),
    });
    await assertOpenAIError(huge, 413, /QUOTA_MAX_BODY_BYTES/);
    assert.equal((await status(app)).recent.length, 0);
  }, { QUOTA_MAX_BODY_BYTES: "2048" });
});

Deno.test("rest - keys are shown once, stored hashed, rotated and revoked", async () => {
  await withApp(async (app) => {
    const created = await app.admin("/api/keys", {
      method: "POST",
      body: JSON.stringify({ name: "team-a" }),
    });
    assert.equal(created.status, 201);
    const { secret, prefix } = await created.json();
    assert.match(secret, /^qm-[0-9a-f]{48}$/);
    assert.ok(secret.startsWith(prefix));

    const listed = await (await app.admin("/api/keys")).json();
    assert.equal(listed.keys.length, 1);
    assert.ok(!JSON.stringify(listed).includes(secret));
    assert.ok(!("hash" in listed.keys[0]));
    const stored = await app.services.store.getKeyByName("team-a");
    assert.ok(
      stored && stored.hash !== secret && !stored.hash.includes(secret),
    );

    const again = await app.admin("/api/keys", {
      method: "POST",
      body: JSON.stringify({ name: "team-a" }),
    });
    await assertOpenAIError(again, 409, /exists already/);

    const rotated = await app.admin("/api/keys/team-a", {
      method: "PATCH",
      body: JSON.stringify({ rotate: true }),
    });
    const fresh = (await rotated.json()).secret;
    assert.notEqual(fresh, secret);
    const oldStatus = await fetch(`${app.url}/api/quota/status`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    await assertOpenAIError(oldStatus, 401);

    const revoked = await app.admin("/api/keys/team-a", { method: "DELETE" });
    assert.equal(revoked.status, 200);
    assert.ok((await revoked.json()).revokedAt);
    const afterRevoke = await fetch(`${app.url}/api/quota/status`, {
      headers: { authorization: `Bearer ${fresh}` },
    });
    await assertOpenAIError(afterRevoke, 401);

    const missing = await app.admin("/api/keys/nobody", { method: "DELETE" });
    await assertOpenAIError(missing, 404);
  });
});

Deno.test("rest - admin routes need the admin token", async () => {
  await withApp(async (app) => {
    const secret = await createKey(app, "team-a");
    const anonymous = await fetch(`${app.url}/api/keys`);
    await assertOpenAIError(anonymous, 401);
    const byKey = await fetch(`${app.url}/api/limits`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    await assertOpenAIError(byKey, 403, /admin token/);
    const status = await fetch(`${app.url}/api/quota/status`);
    await assertOpenAIError(status, 401);
  });
});

Deno.test("rest - limits are created, changed and removed through the API; file limits are not", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/limits.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      limits: [{
        scope: "gateway",
        metric: "cost_usd",
        window: "month",
        limit: 500,
      }],
    }),
  );
  try {
    await withApp(async (app) => {
      const listed = await (await app.admin("/api/limits")).json();
      assert.equal(listed.limits.length, 1);
      const fileLimit = listed.limits[0];
      assert.equal(fileLimit.source, "file");
      const change = await app.admin(
        `/api/limits/${encodeURIComponent(fileLimit.id)}`,
        { method: "PATCH", body: JSON.stringify({ limit: 1 }) },
      );
      await assertOpenAIError(change, 409, /limits file/);

      const made = await addLimit(app, {
        scope: "model:gpt-4o",
        metric: "tokens",
        window: "day",
        limit: 2_000_000,
      });
      const path = `/api/limits/${encodeURIComponent(String(made.id))}`;
      const duplicate = await app.admin("/api/limits", {
        method: "POST",
        body: JSON.stringify({
          scope: "model:gpt-4o",
          metric: "tokens",
          window: "day",
          limit: 5,
        }),
      });
      await assertOpenAIError(duplicate, 409);
      const patched = await app.admin(path, {
        method: "PATCH",
        body: JSON.stringify({ limit: 3_000_000 }),
      });
      assert.equal(patched.status, 200);
      assert.equal(
        limitOf(await status(app), "model:gpt-4o", "tokens").limit,
        3_000_000,
      );
      const badWindow = await app.admin("/api/limits", {
        method: "POST",
        body: JSON.stringify({
          scope: "gateway",
          metric: "requests",
          window: "fortnight",
          limit: 5,
        }),
      });
      await assertOpenAIError(badWindow, 400);
      const removed = await app.admin(path, { method: "DELETE" });
      assert.equal(removed.status, 200);
      const gone = await app.admin(path);
      await assertOpenAIError(gone, 404);
    }, { QUOTA_LIMITS_FILE: file });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("rest - CORS echoes allowed origins only and answers preflights without counting", async () => {
  await withApp(async (app) => {
    const secret = await createKey(app, "team-a");
    await addLimit(app, {
      scope: "key:team-a",
      metric: "requests",
      window: "1m",
      limit: 10,
    });
    const preflight = await fetch(`${app.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization, content-type",
      },
    });
    assert.equal(preflight.status, 204);
    assert.equal(
      preflight.headers.get("access-control-allow-origin"),
      "https://app.example.com",
    );
    assert.match(preflight.headers.get("vary") ?? "", /Origin/);
    await preflight.body?.cancel();

    const denied = await fetch(`${app.url}/api/quota/status`, {
      method: "OPTIONS",
      headers: {
        origin: "https://app.example.com.evil.test",
        "access-control-request-method": "GET",
      },
    });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers.get("access-control-allow-origin"), null);
    await denied.body?.cancel();

    const real = await fetch(`${app.url}/api/quota/status`, {
      headers: {
        origin: "https://app.example.com",
        authorization: `Bearer ${secret}`,
      },
    });
    assert.equal(
      real.headers.get("access-control-allow-origin"),
      "https://app.example.com",
    );
    assert.notEqual(real.headers.get("access-control-allow-origin"), "*");
    assert.equal(real.headers.get("access-control-allow-credentials"), "true");
    assert.match(
      real.headers.get("access-control-expose-headers") ?? "",
      /retry-after-ms/,
    );
    assert.match(real.headers.get("vary") ?? "", /Origin/);
    const body: QuotaStatus = await real.json();
    assert.equal(limitOf(body, "key:team-a", "requests").used, 0);
  }, { CORS_ORIGINS: "https://app.example.com" });
});

Deno.test("rest - usage history lists per-minute rollups and recent calls", async () => {
  await withApp(async (app) => {
    await createKey(app, "team-a");
    for (const id of ["a", "b"]) {
      await report(app, {
        id,
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 10,
        output_tokens: 5,
      });
    }
    const response = await app.admin("/api/quota/usage");
    assert.equal(response.status, 200);
    const history = await response.json();
    const total = history.minutes.reduce(
      (sum: number, m: { requests: number }) => sum + m.requests,
      0,
    );
    assert.equal(total, 2);
    assert.equal(history.recent.length, 2);
    const bad = await app.admin("/api/quota/usage?from=yesterday");
    await assertOpenAIError(bad, 400);
  });
});

Deno.test("rest - the admin token is checked exactly", async () => {
  await withApp(async (app) => {
    const almost = await fetch(`${app.url}/api/keys`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
    });
    await assertOpenAIError(almost, 401);
  });
});

Deno.test("rest - without an admin token, only requests addressed to loopback are admin (no DNS rebinding)", async () => {
  await withApp(async (app) => {
    const local = await fetch(`${app.url}/api/keys`);
    assert.equal(local.status, 200);
    await local.body?.cancel();
    // fetch() sets Host itself, so the rebinding page's request is written by hand.
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(new URL(app.url).port),
    });
    await conn.write(
      new TextEncoder().encode(
        "GET /api/keys HTTP/1.1\r\nHost: rebind.example\r\nConnection: close\r\n\r\n",
      ),
    );
    const answer = await new Response(conn.readable).text();
    assert.match(answer, /^HTTP\/1\.1 401/);
    assert.match(answer, /"code":"invalid_api_key"/);
  }, { QUOTA_ADMIN_TOKEN: "" });
});
