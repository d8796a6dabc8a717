import assert from "node:assert/strict";
import {
  authenticationError,
  gatewayError,
  invalidRequest,
  notFound,
  openAIError,
  rateLimited,
  tooLarge,
} from "../../lib/openai/errors.ts";

async function read(res: Response) {
  return {
    status: res.status,
    type: res.headers.get("content-type"),
    body: await res.json(),
  };
}

Deno.test("errors - every error has OpenAI's shape with all four fields and a JSON content type", async () => {
  const res = await read(
    openAIError(418, "I am a teapot.", {
      type: "odd_error",
      code: "teapot",
      param: "kettle",
      headers: { "x-extra": "1" },
    }),
  );
  assert.equal(res.status, 418);
  assert.equal(res.type, "application/json");
  assert.deepEqual(res.body, {
    error: {
      message: "I am a teapot.",
      type: "odd_error",
      code: "teapot",
      param: "kettle",
    },
  });
  const bare = await read(openAIError(400, "Bad."));
  assert.deepEqual(bare.body, {
    error: {
      message: "Bad.",
      type: "invalid_request_error",
      code: null,
      param: null,
    },
  });
});

Deno.test("errors - the helpers give the status, type and code the SDK maps to its error classes", async () => {
  const bad = await read(
    invalidRequest("Missing required parameter: 'messages'.", {
      param: "messages",
      code: "missing_required_parameter",
    }),
  );
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error.param, "messages");
  const auth = await read(authenticationError());
  assert.equal(auth.status, 401);
  assert.equal(auth.body.error.code, "invalid_api_key");
  assert.match(auth.body.error.message, /Authorization: Bearer/);
  const missing = await read(
    notFound("The model 'x' is unknown.", {
      code: "model_not_found",
      param: "model",
    }),
  );
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error.code, "model_not_found");
  const large = await read(tooLarge(1_048_576));
  assert.equal(large.status, 413);
  assert.match(large.body.error.message, /1048576 bytes/);
});

Deno.test("errors - a 429 carries rate_limit_exceeded, Retry-After rounded up to seconds and retry-after-ms", async () => {
  const res = rateLimited(
    "The key team-a is over its limit of 60 requests per 1m. Try again in 1.2s.",
    {
      retryAfterMs: 1_200,
      type: "requests",
      headers: { "x-ratelimit-remaining-requests": "0" },
    },
  );
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("retry-after"), "2");
  assert.equal(res.headers.get("retry-after-ms"), "1200");
  assert.equal(res.headers.get("x-ratelimit-remaining-requests"), "0");
  const body = await res.json();
  assert.equal(body.error.code, "rate_limit_exceeded");
  assert.equal(body.error.type, "requests");
  const noWait = rateLimited("Over.");
  assert.equal(noWait.headers.get("retry-after"), null);
  await noWait.body?.cancel();
});

Deno.test("errors - gateway errors say what happened in a sentence", async () => {
  const timeout = await read(gatewayError(504));
  assert.equal(timeout.status, 504);
  assert.equal(timeout.body.error.code, "upstream_timeout");
  assert.match(timeout.body.error.message, /did not answer in time/);
  const broken = await read(
    gatewayError(502, "The provider closed the connection."),
  );
  assert.equal(
    broken.body.error.message,
    "The provider closed the connection.",
  );
  assert.equal(broken.body.error.type, "api_error");
});
