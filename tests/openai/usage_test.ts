import assert from "node:assert/strict";
import { normalizeUsage, totalTokens } from "../../lib/openai/usage.ts";
import { readFixture } from "../support/fake_upstream.ts";

Deno.test("usage - chat usage keeps cached inside input and reasoning inside output", async () => {
  const body = JSON.parse((await readFixture("chat_completion.http")).body);
  const result = normalizeUsage(body.usage);
  assert.deepEqual(result, {
    ok: true,
    usage: {
      inputTokens: 1536,
      cachedTokens: 1280,
      outputTokens: 212,
      reasoningTokens: 192,
    },
  });
  if (result.ok) {
    assert.equal(totalTokens(result.usage), body.usage.total_tokens);
  }
});

Deno.test("usage - Responses usage is read from input_tokens/output_tokens and their details", async () => {
  const body = JSON.parse((await readFixture("responses.http")).body);
  const result = normalizeUsage(body.usage);
  assert.deepEqual(result, {
    ok: true,
    usage: {
      inputTokens: 1420,
      cachedTokens: 1280,
      outputTokens: 150,
      reasoningTokens: 128,
    },
  });
  if (result.ok) {
    assert.equal(totalTokens(result.usage), body.usage.total_tokens);
  }
});

Deno.test("usage - embeddings usage has input only", async () => {
  const body = JSON.parse((await readFixture("embeddings.http")).body);
  assert.deepEqual(normalizeUsage(body.usage), {
    ok: true,
    usage: {
      inputTokens: 5,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    },
  });
  assert.deepEqual(normalizeUsage({ total_tokens: 9 }), {
    ok: false,
    error:
      "The usage has neither prompt_tokens/completion_tokens nor input_tokens/output_tokens.",
  });
});

Deno.test("usage - legacy usage without details and unknown detail fields are accepted", () => {
  assert.deepEqual(
    normalizeUsage({
      prompt_tokens: 7,
      completion_tokens: 5,
      total_tokens: 12,
    }),
    {
      ok: true,
      usage: {
        inputTokens: 7,
        cachedTokens: 0,
        outputTokens: 5,
        reasoningTokens: 0,
      },
    },
  );
  const extra = normalizeUsage({
    prompt_tokens: 10,
    completion_tokens: 4,
    prompt_tokens_details: {
      cached_tokens: 2,
      cache_write_tokens: 3,
      text_tokens: 10,
      image_tokens: 0,
    },
    completion_tokens_details: {
      reasoning_tokens: 1,
      rejected_prediction_tokens: 2,
    },
  });
  assert.deepEqual(extra, {
    ok: true,
    usage: {
      inputTokens: 10,
      cachedTokens: 2,
      outputTokens: 4,
      reasoningTokens: 1,
    },
  });
});

Deno.test("usage - impossible numbers are refused with the field named", () => {
  const cases: [unknown, RegExp][] = [
    [
      { prompt_tokens: -1, completion_tokens: 0 },
      /prompt_tokens must be a whole number/,
    ],
    [
      { prompt_tokens: 1.5, completion_tokens: 0 },
      /prompt_tokens must be a whole number/,
    ],
    [
      { prompt_tokens: NaN, completion_tokens: 0 },
      /prompt_tokens must be a whole number/,
    ],
    [
      { prompt_tokens: "12", completion_tokens: 0 },
      /prompt_tokens must be a whole number/,
    ],
    [
      { input_tokens: 5, output_tokens: Infinity },
      /output_tokens must be a whole number/,
    ],
    [{
      prompt_tokens: 10,
      completion_tokens: 0,
      prompt_tokens_details: { cached_tokens: 11 },
    }, /cached_tokens \(11\) is larger than the input tokens \(10\)/],
    [{
      input_tokens: 10,
      output_tokens: 2,
      output_tokens_details: { reasoning_tokens: 3 },
    }, /reasoning_tokens \(3\) is larger than the output tokens \(2\)/],
    [{
      input_tokens: 10,
      output_tokens: 2,
      input_tokens_details: { cached_tokens: -4 },
    }, /input_tokens_details.cached_tokens must be a whole number/],
    [null, /missing or is not an object/],
    [[1, 2], /missing or is not an object/],
  ];
  for (const [raw, message] of cases) {
    const result = normalizeUsage(raw);
    assert.equal(result.ok, false, JSON.stringify(raw));
    if (!result.ok) assert.match(result.error, message);
  }
});
