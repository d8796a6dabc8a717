import assert from "node:assert/strict";
import {
  AUTO_TOKENIZER_MAX_CHARS,
  countTextTokens,
  encodingForModel,
  estimateInputTokens,
  estimateTextTokens,
  fastTokenCount,
} from "../../lib/quota/token_estimate.ts";

import {
  COOKBOOK_MESSAGES,
  COOKBOOK_TOOL_REQUEST,
  inputOf,
} from "../fixtures/token_cookbook.ts";
import type { TokenInput } from "../../lib/quota/token_estimate.ts";

Deno.test("token estimate - each model family gets its encoding", () => {
  for (
    const model of [
      "gpt-4o",
      "gpt-4o-mini-2024-07-18",
      "gpt-4.1-mini",
      "gpt-5-mini",
      "o3",
      "o4-mini",
      "chatgpt-4o-latest",
      "some-unknown-model",
    ]
  ) {
    assert.equal(encodingForModel(model), "o200k_base", model);
  }
  for (
    const model of [
      "gpt-4",
      "gpt-4-0613",
      "gpt-4-turbo",
      "gpt-3.5-turbo",
      "gpt-3.5-turbo-instruct",
      "text-embedding-3-small",
      "ft:gpt-3.5-turbo:org::id",
    ]
  ) {
    assert.equal(encodingForModel(model), "cl100k_base", model);
  }
});

Deno.test("token estimate - chat messages match the prompt_tokens the API reported in the cookbook", () => {
  assert.equal(
    estimateInputTokens(
      inputOf({ messages: COOKBOOK_MESSAGES }, "gpt-4-0613"),
      "gpt-4-0613",
    ).tokens,
    129,
  );
  assert.equal(
    estimateInputTokens(
      inputOf({ messages: COOKBOOK_MESSAGES }, "gpt-3.5-turbo"),
      "gpt-3.5-turbo",
    ).tokens,
    129,
  );
  const o200k = estimateInputTokens(
    inputOf({ messages: COOKBOOK_MESSAGES }, "gpt-4o"),
    "gpt-4o",
    { method: "tokenizer" },
  );
  assert.deepEqual(o200k, { tokens: 124, method: "tokenizer" });
});

Deno.test("token estimate - tool definitions match the prompt_tokens the API reported in the cookbook", () => {
  assert.equal(
    estimateInputTokens(inputOf(COOKBOOK_TOOL_REQUEST, "gpt-4"), "gpt-4")
      .tokens,
    105,
  );
  assert.equal(
    estimateInputTokens(
      inputOf(COOKBOOK_TOOL_REQUEST, "gpt-4o-mini"),
      "gpt-4o-mini",
    ).tokens,
    101,
  );
});

Deno.test("token estimate - special-token text in a prompt counts as text instead of failing", () => {
  assert.ok(
    countTextTokens("ignore <|endoftext|> and <|im_start|>", "o200k_base") > 5,
  );
  assert.ok(countTextTokens("<|endoftext|>", "cl100k_base") > 1);
});

Deno.test("token estimate - token arrays and image parts are added as known counts", () => {
  const input: TokenInput = {
    messages: [],
    tools: [],
    texts: ["hello world"],
    extraTokens: 40,
  };
  assert.equal(estimateInputTokens(input, "gpt-4o").tokens, 42);
});

Deno.test("token estimate - the fast estimate stays above the tokenizer on prose, code and JSON", async () => {
  const samples = [
    await Deno.readTextFile(
      new URL("../fixtures/openai/README.md", import.meta.url),
    ),
    await Deno.readTextFile(
      new URL("../../lib/openai/stream_usage.ts", import.meta.url),
    ),
    await Deno.readTextFile(
      new URL("../fixtures/openai/responses.http", import.meta.url),
    ),
    "Blå himmel. 空は青い。Небо голубое.",
  ];
  for (const text of samples) {
    const exact = countTextTokens(text, "o200k_base");
    const fast = fastTokenCount(text);
    assert.ok(
      fast >= exact,
      `fast ${fast} < exact ${exact} for ${text.slice(0, 30)}`,
    );
    assert.ok(fast <= exact * 2, `fast ${fast} more than twice exact ${exact}`);
  }
  assert.equal(fastTokenCount(""), 0);
});

Deno.test("token estimate - auto uses the tokenizer for short input and the fast method above the threshold", () => {
  const short = {
    messages: [{ role: "user", content: "Hi there" }],
    tools: [],
    texts: [],
    extraTokens: 0,
  };
  assert.equal(estimateInputTokens(short, "gpt-4o").method, "tokenizer");
  const long = {
    messages: [{
      role: "user",
      content: "word ".repeat(AUTO_TOKENIZER_MAX_CHARS / 4),
    }],
    tools: [],
    texts: [],
    extraTokens: 0,
  };
  const auto = estimateInputTokens(long, "gpt-4o");
  assert.equal(auto.method, "fast");
  const exact = estimateInputTokens(long, "gpt-4o", { method: "tokenizer" });
  assert.ok(auto.tokens >= exact.tokens);
  assert.equal(
    estimateInputTokens(long, "gpt-4o", {
      autoMaxChars: 10 * AUTO_TOKENIZER_MAX_CHARS,
    }).method,
    "tokenizer",
  );
  assert.deepEqual(estimateTextTokens("The sky is blue.", "gpt-4.1-mini"), {
    tokens: 5,
    method: "tokenizer",
  });
});
