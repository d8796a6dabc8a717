import assert from "node:assert/strict";
import OpenAI from "openai";
import { startFakeUpstream } from "./fake_upstream.ts";
import type { FakeUpstream } from "./fake_upstream.ts";

async function withUpstream(
  fn: (upstream: FakeUpstream, client: OpenAI) => Promise<void>,
): Promise<void> {
  const upstream = await startFakeUpstream({ apiKey: "sk-upstream-test" });
  const client = new OpenAI({
    baseURL: upstream.url,
    apiKey: "sk-upstream-test",
    maxRetries: 0,
  });
  try {
    await fn(upstream, client);
  } finally {
    await upstream.close();
  }
}

Deno.test("fake upstream - the SDK gets a chat completion with usage and the request is recorded", async () => {
  await withUpstream(async (upstream, client) => {
    const answer = await client.chat.completions.create({
      model: "gpt-5-mini",
      messages: [{ role: "user", content: "Why is the sky blue?" }],
    });
    assert.match(
      answer.choices[0].message.content ?? "",
      /The sky is blue because/,
    );
    assert.equal(answer.usage?.prompt_tokens, 1536);
    assert.equal(answer.usage?.prompt_tokens_details?.cached_tokens, 1280);
    assert.equal(upstream.requests.length, 1);
    const seen = upstream.requests[0];
    assert.equal(seen.path, "/v1/chat/completions");
    assert.equal(seen.headers.get("authorization"), "Bearer sk-upstream-test");
    assert.deepEqual((seen.body as { messages: unknown }).messages, [{
      role: "user",
      content: "Why is the sky blue?",
    }]);
  });
});

Deno.test("fake upstream - a stream without include_usage has no usage chunk, with it the SDK sees the usage", async () => {
  await withUpstream(async (_upstream, client) => {
    const plain = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    let usageSeen = false;
    for await (const chunk of plain) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usageSeen = true;
    }
    assert.equal(text, "The sky is blue.");
    assert.equal(usageSeen, false);

    const withUsage = await client.chat.completions.create({
      model: "gpt-4.1-mini",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of withUsage) if (chunk.usage) usage = chunk.usage;
    assert.equal(usage?.prompt_tokens, 1180);
    assert.equal(usage?.completion_tokens, 5);
  });
});

Deno.test("fake upstream - a request with tools streams a tool call whose arguments join into JSON", async () => {
  await withUpstream(async (_upstream, client) => {
    const stream = await client.chat.completions.create({
      model: "gpt-4.1-mini",
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
      stream: true,
    });
    let args = "";
    let name = "";
    for await (const chunk of stream) {
      for (const call of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name += call.function?.name ?? "";
        args += call.function?.arguments ?? "";
      }
    }
    assert.equal(name, "get_weather");
    assert.deepEqual(JSON.parse(args), { location: "Paris" });
  });
});

Deno.test("fake upstream - responses, plain and streamed, carry their usage", async () => {
  await withUpstream(async (_upstream, client) => {
    const plain = await client.responses.create({
      model: "gpt-5-mini",
      input: "Why is the sky blue?",
    });
    assert.equal(plain.usage?.input_tokens, 1420);
    assert.equal(plain.usage?.output_tokens_details.reasoning_tokens, 128);
    assert.match(plain.output_text, /The sky is blue because/);

    const stream = await client.responses.create({
      model: "gpt-5.1",
      input: "Hi",
      stream: true,
    });
    let text = "";
    let completedUsage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") {
        completedUsage = event.response.usage;
      }
    }
    assert.equal(text, "The sky is blue.");
    assert.equal(completedUsage?.total_tokens, 31);
  });
});

Deno.test("fake upstream - embeddings decode the same vector as base64 (the SDK default) and as floats", async () => {
  await withUpstream(async (upstream, client) => {
    const base64 = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "The sky is blue.",
    });
    assert.equal(
      (upstream.requests[0].body as { encoding_format: string })
        .encoding_format,
      "base64",
    );
    const floats = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "The sky is blue.",
      encoding_format: "float",
    });
    assert.deepEqual(floats.data[0].embedding, [
      0.5085593,
      -0.18761702,
      0.6224517,
      -0.5645539,
    ]);
    base64.data[0].embedding.forEach((v, i) =>
      assert.ok(Math.abs(v - floats.data[0].embedding[i]) < 1e-6)
    );
    assert.equal(floats.usage.prompt_tokens, 5);
  });
});

Deno.test("fake upstream - legacy completions stream and the model list answer", async () => {
  await withUpstream(async (_upstream, client) => {
    const stream = await client.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "The sky is",
      max_tokens: 5,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? "";
    assert.equal(text, " blue during the day.");
    const models = await client.models.list();
    assert.ok(models.data.some((m) => m.id === "gpt-4.1-mini"));
  });
});

