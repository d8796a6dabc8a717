import assert from "node:assert/strict";
import OpenAI from "openai";
import type { QuotaStatus, UsageRecord } from "../../lib/quota/types.ts";
import { addLimit } from "../support/app.ts";
import type { TestApp } from "../support/app.ts";
import { readFixture, sseEvents } from "../support/fake_upstream.ts";
import type { FixtureName } from "../support/fake_upstream.ts";
import { PROVIDER_KEY, withProxyRig } from "../support/proxy_rig.ts";
import type { ProxyRig } from "../support/proxy_rig.ts";

interface Rig extends ProxyRig {
  client: OpenAI;
}

function withRig(
  fn: (rig: Rig) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  return withProxyRig((rig) =>
    fn({
      ...rig,
      client: new OpenAI({
        baseURL: `${rig.app.url}/v1`,
        apiKey: rig.secret,
        maxRetries: 0,
      }),
    }), settings);
}

async function status(app: TestApp): Promise<QuotaStatus> {
  return await (await app.admin("/api/quota/status")).json();
}

async function recent(app: TestApp): Promise<UsageRecord[]> {
  return await app.services.store.listRecent(50);
}

/**
 * The newest record, once there are `count`. The SDK stops reading at
 * `data: [DONE]`, a moment before the proxy has settled and closed the stream.
 */
async function lastRecord(app: TestApp, count = 1): Promise<UsageRecord> {
  await waitFor(
    "the call to be recorded",
    async () => (await recent(app)).length >= count,
  );
  return (await recent(app))[0];
}

function limitOf(s: QuotaStatus, scope: string, metric: string) {
  const found = s.scopes.find((x) => x.scope === scope)?.limits.find((l) =>
    l.metric === metric
  );
  assert.ok(found, `no ${metric} limit on ${scope}`);
  return found;
}

/** The usage object a fixture carries (its last one). */
async function fixtureUsage(
  name: FixtureName,
): Promise<Record<string, number>> {
  const fixture = await readFixture(name);
  if (name.endsWith(".http")) return JSON.parse(fixture.body).usage;
  let usage: Record<string, number> | null = null;
  for (const event of sseEvents(fixture.body)) {
    const data = event.split("\n").find((l) => l.startsWith("data: "))
      ?.slice(6);
    if (!data || data === "[DONE]") continue;
    const parsed = JSON.parse(data);
    usage = parsed.usage ?? parsed.response?.usage ?? usage;
  }
  assert.ok(usage, `${name} has no usage`);
  return usage;
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  ms = 3000,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

Deno.test("proxy - a plain chat completion is forwarded with the provider's key and accounted", async () => {
  await withRig(async ({ app, upstream, client, secret }) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 100_000,
    });
    const { data, response } = await client.chat.completions.create({
      model: "gpt-5-mini",
      messages: [{ role: "user", content: "What colour is the sky?" }],
      max_completion_tokens: 500,
    }).withResponse();
    assert.match(data.choices[0].message.content ?? "", /sky/i);
    const expected = await fixtureUsage("chat_completion.http");
    assert.equal(data.usage?.total_tokens, expected.total_tokens);

    const sent = upstream.requests.at(-1)!;
    assert.equal(sent.headers.get("authorization"), `Bearer ${PROVIDER_KEY}`);
    assert.ok(!JSON.stringify([...sent.headers]).includes(secret));
    // Like OpenAI's own, the headers count this call's maximum, held at admission.
    assert.equal(response.headers.get("x-ratelimit-limit-tokens"), "100000");
    const remaining = Number(
      response.headers.get("x-ratelimit-remaining-tokens"),
    );
    assert.ok(remaining <= 100_000 - 500 && remaining > 100_000 - 600);
    assert.equal(response.headers.get("openai-organization"), null);

    const tokens = limitOf(await status(app), "key:team-a", "tokens");
    assert.equal(tokens.used, expected.total_tokens);
    assert.equal(tokens.reserved, 0);
    const record = await lastRecord(app);
    assert.equal(record.inputTokens, expected.prompt_tokens);
    assert.equal(record.cachedTokens, 1280);
    assert.equal(record.reasoningTokens, 192);
    assert.equal(record.estimated, false);
    assert.ok(record.costNanos > 0);
  });
});

