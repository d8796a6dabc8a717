/**
 * Adversarial requests to the OpenAI-compatible proxy (/v1): missing and
 * garbled credentials, bodies that are not JSON or not objects, wrong types,
 * odd numbers for max_tokens and n, odd model names. Each must get a clear
 * 4xx in OpenAI's error shape before anything is forwarded, nothing may be
 * held or counted, and the server must stay healthy.
 */

import assert from "node:assert/strict";
import { ADMIN_TOKEN } from "../support/app.ts";
import { PROVIDER_KEY, withProxyRig } from "../support/proxy_rig.ts";
import type { ProxyRig } from "../support/proxy_rig.ts";

// ---------------------------------------------------------------- helpers

type Rig = ProxyRig;

const GENEROUS_LIMITS = [
  { scope: "gateway", metric: "requests", window: "1h", limit: 10_000 },
  { scope: "gateway", metric: "tokens", window: "1h", limit: 1_000_000_000 },
  { scope: "gateway", metric: "cost_usd", window: "day", limit: 1000 },
];

function withRig(
  fn: (rig: Rig) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  return withProxyRig(
    async (rig) => {
      await fn(rig);
      const health = await fetch(`${rig.app.url}/healthz`);
      assert.equal(health.status, 200, "the server should still answer");
      await health.body?.cancel();
    },
    settings,
    GENEROUS_LIMITS,
  );
}

async function assertOpenAIError(
  response: Response,
  status: number | number[],
  what: string,
): Promise<{ message: string; type: string; code: string | null }> {
  const text = await response.text();
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(
    statuses.includes(response.status),
    `${what}: expected ${statuses.join(" or ")}, got ${response.status} (${
      response.headers.get("content-type")
    }): ${text.slice(0, 200)}`,
  );
  assert.match(
    response.headers.get("content-type") ?? "",
    /^application\/json/,
    `${what}: not JSON`,
  );
  const body = JSON.parse(text);
  assert.equal(typeof body.error?.message, "string", `${what}: no message`);
  assert.ok(
    body.error.message.length >= 15 && /[.!?)]$/.test(body.error.message),
    `${what}: not a full sentence: ${body.error.message}`,
  );
  assert.equal(typeof body.error.type, "string", `${what}: no type`);
  assert.ok("code" in body.error && "param" in body.error, `${what}: shape`);
  return body.error;
}

async function assertNothingCounted(rig: Rig, what: string): Promise<void> {
  const status = await (await rig.app.admin("/api/quota/status")).json();
  for (const scope of status.scopes) {
    for (const limit of scope.limits) {
      assert.equal(limit.used, 0, `${what}: ${limit.id} has usage`);
      assert.equal(limit.reserved, 0, `${what}: ${limit.id} holds something`);
    }
  }
  assert.equal(
    rig.upstream.requests.length,
    0,
    `${what}: nothing may be forwarded`,
  );
}