Deno.test("fake upstream - both kinds of 429 surface as RateLimitError with their code and retry headers", async () => {
  await withUpstream(async (upstream, client) => {
    const call = () =>
      client.chat.completions.create({
        model: "gpt-4.1-mini",
        messages: [{ role: "user", content: "Hi" }],
      });
    upstream.script(
      { kind: "rate_limit", retryAfterMs: "250", retryAfter: "1" },
      { kind: "insufficient_quota" },
      { kind: "insufficient_quota", nullCode: true },
      { kind: "rate_limit", type: "requests" },
    );
    const limited = await call().then(() => null, (e) => e);
    assert.ok(limited instanceof OpenAI.RateLimitError);
    assert.equal(limited.code, "rate_limit_exceeded");
    assert.equal(limited.type, "tokens");
    assert.equal(limited.headers.get("retry-after-ms"), "250");
    const quota = await call().then(() => null, (e) => e);
    assert.ok(quota instanceof OpenAI.RateLimitError);
    assert.equal(quota.code, "insufficient_quota");
    const legacy = await call().then(() => null, (e) => e);
    assert.equal(legacy.code, null);
    assert.equal(legacy.type, "insufficient_quota");
    const requests = await call().then(() => null, (e) => e);
    assert.equal(requests.type, "requests");
    const after = await call();
    assert.equal(after.object, "chat.completion");
  });
});

Deno.test("fake upstream - a 5xx surfaces as InternalServerError and a wrong key as AuthenticationError", async () => {
  await withUpstream(async (upstream, client) => {
    upstream.script({ kind: "server_error", status: 503 });
    const failed = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Hi" }],
    }).then(() => null, (e) => e);
    assert.ok(failed instanceof OpenAI.InternalServerError);
    assert.equal(failed.status, 503);
    const stranger = new OpenAI({
      baseURL: upstream.url,
      apiKey: "sk-wrong",
      maxRetries: 0,
    });
    const denied = await stranger.models.list().then(() => null, (e) => e);
    assert.ok(denied instanceof OpenAI.AuthenticationError);
    assert.equal(denied.code, "invalid_api_key");
  });
});

Deno.test("fake upstream - a hung request is recorded as aborted when the client gives up", async () => {
  await withUpstream(async (upstream, client) => {
    upstream.script({ kind: "hang" });
    const controller = new AbortController();
    const pending = client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "Hi" }],
    }, { signal: controller.signal })
      .then(() => null, (e) => e);
    while (upstream.requests.length === 0) {
      await new Promise((r) => setTimeout(r, 5));
    }
    controller.abort();
    const error = await pending;
    assert.ok(error instanceof OpenAI.APIUserAbortError);
    for (let i = 0; i < 400 && !upstream.requests[0].aborted; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(upstream.requests[0].aborted, true);
  });
});

Deno.test("fake upstream - a cut stream ends without usage or [DONE], and the SDK reports the break", async () => {
  await withUpstream(async (upstream, _client) => {
    upstream.script({ kind: "cut_stream", afterEvents: 3 });
    const res = await fetch(`${upstream.url}/chat/completions`, {
      method: "POST",
      headers: {
        authorization: "Bearer sk-upstream-test",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    let text = "";
    const decoder = new TextDecoder();
    const failure = await (async () => {
      for await (const chunk of res.body!) {
        text += decoder.decode(chunk, { stream: true });
      }
    })().then(() => null, (e) => e);
    assert.ok(failure instanceof Error);
    assert.equal(
      text.split("\n\n").filter((e) => e.startsWith("data:")).length,
      3,
    );
    assert.ok(!text.includes("[DONE]"));
    assert.ok(!text.includes('"usage":{'));
  });
});

Deno.test("fake upstream - a slow stream sends N chunks as separate writes, with usage when asked", async () => {
  await withUpstream(async (upstream, _client) => {
    upstream.script({ kind: "slow_stream", chunks: 20, delayMs: 2 });
    const res = await fetch(`${upstream.url}/chat/completions`, {
      method: "POST",
      headers: {
        authorization: "Bearer sk-upstream-test",
        "content-type": "application/json",
      },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    let reads = 0;
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body!) {
      reads++;
      text += decoder.decode(chunk, { stream: true });
    }
    const events = text.split("\n\n").filter((e) => e.startsWith("data:"));
    // role chunk + 20 content chunks + finish + usage + [DONE]
    assert.equal(events.length, 24);
    assert.ok(reads > 1, `expected separate writes, got ${reads} read`);
    assert.match(events[22], /"completion_tokens":40/);
  });
});

Deno.test("fake upstream - scripted x-ratelimit headers replace the fixture's on the next answer only", async () => {
  await withUpstream(async (upstream, _client) => {
    upstream.script({
      kind: "headers",
      headers: {
        "x-ratelimit-remaining-tokens": "7",
        "x-ratelimit-reset-tokens": "1m30s",
      },
    });
    const call = () =>
      fetch(`${upstream.url}/chat/completions`, {
        method: "POST",
        headers: {
          authorization: "Bearer sk-upstream-test",
          "content-type": "application/json",
        },
        body: JSON.stringify({
          model: "m",
          messages: [{ role: "user", content: "Hi" }],
        }),
      });
    const first = await call();
    await first.body?.cancel();
    assert.equal(first.headers.get("x-ratelimit-remaining-tokens"), "7");
    assert.equal(first.headers.get("x-ratelimit-reset-tokens"), "1m30s");
    assert.equal(first.headers.get("x-ratelimit-limit-tokens"), "4000000");
    const second = await call();
    await second.body?.cancel();
    assert.equal(second.headers.get("x-ratelimit-remaining-tokens"), "3998262");
  });
});

Deno.test("fake upstream - a chat request without messages gets OpenAI's 400", async () => {
  await withUpstream(async (_upstream, client) => {
    // deno-lint-ignore no-explicit-any
    const error = await client.chat.completions.create({ model: "m" } as any)
      .then(() => null, (e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.code, "missing_required_parameter");
    assert.equal(error.param, "messages");
  });
});
