import assert from "node:assert/strict";
import {
  endpointForPath,
  forwardBody,
  IMAGE_PART_TOKENS,
  outputReservation,
  parseRequestBody,
} from "../../lib/openai/request_body.ts";
import type { Endpoint, ParsedRequest } from "../../lib/openai/request_body.ts";

function parse(endpoint: Endpoint, body: unknown): ParsedRequest {
  const result = parseRequestBody(endpoint, JSON.stringify(body));
  if (!result.ok) throw new Error(result.error.message);
  return result.request;
}

function refuse(endpoint: Endpoint, raw: string) {
  const result = parseRequestBody(endpoint, raw);
  assert.equal(result.ok, false, raw);
  return result.ok ? null! : result.error;
}

Deno.test("request body - paths name the four accounted endpoints and nothing else", () => {
  assert.equal(endpointForPath("/v1/chat/completions"), "chat.completions");
  assert.equal(endpointForPath("/v1/completions"), "completions");
  assert.equal(endpointForPath("/embeddings"), "embeddings");
  assert.equal(endpointForPath("/v1/responses/"), "responses");
  assert.equal(endpointForPath("/v1/models"), null);
  assert.equal(endpointForPath("/v1/responses/resp_1"), null);
});

Deno.test("request body - a chat request gives its model, stream flags, output bound and messages", () => {
  const req = parse("chat.completions", {
    model: "gpt-4.1-mini",
    stream: true,
    stream_options: { include_usage: true },
    max_completion_tokens: 300,
    n: 2,
    messages: [
      { role: "system", content: "Be brief." },
      {
        role: "user",
        name: "ann",
        content: [{ type: "text", text: "What is " }, {
          type: "text",
          text: "this?",
        }, { type: "image_url", image_url: { url: "data:," } }],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{
          id: "c1",
          type: "function",
          function: { name: "look", arguments: '{"x":1}' },
        }],
      },
    ],
  });
  assert.equal(req.model, "gpt-4.1-mini");
  assert.equal(req.stream, true);
  assert.equal(req.clientAskedUsage, true);
  assert.equal(req.maxOutputTokens, 600);
  assert.equal(req.outputs, 2);
  assert.deepEqual(req.tokenInput.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", name: "ann", content: "What is this?" },
    { role: "assistant", content: 'look{"x":1}' },
  ]);
  assert.equal(req.tokenInput.extraTokens, IMAGE_PART_TOKENS);
});

Deno.test("request body - max_tokens and max_completion_tokens: the larger bounds the output; none gives null", () => {
  assert.equal(
    parse("chat.completions", {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      max_tokens: 50,
      max_completion_tokens: 80,
    }).maxOutputTokens,
    80,
  );
  const open = parse("chat.completions", {
    model: "m",
    messages: [{ role: "user", content: "x" }],
    n: 3,
  });
  assert.equal(open.maxOutputTokens, null);
  assert.equal(outputReservation(open, 4096), 3 * 4096);
  assert.equal(
    parse("responses", { model: "m", input: "x", max_output_tokens: 1000 })
      .maxOutputTokens,
    1000,
  );
  assert.equal(
    parse("responses", { model: "m", input: "x" }).maxOutputTokens,
    null,
  );
});

Deno.test("request body - tools, legacy functions and response formats count as input", () => {
  const req = parse("chat.completions", {
    model: "m",
    messages: [{ role: "user", content: "x" }],
    tools: [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather.",
          parameters: {
            type: "object",
            properties: { city: { type: "string" } },
          },
        },
      },
      { type: "custom", custom: { name: "grammar_tool" } },
    ],
    functions: [{ name: "old_style", parameters: {} }],
    response_format: {
      type: "json_schema",
      json_schema: { name: "answer", schema: { type: "object" } },
    },
  });
  assert.deepEqual(req.tokenInput.tools.map((t) => t.name), [
    "get_weather",
    "old_style",
  ]);
  assert.equal(req.tokenInput.texts.length, 2);
  assert.match(req.tokenInput.texts[0], /grammar_tool/);
  assert.match(req.tokenInput.texts[1], /json_schema/);
});

Deno.test("request body - legacy completions: prompts, token arrays, n and best_of bound the output; default 16", () => {
  const req = parse("completions", {
    model: "gpt-3.5-turbo-instruct",
    prompt: ["The sky is", "Grass is"],
    n: 2,
    best_of: 3,
    max_tokens: 5,
    stream: true,
  });
  assert.deepEqual(req.tokenInput.texts, ["The sky is", "Grass is"]);
  assert.equal(req.outputs, 6);
  assert.equal(req.maxOutputTokens, 30);
  const tokens = parse("completions", {
    model: "m",
    prompt: [[1, 2, 3], [4, 5]],
  });
  assert.equal(tokens.tokenInput.extraTokens, 5);
  assert.equal(tokens.maxOutputTokens, 32);
  assert.equal(
    parse("completions", { model: "m", prompt: [1, 2, 3, 4] }).tokenInput
      .extraTokens,
    4,
  );
});

Deno.test("request body - embeddings have no output and never stream", () => {
  const req = parse("embeddings", {
    model: "text-embedding-3-small",
    input: ["a", "b"],
    stream: true,
  });
  assert.equal(req.maxOutputTokens, 0);
  assert.equal(req.stream, false);
  assert.deepEqual(req.tokenInput.texts, ["a", "b"]);
});