Deno.test("proxy - a stream is passed through chunk by chunk and the injected usage chunk is removed", async () => {
  await withRig(async ({ app, upstream, client }) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Sky?" }],
      max_tokens: 64,
      stream: true,
    });
    let text = "";
    let sawUsage = false;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) sawUsage = true;
    }
    assert.ok(chunks > 2);
    assert.match(text, /sky/i);
    assert.equal(sawUsage, false, "the client did not ask for usage");
    const sent = upstream.requests.at(-1)!.body as Record<string, unknown>;
    assert.deepEqual(sent.stream_options, { include_usage: true });

    const expected = await fixtureUsage("chat_stream_with_usage.sse");
    const record = await lastRecord(app);
    assert.equal(record.inputTokens, expected.prompt_tokens);
    assert.equal(record.outputTokens, expected.completion_tokens);
    assert.equal(record.estimated, false);
  });
});

Deno.test("proxy - a client that asked for usage gets the usage chunk untouched", async () => {
  await withRig(async ({ client }) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Sky?" }],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) usage = chunk.usage ?? usage;
    const expected = await fixtureUsage("chat_stream_with_usage.sse");
    assert.equal(usage?.total_tokens, expected.total_tokens);
  });
});

Deno.test("proxy - a tool-call stream delivers the arguments and records its usage", async () => {
  await withRig(async ({ app, client }) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          parameters: {
            type: "object",
            properties: { location: { type: "string" } },
          },
        },
      }],
      max_tokens: 100,
      stream: true,
    });
    let args = "";
    for await (const chunk of stream) {
      args += chunk.choices[0]?.delta?.tool_calls?.[0]?.function?.arguments ??
        "";
    }
    assert.deepEqual(JSON.parse(args), { location: "Paris" });
    const expected = await fixtureUsage("chat_stream_tool_calls.sse");
    const record = await lastRecord(app);
    assert.equal(record.outputTokens, expected.completion_tokens);
  });
});

Deno.test("proxy - responses, plain and streamed, are accounted from their usage", async () => {
  await withRig(async ({ app, client }) => {
    const plain = await client.responses.create({
      model: "gpt-5-mini",
      input: "What colour is the sky?",
      max_output_tokens: 400,
    });
    assert.match(plain.output_text, /sky/i);
    const expectedPlain = await fixtureUsage("responses.http");
    let record = await lastRecord(app);
    assert.equal(record.inputTokens, expectedPlain.input_tokens);
    assert.equal(record.cachedTokens, 1280);
    assert.equal(record.reasoningTokens, 128);

    const stream = await client.responses.create({
      model: "gpt-5-mini",
      input: "Sky?",
      max_output_tokens: 100,
      stream: true,
    });
    let completed = false;
    for await (const event of stream) {
      if (event.type === "response.completed") completed = true;
    }
    assert.ok(completed);
    const expectedStream = await fixtureUsage("responses_stream.sse");
    record = await lastRecord(app, 2);
    assert.equal(record.endpoint, "responses");
    assert.equal(record.outputTokens, expectedStream.output_tokens);
  });
});

Deno.test("proxy - embeddings in the SDK's default base64 are forwarded and counted", async () => {
  await withRig(async ({ app, client }) => {
    await addLimit(app, {
      scope: "model:text-embedding-3-small",
      metric: "input_tokens",
      window: "day",
      limit: 1000,
    });
    const result = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "The sky is blue.",
      dimensions: 4,
    });
    assert.equal(result.data[0].embedding.length, 4);
    const expected = await fixtureUsage("embeddings.http");
    assert.equal(
      limitOf(await status(app), "model:text-embedding-3-small", "input_tokens")
        .used,
      expected.prompt_tokens,
    );
  });
});

Deno.test("proxy - a legacy completions stream is accounted", async () => {
  await withRig(async ({ app, client }) => {
    const stream = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "The sky is",
      max_tokens: 5,
      stream: true,
    });
    for await (const _ of stream) { /* drain */ }
    const expected = await fixtureUsage("completions_legacy_stream.sse");
    const record = await lastRecord(app);
    assert.equal(record.endpoint, "completions");
    assert.equal(record.inputTokens, expected.prompt_tokens);
  });
});

Deno.test("proxy - our own refusal is a RateLimitError and nothing is forwarded", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "requests",
      window: "1m",
      limit: 1,
    });
    await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "one" }],
      max_tokens: 10,
    });
    const forwarded = upstream.requests.length;
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "two" }],
        max_tokens: 10,
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.code, "rate_limit_exceeded");
        assert.match(error.message, /team-a/);
        assert.ok(Number(error.headers?.get("retry-after")) >= 1);
        assert.equal(error.headers?.get("x-ratelimit-remaining-requests"), "0");
        return true;
      },
    );
    assert.equal(upstream.requests.length, forwarded);
    assert.equal(
      limitOf(await status(app), "key:team-a", "requests").used,
      1,
    );
  });
});

