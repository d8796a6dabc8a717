import assert from "node:assert/strict";
import {
  formatAgo,
  formatClock,
  formatCompact,
  formatCountdown,
  formatInteger,
  formatMetricValue,
  formatUsd,
  formatWait,
  scopeTitle,
  windowLabel,
} from "../../lib/dashboard/format.ts";

Deno.test("format - counts get thousands separators and a short form for tight places", () => {
  assert.equal(formatInteger(1234567), "1,234,567");
  assert.equal(formatInteger(Number.NaN), "–");
  assert.equal(formatCompact(950), "950");
  assert.equal(formatCompact(9_999), "9,999");
  assert.equal(formatCompact(12_345), "12k");
  assert.equal(formatCompact(4_500_000), "4.5M");
  assert.equal(formatCompact(999_999), "1M");
  assert.equal(formatCompact(0.5), "1");
});

Deno.test("format - dollars keep small amounts visible instead of rounding them to zero", () => {
  assert.equal(formatUsd(0), "$0.00");
  assert.equal(formatUsd(0.000027), "$0.000027");
  assert.equal(formatUsd(0.00523), "$0.0052");
  assert.equal(formatUsd(1.5), "$1.50");
  assert.equal(formatUsd(1234.567), "$1,234.57");
  assert.equal(formatMetricValue("cost_usd", 0.25), "$0.25");
  assert.equal(formatMetricValue("tokens", 40_000), "40,000");
});

Deno.test("format - a countdown rounds up and never shows zero seconds before it is due", () => {
  assert.equal(formatCountdown(0), "now");
  assert.equal(formatCountdown(-5), "now");
  assert.equal(formatCountdown(1), "1 s");
  assert.equal(formatCountdown(59_001), "1 m 00 s");
  assert.equal(formatCountdown(185_000), "3 m 05 s");
  assert.equal(formatCountdown(2 * 3_600_000 + 14 * 60_000), "2 h 14 m");
  assert.equal(formatCountdown(3 * 86_400_000 + 4 * 3_600_000), "3 d 4 h");
  assert.equal(formatWait(250), "250 ms");
  assert.equal(formatWait(1_500), "2 s");
});

Deno.test("format - ages and clock times are written in a fixed form (UTC)", () => {
  assert.equal(formatAgo(300), "just now");
  assert.equal(formatAgo(40_000), "40 s ago");
  assert.equal(formatAgo(185_000), "3 m ago");
  assert.equal(formatClock("2026-12-01T14:03:21.500Z"), "14:03:21 UTC");
  assert.equal(formatClock(Date.UTC(2026, 0, 2, 3, 4, 5)), "03:04:05 UTC");
  assert.equal(formatClock("not a time"), "–");
});

Deno.test("format - scopes and windows are named in words", () => {
  assert.equal(scopeTitle("gateway"), "Whole gateway");
  assert.equal(scopeTitle("key:alice"), "Key alice");
  assert.equal(scopeTitle("model:gpt-4o"), "Model gpt-4o");
  assert.equal(
    scopeTitle("key:alice/model:meta-llama/Llama-3"),
    "Key alice · meta-llama/Llama-3",
  );
  assert.equal(scopeTitle("something else"), "something else");
  assert.equal(windowLabel("1m"), "per minute");
  assert.equal(windowLabel("day"), "per day");
  assert.equal(windowLabel("90m"), "per 90m");
});