Deno.test("request body - Responses input, instructions, items and hidden context are read", () => {
  const req = parse("responses", {
    model: "gpt-5-mini",
    instructions: "Answer in French.",
    previous_response_id: "resp_1",
    input: [
      {
        role: "user",
        content: [{ type: "input_text", text: "Bonjour" }, {
          type: "input_image",
          image_url: "data:,",
          detail: "low",
        }],
      },
      { type: "function_call", name: "lookup", arguments: "{}", call_id: "c" },
      { type: "function_call_output", call_id: "c", output: "42" },
    ],
    tools: [{
      type: "function",
      name: "lookup",
      parameters: { type: "object", properties: {} },
    }, { type: "web_search" }],
  });
  assert.deepEqual(req.tokenInput.messages, [{
    role: "developer",
    content: "Answer in French.",
  }, { role: "user", content: "Bonjour" }]);
  assert.deepEqual(req.tokenInput.texts.slice(0, 3), ["lookup", "{}", "42"]);
  assert.equal(req.tokenInput.extraTokens, 85);
  assert.deepEqual(req.tokenInput.tools.map((t) => t.name), ["lookup"]);
  assert.equal(req.hiddenContext, true);
  assert.equal(
    parse("responses", { model: "m", input: "Hi" }).hiddenContext,
    false,
  );
});

Deno.test("request body - bad bodies are refused with OpenAI-style messages, codes and params", () => {
  const cases: [Endpoint, string, string | null, string, RegExp][] = [
    ["chat.completions", "{not json", null, "invalid_json", /not valid JSON/],
    [
      "chat.completions",
      "[1]",
      null,
      "invalid_type",
      /must be a JSON object, but it is an array/,
    ],
    [
      "chat.completions",
      JSON.stringify({ messages: [] }),
      "model",
      "missing_required_parameter",
      /Missing required parameter: 'model'/,
    ],
    [
      "chat.completions",
      JSON.stringify({ model: 4, messages: [] }),
      "model",
      "invalid_type",
      /expected a string, but got an integer/,
    ],
    [
      "chat.completions",
      JSON.stringify({ model: " " }),
      "model",
      "invalid_value",
      /it is empty/,
    ],
    [
      "chat.completions",
      JSON.stringify({ model: "m" }),
      "messages",
      "missing_required_parameter",
      /Missing required parameter: 'messages'\./,
    ],
    [
      "chat.completions",
      JSON.stringify({ model: "m", messages: [] }),
      "messages",
      "empty_array",
      /empty array/,
    ],
    [
      "chat.completions",
      JSON.stringify({ model: "m", messages: [{ content: "x" }] }),
      "messages[0].role",
      "missing_required_parameter",
      /messages\[0\]\.role/,
    ],
    [
      "chat.completions",
      JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream: "yes",
      }),
      "stream",
      "invalid_type",
      /expected a boolean/,
    ],
    [
      "chat.completions",
      JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        max_tokens: -5,
      }),
      "max_tokens",
      "invalid_value",
      /at least 1, but got -5/,
    ],
    [
      "chat.completions",
      JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        max_tokens: 2.5,
      }),
      "max_tokens",
      "invalid_value",
      /whole number/,
    ],
    [
      "chat.completions",
      JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        stream_options: { include_usage: 1 },
      }),
      "stream_options.include_usage",
      "invalid_type",
      /boolean/,
    ],
    [
      "completions",
      JSON.stringify({ model: "m" }),
      "prompt",
      "missing_required_parameter",
      /'prompt'/,
    ],
    [
      "completions",
      JSON.stringify({ model: "m", prompt: [{}] }),
      "prompt",
      "invalid_type",
      /array of token arrays/,
    ],
    [
      "embeddings",
      JSON.stringify({ model: "m", input: [] }),
      "input",
      "empty_array",
      /at least one item/,
    ],
    [
      "responses",
      JSON.stringify({ model: "m", input: 5 }),
      "input",
      "invalid_type",
      /a string or an array/,
    ],
  ];
  for (const [endpoint, raw, param, code, message] of cases) {
    const error = refuse(endpoint, raw);
    assert.equal(error.param, param, raw);
    assert.equal(error.code, code, raw);
    assert.match(error.message, message, raw);
  }
});

Deno.test("request body - a stream without include_usage gets it injected, other options kept", () => {
  const raw = {
    model: "m",
    messages: [{ role: "user", content: "x" }],
    stream: true,
    stream_options: { include_obfuscation: false },
  };
  const forward = forwardBody(parse("chat.completions", raw));
  assert.equal(forward.injectedUsage, true);
  assert.deepEqual(JSON.parse(forward.body), {
    ...raw,
    stream_options: { include_obfuscation: false, include_usage: true },
  });
  const legacy = forwardBody(
    parse("completions", {
      model: "m",
      prompt: "x",
      stream: true,
      stream_options: null,
    }),
  );
  assert.equal(legacy.injectedUsage, true);
  assert.deepEqual(JSON.parse(legacy.body).stream_options, {
    include_usage: true,
  });
});

Deno.test("request body - bodies that need nothing are forwarded byte for byte", () => {
  const bodies: [Endpoint, string][] = [
    [
      "chat.completions",
      '{ "model":"m", "messages":[{"role":"user","content":"x"}], "stream":true, "stream_options":{"include_usage":true} }',
    ],
    [
      "chat.completions",
      '{"model":"m","messages":[{"role":"user","content":"x"}]}',
    ],
    ["responses", '{"model":"m","input":"x","stream":true}'],
    ["embeddings", '{"model":"m","input":"x"}'],
  ];
  for (const [endpoint, raw] of bodies) {
    const parsed = parseRequestBody(endpoint, raw);
    assert.ok(parsed.ok);
    const forward = forwardBody(parsed.request);
    assert.equal(forward.body, raw);
    assert.equal(forward.injectedUsage, false);
  }
});