function call(
  rig: Rig,
  body: string | Record<string, unknown>,
  path = "/v1/chat/completions",
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${rig.app.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${rig.secret}`,
      "content-type": "application/json",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const HI = [{ role: "user", content: "hi" }];

// ------------------------------------------------------------------ tests

Deno.test("adversarial proxy - missing, garbled and wrong Authorization get 401 and forward nothing", async () => {
  await withRig(async (rig) => {
    const variants: (string | null)[] = [
      null,
      "",
      "Bearer",
      "Bearer ",
      "Basic dXNlcjpwYXNz",
      "bearer",
      "Token qm-0000",
      "Bearer qm-000000000000000000000000000000000000000000000000",
      `Bearer ${ADMIN_TOKEN}`,
      `Bearer ${PROVIDER_KEY}`,
      `Bearer ${rig.secret}x`,
      `Bearer ${rig.secret} ${rig.secret}`,
      `Bearer ${"A".repeat(8000)}`,
    ];
    for (const value of variants) {
      const headers: Record<string, string> = {
        "content-type": "application/json",
      };
      if (value !== null) headers.authorization = value;
      for (const path of ["/v1/chat/completions", "/v1/models"]) {
        const response = await fetch(`${rig.app.url}${path}`, {
          method: path === "/v1/models" ? "GET" : "POST",
          headers,
          body: path === "/v1/models"
            ? undefined
            : JSON.stringify({ model: "gpt-4.1-mini", messages: HI }),
        });
        const error = await assertOpenAIError(
          response,
          401,
          `${path} with Authorization ${
            JSON.stringify(value?.slice(0, 40) ?? null)
          }`,
        );
        assert.equal(error.code, "invalid_api_key");
        assert.ok(
          !error.message.includes(rig.secret) &&
            !error.message.includes(ADMIN_TOKEN) &&
            !error.message.includes(PROVIDER_KEY),
          "the message must not echo a secret",
        );
      }
    }
    // Non-ASCII bytes in the header, sent raw.
    const port = Number(new URL(rig.app.url).port);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      const head = new TextEncoder().encode(
        "GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer qm-",
      );
      const bytes = new Uint8Array([
        ...head,
        0xff,
        0xfe,
        0x0d,
        0x0a,
        0x0d,
        0x0a,
      ]);
      await conn.write(bytes);
      let text = "";
      const buffer = new Uint8Array(8192);
      while (true) {
        const n = await conn.read(buffer);
        if (n === null) break;
        text += new TextDecoder().decode(buffer.subarray(0, n));
      }
      const status = Number(text.split(" ")[1]);
      assert.ok(status === 400 || status === 401, `raw bytes: got ${status}`);
    } finally {
      conn.close();
    }
    await assertNothingCounted(rig, "bad credentials");
  });
});

Deno.test("adversarial proxy - bodies that are not JSON objects get 400 invalid_request_error", async () => {
  await withRig(async (rig) => {
    const bodies = [
      "",
      "not json",
      "{",
      "[]",
      '"string"',
      "null",
      "42",
      "true",
      "[" + "[".repeat(100_000) + "]".repeat(100_000) + "]",
    ];
    for (
      const path of [
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/embeddings",
        "/v1/responses",
      ]
    ) {
      for (const body of bodies) {
        const error = await assertOpenAIError(
          await call(rig, body, path),
          400,
          `${path} with ${JSON.stringify(body.slice(0, 20))}`,
        );
        assert.equal(error.type, "invalid_request_error");
      }
    }
    await assertNothingCounted(rig, "non-object bodies");
  });
});

Deno.test("adversarial proxy - wrong types: stream 'yes', messages not an array, model not a string", async () => {
  await withRig(async (rig) => {
    const cases: [string, Record<string, unknown>, string][] = [
      [
        "stream 'yes'",
        { model: "gpt-4.1-mini", messages: HI, stream: "yes" },
        "stream",
      ],
      [
        "stream 1",
        { model: "gpt-4.1-mini", messages: HI, stream: 1 },
        "stream",
      ],
      [
        "messages string",
        { model: "gpt-4.1-mini", messages: "hi" },
        "messages",
      ],
      [
        "messages object",
        { model: "gpt-4.1-mini", messages: { role: "user" } },
        "messages",
      ],
      ["messages empty", { model: "gpt-4.1-mini", messages: [] }, "messages"],
      ["messages missing", { model: "gpt-4.1-mini" }, "messages"],
      [
        "message null",
        { model: "gpt-4.1-mini", messages: [null] },
        "messages[0]",
      ],
      [
        "role number",
        { model: "gpt-4.1-mini", messages: [{ role: 1 }] },
        "messages[0].role",
      ],
      ["model number", { model: 4, messages: HI }, "model"],
      ["model missing", { messages: HI }, "model"],
      ["model empty", { model: "  ", messages: HI }, "model"],
      ["model array", { model: ["gpt-4o"], messages: HI }, "model"],
      ["stream_options string", {
        model: "gpt-4.1-mini",
        messages: HI,
        stream: true,
        stream_options: "x",
      }, "stream_options"],
      [
        "tools object",
        { model: "gpt-4.1-mini", messages: HI, tools: {} },
        "tools",
      ],
    ];
    for (const [what, body, param] of cases) {
      const response = await call(rig, body);
      const text = await response.clone().text();
      const error = await assertOpenAIError(response, 400, what);
      assert.equal(
        (JSON.parse(text).error.param ?? "") as string,
        param,
        `${what}: param`,
      );
      assert.equal(error.type, "invalid_request_error");
    }
    await assertNothingCounted(rig, "wrong types");
  });
});

Deno.test("adversarial proxy - max_tokens negative, zero, fractional, a string or 1e308 get 400", async () => {
  await withRig(async (rig) => {
    const values: unknown[] = [
      -1,
      0,
      1.5,
      "100",
      1e308,
      -0.5,
      true,
      {},
      2 ** 53,
    ];
    for (const field of ["max_tokens", "max_completion_tokens", "n"]) {
      for (const value of values) {
        await assertOpenAIError(
          await call(rig, {
            model: "gpt-4.1-mini",
            messages: HI,
            [field]: value,
          }),
          400,
          `${field} = ${JSON.stringify(value)}`,
        );
      }
    }
    await assertOpenAIError(
      await call(
        rig,
        { model: "gpt-4.1-mini", input: "x", max_output_tokens: -5 },
        "/v1/responses",
      ),
      400,
      "max_output_tokens -5",
    );
    await assertNothingCounted(rig, "bad max_tokens");
  });
});

Deno.test("adversarial proxy - a huge but safe max_tokens is a 4xx, not a 500", async () => {
  await withRig(async (rig) => {
    const cases: [string, string, Record<string, unknown>][] = [
      ["max_tokens 2**53-1", "/v1/chat/completions", {
        model: "gpt-4.1-mini",
        messages: HI,
        max_tokens: Number.MAX_SAFE_INTEGER,
      }],
      ["max_completion_tokens 1e15", "/v1/chat/completions", {
        model: "gpt-4o",
        messages: HI,
        max_completion_tokens: 1e15,
      }],
      ["max_output_tokens 2**52", "/v1/responses", {
        model: "gpt-4.1-mini",
        input: "x",
        max_output_tokens: 2 ** 52,
      }],
      ["legacy max_tokens 2**40 x best_of 128", "/v1/completions", {
        model: "gpt-3.5-turbo-instruct",
        prompt: "x",
        n: 128,
        best_of: 128,
        max_tokens: 2 ** 40,
      }],
    ];
    for (const [what, path, body] of cases) {
      // 400 (an impossible bound) or 429 (more than any limit allows) are
      // both clear answers; a 500 HTML page is not.
      await assertOpenAIError(await call(rig, body, path), [400, 429], what);
    }
    await assertNothingCounted(rig, "huge max_tokens");
  });
});

Deno.test("adversarial proxy - n=0 is refused, n=1e9 is a 4xx, not a 500", async () => {
  await withRig(async (rig) => {
    await assertOpenAIError(
      await call(rig, { model: "gpt-4o", messages: HI, n: 0 }),
      400,
      "n=0",
    );
    await assertOpenAIError(
      await call(rig, { model: "gpt-4o", messages: HI, n: 1e9 }),
      [400, 429],
      "n=1e9 with no max_tokens (1e9 x the default output reservation)",
    );
    await assertOpenAIError(
      await call(rig, {
        model: "gpt-4o",
        messages: HI,
        n: 1e9,
        max_tokens: 1e6,
      }),
      [400, 429],
      "n=1e9 with max_tokens 1e6",
    );
    await assertNothingCounted(rig, "n");
  });
});

Deno.test("adversarial proxy - an unknown model is a 404 model_not_found before anything is forwarded", async () => {
  await withRig(async (rig) => {
    for (
      const model of [
        "no-such-model",
        "gpt-4o\u0000",
        "gpt\u202e4o",
        "💥",
        "x".repeat(5000),
      ]
    ) {
      const error = await assertOpenAIError(
        await call(rig, { model, messages: HI }),
        [400, 404],
        `model ${JSON.stringify(model.slice(0, 20))}`,
      );
      assert.ok(
        error.code === "model_not_found" || error.code === "invalid_value",
        `model ${JSON.stringify(model.slice(0, 20))}: code ${error.code}`,
      );
    }
    await assertNothingCounted(rig, "unknown models");
  });
});

Deno.test("adversarial proxy - a known model name with surrounding whitespace is a 4xx, not a 500", async () => {
  await withRig(async (rig) => {
    for (
      const model of [
        "gpt-4.1-mini ",
        " gpt-4.1-mini",
        "gpt-4.1-mini\n",
        "\tgpt-4o",
      ]
    ) {
      const response = await call(rig, { model, messages: HI });
      if (response.status === 200) {
        // Accepting it as the trimmed name is fine too, if it is counted once.
        await response.body?.cancel();
        continue;
      }
      await assertOpenAIError(
        response,
        [400, 404],
        `model ${JSON.stringify(model)}`,
      );
    }
    const status = await (await rig.app.admin("/api/quota/status")).json();
    for (const scope of status.scopes) {
      for (const limit of scope.limits) assert.equal(limit.reserved, 0);
    }
  });
});

Deno.test("adversarial proxy - with a fallback price, a model name the engine cannot count is a 4xx, not a 500", async () => {
  await withRig(async (rig) => {
    for (
      const model of [
        "my model",
        "m\u0001",
        "modèle",
        "m".repeat(300),
        "gpt-4o\u202e",
      ]
    ) {
      await assertOpenAIError(
        await call(rig, { model, messages: HI }),
        [400, 404],
        `model ${JSON.stringify(model.slice(0, 20))} with QUOTA_FALLBACK_PRICE`,
      );
    }
    await assertNothingCounted(rig, "uncountable models");
  }, { QUOTA_FALLBACK_PRICE: "1,0.5,2" });
});

Deno.test("adversarial proxy - passthrough mode: garbage provider keys do not pile up as registered callers", async () => {
  await withRig(async (rig) => {
    const before =
      (await (await rig.app.admin("/api/keys")).json()).keys.length;
    for (let i = 0; i < 25; i++) {
      const response = await fetch(`${rig.app.url}/v1/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer garbage-${i}-${crypto.randomUUID()}`,
          "content-type": "application/json",
        },
        // Not even JSON: this never reaches the provider.
        body: "not json",
      });
      assert.ok(response.status >= 400 && response.status < 500);
      await response.body?.cancel();
    }
    const after = (await (await rig.app.admin("/api/keys")).json()).keys.length;
    assert.equal(
      after - before,
      0,
      `25 requests with made-up keys (refused before reaching the provider) left ${
        after - before
      } permanent "caller-…" entries in the key store; anyone who can reach /v1 can grow it without bound`,
    );
  }, { QUOTA_PASSTHROUGH: "true" });
});