Deno.test("proxy - token limits hold exactly under concurrent calls that bound their output", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "output_tokens",
      window: "1h",
      limit: 1000,
    });
    const calls = Array.from(
      { length: 30 },
      () =>
        client.chat.completions.create({
          model: "gpt-4.1-mini",
          messages: [{ role: "user", content: "hi" }],
          max_tokens: 100,
        }).then(
          () => "ok",
          (e) => e instanceof OpenAI.RateLimitError ? "429" : e,
        ),
    );
    const outcomes = await Promise.all(calls);
    assert.equal(outcomes.filter((o) => o === "ok").length, 10);
    assert.equal(outcomes.filter((o) => o === "429").length, 20);
    assert.equal(upstream.requests.length, 10);
  });
});

Deno.test("proxy - an unknown model is refused before forwarding", async () => {
  await withRig(async ({ upstream, client }) => {
    await assert.rejects(
      client.chat.completions.create({
        model: "no-such-model-zz",
        messages: [{ role: "user", content: "hi" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.NotFoundError);
        assert.equal(error.code, "model_not_found");
        assert.match(error.message, /QUOTA_FALLBACK_PRICE/);
        return true;
      },
    );
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("proxy - an unknown model is billed at the fallback price, flagged", async () => {
  await withRig(async ({ app, client }) => {
    await client.chat.completions.create({
      model: "no-such-model-zz",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 10,
    });
    const record = await lastRecord(app);
    assert.equal(record.fallbackPrice, true);
    assert.ok(record.costNanos > 0);
  }, { QUOTA_FALLBACK_PRICE: "10,5,30" });
});

Deno.test("proxy - an upstream rate limit reaches the caller, releases the hold and shows in the status", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 100_000,
    });
    upstream.script({ kind: "rate_limit", retryAfterMs: "250" });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 10,
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.code, "rate_limit_exceeded");
        return true;
      },
    );
    const s = await status(app);
    const tokens = limitOf(s, "key:team-a", "tokens");
    assert.equal(tokens.reserved, 0);
    assert.equal(tokens.used, 0);
    assert.equal(s.upstream[0]?.last429?.kind, "rate_limit_exceeded");
    assert.equal(s.upstream[0]?.last429?.retryAfterMs, 250);
  });
});

Deno.test("proxy - an exhausted provider credit is told apart and not retried", async () => {
  await withRig(async ({ app, upstream, client }) => {
    upstream.script({ kind: "insufficient_quota" });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 10,
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.RateLimitError);
        assert.equal(error.code, "insufficient_quota");
        assert.equal(error.headers?.get("x-should-retry"), "false");
        return true;
      },
    );
    const s = await status(app);
    assert.equal(s.upstream[0]?.last429?.kind, "insufficient_quota");
  });
});

Deno.test("proxy - the provider's rate-limit headers are recorded per upstream key", async () => {
  await withRig(async ({ app, client }) => {
    await client.chat.completions.create({
      model: "gpt-5-mini",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 500,
    });
    await app.services.upstream.flush();
    const [quota] = (await status(app)).upstream;
    assert.equal(quota.limitRequests, 5000);
    assert.equal(quota.remainingTokens, 3998262);
    assert.ok(!quota.keyId.includes(PROVIDER_KEY));
  });
});

Deno.test("proxy - an upstream 5xx reaches the caller and releases the hold", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await addLimit(app, {
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: 100,
    });
    upstream.script({ kind: "server_error", status: 503 });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 10,
      }),
      (error: unknown) => error instanceof OpenAI.InternalServerError,
    );
    const requests = limitOf(await status(app), "gateway", "requests");
    assert.equal(requests.reserved, 0);
    assert.equal(requests.used, 0);
  });
});

Deno.test("proxy - an upstream that hangs gets a clear 504 after the timeout and the hold is released", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await addLimit(app, {
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: 100,
    });
    upstream.script({ kind: "hang" });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
        max_tokens: 10,
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.APIError);
        assert.equal(error.status, 504);
        assert.match(error.message, /QUOTA_UPSTREAM_TIMEOUT_MS/);
        return true;
      },
    );
    assert.equal(
      limitOf(await status(app), "gateway", "requests").reserved,
      0,
    );
  }, { QUOTA_UPSTREAM_TIMEOUT_MS: "300" });
});

