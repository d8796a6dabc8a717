import assert from "node:assert/strict";
import { classifyUpstreamError } from "../../lib/openai/upstream_error.ts";
import { readFixture } from "../support/fake_upstream.ts";

const NOW = Date.parse("2026-11-01T12:00:00Z");

Deno.test("upstream error - credit exhausted is insufficient_quota and never retryable", async () => {
  const f = await readFixture("error_429_insufficient_quota.http");
  const info = classifyUpstreamError(
    f.status,
    f.body,
    new Headers({ "retry-after": "20" }),
    NOW,
  );
  assert.equal(info.kind, "insufficient_quota");
  assert.equal(info.retryable, false);
  assert.match(info.message, /You exceeded your current quota/);
  assert.equal(info.retryAfterMs, 20_000);
});

Deno.test("upstream error - the older insufficient_quota with code null is still credit exhausted", () => {
  const body = {
    error: {
      message: "You exceeded your current quota.",
      type: "insufficient_quota",
      param: null,
      code: null,
    },
  };
  const info = classifyUpstreamError(429, JSON.stringify(body));
  assert.equal(info.kind, "insufficient_quota");
  assert.equal(info.code, null);
  assert.equal(info.retryable, false);
});

Deno.test("upstream error - a TPM rate limit is retryable, with the wait from the headers or the message", async () => {
  const f = await readFixture("error_429_rate_limit.http");
  const fromMessage = classifyUpstreamError(
    f.status,
    f.body,
    new Headers(),
    NOW,
  );
  assert.equal(fromMessage.kind, "rate_limit_exceeded");
  assert.equal(fromMessage.limitType, "tokens");
  assert.equal(fromMessage.retryable, true);
  assert.equal(fromMessage.retryAfterMs, 250);
  const fromMs = classifyUpstreamError(
    429,
    f.body,
    new Headers({ "retry-after-ms": "1500", "retry-after": "9" }),
    NOW,
  );
  assert.equal(fromMs.retryAfterMs, 1500);
  const fromDate = classifyUpstreamError(
    429,
    f.body,
    new Headers({ "retry-after": "Sun, 01 Nov 2026 12:00:03 GMT" }),
    NOW,
  );
  assert.equal(fromDate.retryAfterMs, 3000);
});

Deno.test("upstream error - an RPM limit says requests, and a request too large is never retryable", () => {
  const rpm = classifyUpstreamError(429, {
    error: {
      message:
        "Rate limit reached on requests per min (RPM). Please try again in 1m30s.",
      type: "requests",
      code: "rate_limit_exceeded",
      param: null,
    },
  });
  assert.equal(rpm.limitType, "requests");
  assert.equal(rpm.retryAfterMs, 90_000);
  const tooLarge = classifyUpstreamError(429, {
    error: {
      message:
        "Request too large for gpt-4o on tokens per min (TPM): Limit 30000, Requested 30601.",
      type: "tokens",
      code: "rate_limit_exceeded",
      param: null,
    },
  });
  assert.equal(tooLarge.kind, "rate_limit_exceeded");
  assert.equal(tooLarge.retryable, false);
});

Deno.test("upstream error - other errors keep their fields; 5xx are retryable, 4xx are not", async () => {
  const f = await readFixture("error_400_invalid_request.http");
  const bad = classifyUpstreamError(f.status, f.body);
  assert.deepEqual([bad.kind, bad.code, bad.param, bad.retryable], [
    "other",
    "missing_required_parameter",
    "messages",
    false,
  ]);
  const broken = classifyUpstreamError(502, "<html>Bad gateway</html>");
  assert.equal(broken.kind, "other");
  assert.equal(broken.retryable, true);
  assert.match(broken.message, /HTTP status 502/);
});
