import assert from "node:assert/strict";
import { QuotaInputError } from "../../lib/quota/errors.ts";
import {
  canonicalWindow,
  describeWindow,
  parseWindow,
  windowPosition,
  windowResetAt,
} from "../../lib/quota/windows.ts";

const T0 = Date.UTC(2026, 4, 12, 10, 0, 0, 0);

/** True when usage recorded at `usedAt` still counts at `now`. */
function stillCounts(window: string, usedAt: number, now: number): boolean {
  const spec = parseWindow(window);
  const used = windowPosition(spec, usedAt).bucket;
  const current = windowPosition(spec, now);
  return used > current.bucket - current.span && used <= current.bucket;
}

Deno.test("windows - durations parse into rolling windows with their slices", () => {
  const cases: [string, number, number, number][] = [
    ["30s", 30_000, 1000, 30],
    ["1m", 60_000, 1000, 60],
    ["5m", 300_000, 5000, 60],
    ["1h", 3_600_000, 60_000, 60],
    ["90m", 5_400_000, 90_000, 60],
    ["2h30m", 9_000_000, 150_000, 60],
    ["1d", 86_400_000, 1_440_000, 60],
    ["61s", 61_000, 2000, 31],
  ];
  for (const [text, durationMs, bucketMs, span] of cases) {
    assert.deepEqual(parseWindow(text), {
      kind: "rolling",
      durationMs,
      bucketMs,
      span,
    }, text);
  }
});

Deno.test("windows - equal durations share one canonical text", () => {
  assert.equal(canonicalWindow(parseWindow("90m")), "1h30m");
  assert.equal(canonicalWindow(parseWindow("1h30m")), "1h30m");
  assert.equal(canonicalWindow(parseWindow("60s")), "1m");
  assert.equal(canonicalWindow(parseWindow("24h")), "1d");
  assert.equal(
    canonicalWindow(parseWindow("day", "Europe/Berlin")),
    "day@Europe/Berlin",
  );
});

Deno.test("windows - anything else is refused with a sentence", () => {
  for (
    const text of [
      "",
      "1",
      "m",
      "1M",
      "1 m",
      "1w",
      "1.5h",
      "-1m",
      "0s",
      "0m",
      "367d",
      "1y",
      "daily",
      "1ms",
      "1m30",
    ]
  ) {
    assert.throws(() => parseWindow(text), (error: unknown) => {
      assert.ok(error instanceof QuotaInputError, text);
      assert.match(error.message, /^The window .+\.$/);
      return true;
    });
  }
  assert.throws(
    () => parseWindow("day", "Mars/Olympus"),
    /not a known IANA time zone/,
  );
});

Deno.test("windows - a 1m use counts until exactly 60 s after the start of its second", () => {
  assert.equal(stillCounts("1m", T0, T0 + 59_999), true);
  assert.equal(stillCounts("1m", T0, T0 + 60_000), false);
  // A use late in its slice leaves with its slice: 59.001 s later.
  assert.equal(stillCounts("1m", T0 + 999, T0 + 59_999), true);
  assert.equal(stillCounts("1m", T0 + 999, T0 + 60_000), false);
});

Deno.test("windows - a 1h use leaves one hour after the start of its 1-minute slice", () => {
  assert.equal(stillCounts("1h", T0, T0 + 3_599_999), true);
  assert.equal(stillCounts("1h", T0, T0 + 3_600_000), false);
  assert.equal(stillCounts("1h", T0 + 59_999, T0 + 3_600_000), false);
});

Deno.test("windows - a rolling limit resets when its newest usage leaves", () => {
  const spec = parseWindow("1m");
  const last = windowPosition(spec, T0 + 30_500).bucket;
  assert.equal(windowResetAt(spec, T0 + 40_000, last), T0 + 90_000);
  assert.equal(windowResetAt(spec, T0 + 40_000, null), null);
});

Deno.test("windows - a daily budget resets at UTC midnight", () => {
  const spec = parseWindow("day");
  const midnight = Date.UTC(2026, 4, 13);
  const before = windowPosition(spec, midnight - 1).bucket;
  const after = windowPosition(spec, midnight).bucket;
  assert.equal(after, before + 1);
  assert.equal(windowResetAt(spec, midnight - 1, null), midnight);
  assert.equal(windowResetAt(spec, midnight, null), Date.UTC(2026, 4, 14));
});

Deno.test("windows - the semantics sentence says how each window counts", () => {
  assert.equal(
    describeWindow(parseWindow("1m")),
    "Rolling 1m window: usage counts in 1-second slices and leaves the window 1m after the start of its slice.",
  );
  assert.match(describeWindow(parseWindow("61s")), /2s slices.*1m2s after/);
  assert.match(
    describeWindow(parseWindow("month", "Asia/Tokyo")),
    /Calendar month in Asia\/Tokyo: .* resets at midnight on the 1st/,
  );
});