Deno.test("proxy - a client abort cancels the upstream request and the partial stream is recorded as estimated", async () => {
  await withRig(async ({ app, upstream, client }) => {
    upstream.script({ kind: "slow_stream", chunks: 200, delayMs: 10 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Tell me a long story." }],
      max_tokens: 1000,
      stream: true,
    }, { signal: controller.signal });
    let seen = 0;
    // The SDK ends the iteration quietly when its own signal aborts.
    for await (const _ of stream) {
      if (++seen === 5) controller.abort();
    }
    assert.ok(seen < 200, "the stream stopped early");
    await waitFor(
      "the upstream to see the abort",
      () => Promise.resolve(upstream.requests.at(-1)!.aborted),
    );
    await waitFor(
      "the aborted call to be recorded",
      async () => (await recent(app)).length === 1,
    );
    const record = await lastRecord(app);
    assert.equal(record.estimated, true);
    assert.ok(record.outputTokens > 0, "the delivered text is counted");
    assert.ok(record.inputTokens > 0);
  });
});

Deno.test("proxy - a stream cut without usage is recorded as estimated", async () => {
  await withRig(async ({ app, upstream, client }) => {
    upstream.script({ kind: "cut_stream", mode: "close" });
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Sky?" }],
      max_tokens: 64,
      stream: true,
    });
    for await (const _ of stream) { /* drain */ }
    const record = await lastRecord(app);
    assert.equal(record.estimated, true);
    assert.ok(record.outputTokens > 0);
  });
});

Deno.test("proxy - other /v1 paths pass through and count as requests", async () => {
  await withRig(async ({ app, client }) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "requests",
      window: "1m",
      limit: 10,
    });
    const models = await client.models.list();
    assert.ok(models.data.length > 0);
    assert.equal(
      limitOf(await status(app), "key:team-a", "requests").used,
      1,
    );
  });
});

Deno.test("proxy - a wrong virtual key is an AuthenticationError", async () => {
  await withRig(async ({ app, upstream }) => {
    const client = new OpenAI({
      baseURL: `${app.url}/v1`,
      apiKey: "qm-not-a-real-key-000000000000",
      maxRetries: 0,
    });
    await assert.rejects(
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "hi" }],
      }),
      (error: unknown) => {
        assert.ok(error instanceof OpenAI.AuthenticationError);
        assert.equal(error.code, "invalid_api_key");
        assert.ok(!error.message.includes("qm-not-a-real-key-000000000000"));
        return true;
      },
    );
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("proxy - a bad request body is refused with a 400 and not forwarded", async () => {
  await withRig(async ({ app, upstream, secret }) => {
    const response = await fetch(`${app.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${secret}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ model: "gpt-4.1-mini" }),
    });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.error.param, "messages");
    assert.equal(upstream.requests.length, 0);
  });
});

Deno.test("proxy - passthrough callers keep their own key and are known only by its hash", async () => {
  await withRig(async ({ app, upstream, client }) => {
    await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 10,
    });
    assert.equal(
      upstream.requests.at(-1)!.headers.get("authorization"),
      `Bearer ${PROVIDER_KEY}`,
    );
    const keys = await app.services.store.listKeys();
    assert.equal(keys.length, 1);
    assert.equal(keys[0].kind, "passthrough");
    assert.ok(!JSON.stringify(keys).includes(PROVIDER_KEY));
    const record = await lastRecord(app);
    assert.equal(record.key, keys[0].name);
  }, { QUOTA_PASSTHROUGH: "true", UPSTREAM_API_KEY: "" });
});

Deno.test("proxy - an upstream reset mid-stream reaches the client as an error and the delivered part is recorded", async () => {
  await withRig(async ({ app, upstream, client }) => {
    upstream.script({ kind: "cut_stream", mode: "abort" });
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Sky?" }],
      max_tokens: 64,
      stream: true,
    });
    await assert.rejects(async () => {
      for await (const _ of stream) { /* drain */ }
    });
    const record = await lastRecord(app);
    assert.equal(record.estimated, true);
    const tokens = await status(app);
    assert.ok(
      tokens.scopes.every((s) => s.limits.every((l) => l.reserved === 0)),
    );
  });
});
