/**
 * A lean OpenAI-compatible upstream for benchmarks: every answer is encoded
 * once at start, so that the upstream costs as little as possible and the
 * figures measure what sits between the client and it. Speaks the same wire
 * format as the test fake (tests/support/fake_upstream.ts): a chat
 * completion with usage, and a streamed chat answer of `--chunks` chunks
 * whose usage chunk is sent only when the request asks for it
 * (`stream_options.include_usage`), as OpenAI does.
 *
 * Run: `deno run --allow-net bench/support/lean_upstream.ts --port 9100 --chunks 200`
 * It prints `listening <port>` once it accepts connections.
 *
 * @module
 */

const ENCODER = new TextEncoder();
const CHAT_ID = "chatcmpl-bench0000000000000000000000";
const CREATED = 1785000000;
const MODEL = "gpt-4o-mini-2024-07-18";

/** The provider's own rate-limit headers, as OpenAI sends them on every answer. */
const PROVIDER_HEADERS: Record<string, string> = {
  "openai-organization": "bench-org",
  "openai-processing-ms": "1",
  "openai-version": "2020-10-01",
  "x-ratelimit-limit-requests": "30000",
  "x-ratelimit-limit-tokens": "150000000",
  "x-ratelimit-remaining-requests": "29999",
  "x-ratelimit-remaining-tokens": "149999000",
  "x-ratelimit-reset-requests": "2ms",
  "x-ratelimit-reset-tokens": "0s",
  "x-request-id": "req_bench0000000000000000000000000",
};

const COMPLETION = ENCODER.encode(JSON.stringify({
  id: CHAT_ID,
  object: "chat.completion",
  created: CREATED,
  model: MODEL,
  choices: [{
    index: 0,
    message: {
      role: "assistant",
      content:
        "The sky is blue because air scatters blue sunlight more than red sunlight.",
      refusal: null,
      annotations: [],
    },
    logprobs: null,
    finish_reason: "stop",
  }],
  usage: {
    prompt_tokens: 14,
    completion_tokens: 16,
    total_tokens: 30,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  },
  service_tier: "default",
  system_fingerprint: "fp_bench",
}));

const MODELS = ENCODER.encode(JSON.stringify({
  object: "list",
  data: [{
    id: "gpt-4o-mini",
    object: "model",
    created: CREATED,
    owned_by: "system",
  }],
}));

function chunkEvent(delta: Record<string, unknown>, finish: string | null) {
  return ENCODER.encode(`data: ${
    JSON.stringify({
      id: CHAT_ID,
      object: "chat.completion.chunk",
      created: CREATED,
      model: MODEL,
      service_tier: "default",
      system_fingerprint: "fp_bench",
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage: null,
    })
  }\n\n`);
}

/** The events of one streamed answer of `count` chunks, each its own write. */
function streamEvents(
  count: number,
): { body: Uint8Array[]; usage: Uint8Array } {
  const body: Uint8Array[] = [
    chunkEvent({ role: "assistant", content: "" }, null),
  ];
  for (let i = 1; i < count - 1; i++) {
    body.push(chunkEvent({ content: ` word${i % 10}` }, null));
  }
  body.push(chunkEvent({}, "stop"));
  const usage = ENCODER.encode(`data: ${
    JSON.stringify({
      id: CHAT_ID,
      object: "chat.completion.chunk",
      created: CREATED,
      model: MODEL,
      choices: [],
      usage: {
        prompt_tokens: 14,
        completion_tokens: count - 2,
        total_tokens: 14 + count - 2,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
    })
  }\n\n`);
  return { body, usage };
}

const DONE = ENCODER.encode("data: [DONE]\n\n");

function argument(name: string, fallback: number): number {
  const index = Deno.args.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(Deno.args[index + 1]);
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(
      `--${name} needs a whole number, not ${Deno.args[index + 1]}.`,
    );
  }
  return value;
}

const port = argument("port", 9100);
const events = streamEvents(Math.max(3, argument("chunks", 200)));

const JSON_HEADERS = {
  ...PROVIDER_HEADERS,
  "content-type": "application/json",
};
const SSE_HEADERS = {
  ...PROVIDER_HEADERS,
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

function stream(withUsage: boolean): Response {
  const parts = withUsage
    ? [...events.body, events.usage, DONE]
    : [...events.body, DONE];
  let next = 0;
  // One chunk per pull, so each event leaves as its own write, as a provider's would.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(parts[next++]);
      if (next === parts.length) controller.close();
    },
  }, { highWaterMark: 0 });
  return new Response(body, { headers: SSE_HEADERS });
}

Deno.serve({
  hostname: "127.0.0.1",
  port,
  onListen: ({ port }) => console.log(`listening ${port}`),
}, async (req) => {
  const path = new URL(req.url).pathname;
  if (req.method === "POST" && path === "/v1/chat/completions") {
    const text = await req.text();
    // A substring test is enough for our own clients and keeps the upstream cheap.
    if (/"stream"\s*:\s*true/.test(text)) {
      return stream(/"include_usage"\s*:\s*true/.test(text));
    }
    return new Response(COMPLETION, { headers: JSON_HEADERS });
  }
  if (req.method === "GET" && path === "/v1/models") {
    return new Response(MODELS, { headers: JSON_HEADERS });
  }
  await req.body?.cancel();
  return new Response(
    '{"error":{"message":"Not found.","type":"invalid_request_error","code":null,"param":null}}',
    {
      status: 404,
      headers: { "content-type": "application/json" },
    },
  );
});
