import assert from "node:assert/strict";
import {
  formatGoDuration,
  formatRateLimitHeaders,
  parseGoDuration,
  parseRetryAfter,
  parseUpstreamRateLimitHeaders,
} from "../../lib/openai/rate_limit_headers.ts";
import type { LimitStatus } from "../../lib/quota/types.ts";
import { readFixture } from "../support/fake_upstream.ts";

const NOW = Date.parse("2026-11-01T12:00:00.000Z");

Deno.test("rate limit headers - Go durations as OpenAI sends them become milliseconds", () => {
  const cases: [string, number][] = [
    ["1s", 1000],
    ["20ms", 20],
    ["6m0s", 360_000],
    ["1m30s", 90_000],
    ["2m30.5s", 150_500],
    ["0s", 0],
    ["1h2m3.5s", 3_723_500],
    ["59.451s", 59_451],
    ["12ms", 12],
    ["0", 0],
    ["1.5ms", 1.5],
  ];
  for (const [text, ms] of cases) assert.equal(parseGoDuration(text), ms, text);
});

Deno.test("rate limit headers - malformed durations are ignored, never NaN", () => {
  for (
    const text of [
      "",
      "abc",
      "1",
      "-1s",
      "1x",
      "s",
      "1s2",
      "1.s",
      "NaN",
      "Infinitys",
      "1 s",
      null,
      undefined,
    ]
  ) {
    assert.equal(parseGoDuration(text), null, String(text));
  }
});

Deno.test("rate limit headers - the provider's headers become UpstreamQuota fields with reset times", async () => {
  const f = await readFixture("error_429_rate_limit.http");
  const fields = parseUpstreamRateLimitHeaders(new Headers(f.headers), NOW);
  assert.deepEqual(fields, {
    limitRequests: 500,
    remainingRequests: 499,
    resetRequestsAt: "2026-11-01T12:00:00.120Z",
    limitTokens: 200000,
    remainingTokens: 1830,
    resetTokensAt: "2026-11-01T12:00:59.451Z",
  });
});

Deno.test("rate limit headers - missing or malformed provider headers are left out", () => {
  assert.deepEqual(parseUpstreamRateLimitHeaders(new Headers(), NOW), {});
  const fields = parseUpstreamRateLimitHeaders(
    new Headers({
      "x-ratelimit-limit-requests": "lots",
      "x-ratelimit-remaining-requests": "-3",
      "x-ratelimit-limit-tokens": "1.5",
      "x-ratelimit-remaining-tokens": "42",
      "x-ratelimit-reset-tokens": "soon",
      "x-ratelimit-reset-requests": "1m30s",
    }),
    NOW,
  );
  assert.deepEqual(fields, {
    remainingTokens: 42,
    resetRequestsAt: "2026-11-01T12:01:30.000Z",
  });
});

Deno.test("rate limit headers - our durations are written like OpenAI's and read back the same", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [-5, "0s"],
    [12, "12ms"],
    [0.4, "1ms"],
    [1000, "1s"],
    [59_451, "59.451s"],
    [360_000, "6m0s"],
    [150_500, "2m30.5s"],
    [3_723_500, "1h2m3.5s"],
    [86_400_000, "24h0m0s"],
  ];
  for (const [ms, text] of cases) {
    assert.equal(formatGoDuration(ms), text, String(ms));
    if (ms > 0 && Number.isInteger(ms)) assert.equal(parseGoDuration(text), ms);
  }
});

function status(
  partial:
    & Partial<LimitStatus>
    & Pick<LimitStatus, "metric" | "limit" | "remaining">,
): LimitStatus {
  return {
    id: `${partial.metric}-${partial.limit}`,
    scope: "key:team-a",
    window: "1m",
    semantics: "rolling 1m",
    used: partial.limit - partial.remaining,
    reserved: 0,
    percent: 0,
    state: "ok",
    resetAt: null,
    ...partial,
  };
}

Deno.test("rate limit headers - we report the tightest requests limit and the tightest tokens limit", () => {
  const headers = formatRateLimitHeaders([
    status({
      metric: "requests",
      limit: 1000,
      remaining: 900,
      resetAt: "2026-11-01T13:00:00.000Z",
    }),
    status({
      metric: "requests",
      limit: 60,
      remaining: 12,
      resetAt: "2026-11-01T12:00:20.000Z",
    }),
    status({
      metric: "tokens",
      limit: 100000,
      remaining: 5000.7,
      resetAt: "2026-11-01T12:06:00.000Z",
    }),
    status({
      metric: "output_tokens",
      limit: 20000,
      remaining: 19000,
      resetAt: "2026-11-01T12:00:01.000Z",
    }),
    status({ metric: "cost_usd", limit: 5, remaining: 0 }),
  ], NOW);
  assert.deepEqual(headers, {
    "x-ratelimit-limit-requests": "60",
    "x-ratelimit-remaining-requests": "12",
    "x-ratelimit-reset-requests": "20s",
    "x-ratelimit-limit-tokens": "100000",
    "x-ratelimit-remaining-tokens": "5000",
    "x-ratelimit-reset-tokens": "6m0s",
  });
});

Deno.test("rate limit headers - no limits give no headers, an exhausted one says 0 remaining", () => {
  assert.deepEqual(formatRateLimitHeaders([], NOW), {});
  const headers = formatRateLimitHeaders([
    status({ metric: "requests", limit: 10, remaining: -2, resetAt: null }),
  ], NOW);
  assert.deepEqual(headers, {
    "x-ratelimit-limit-requests": "10",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": "0s",
  });
});

Deno.test("rate limit headers - Retry-After is read from milliseconds, seconds or an HTTP date", () => {
  assert.equal(
    parseRetryAfter(
      new Headers({ "retry-after-ms": "250", "retry-after": "3" }),
      NOW,
    ),
    250,
  );
  assert.equal(parseRetryAfter(new Headers({ "retry-after": "3" }), NOW), 3000);
  assert.equal(
    parseRetryAfter(
      new Headers({ "retry-after": "Sun, 01 Nov 2026 12:00:30 GMT" }),
      NOW,
    ),
    30_000,
  );
  assert.equal(
    parseRetryAfter(
      new Headers({ "retry-after": "Sun, 01 Nov 2026 11:00:00 GMT" }),
      NOW,
    ),
    0,
  );
  assert.equal(
    parseRetryAfter(new Headers({ "retry-after": "tomorrow-ish" }), NOW),
    null,
  );
  assert.equal(
    parseRetryAfter(new Headers({ "retry-after-ms": "-1" }), NOW),
    null,
  );
  assert.equal(parseRetryAfter(new Headers(), NOW), null);
});
