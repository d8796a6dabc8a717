import assert from "node:assert/strict";
import {
  linePath,
  minuteSeries,
  niceCeiling,
  seriesTotals,
  stackedBars,
} from "../../lib/dashboard/chart.ts";

const NOW = Date.UTC(2026, 11, 1, 12, 30, 40);
const MINUTE = 60_000;
const THIS_MINUTE = Date.UTC(2026, 11, 1, 12, 30);

function rollup(minute: number | string, requests: number, tokens = 0) {
  return {
    minute,
    requests,
    inputTokens: tokens,
    outputTokens: tokens / 2,
    costNanos: requests * 1000,
  };
}

Deno.test("chart - rollups of every key and model are summed into one bucket a minute, ending now", () => {
  const series = minuteSeries([
    rollup(THIS_MINUTE, 2, 100),
    rollup(new Date(THIS_MINUTE).toISOString(), 3, 10),
    rollup(THIS_MINUTE - 59 * MINUTE, 1),
    rollup(THIS_MINUTE - 60 * MINUTE, 7), // older than the hour
    rollup(THIS_MINUTE + MINUTE, 9), // in the future
    rollup("garbage", 4),
  ], NOW);
  assert.equal(series.length, 60);
  assert.equal(series[59].start, THIS_MINUTE);
  assert.equal(series[59].requests, 5);
  assert.equal(series[59].inputTokens, 110);
  assert.equal(series[0].start, THIS_MINUTE - 59 * MINUTE);
  assert.equal(series[0].requests, 1);
  const totals = seriesTotals(series);
  assert.equal(totals.requests, 6);
  assert.equal(totals.costNanos, 6000);
});

Deno.test("chart - the axis top is the next 1, 2 or 5 times a power of ten", () => {
  assert.equal(niceCeiling(0), 1);
  assert.equal(niceCeiling(1), 1);
  assert.equal(niceCeiling(7), 10);
  assert.equal(niceCeiling(130), 200);
  assert.equal(niceCeiling(200), 200);
  assert.equal(niceCeiling(201), 500);
  assert.equal(niceCeiling(0.3), 0.5);
  assert.equal(niceCeiling(730), 1000);
});

Deno.test("chart - stacked bars put output on top of input and reach the top at the axis maximum", () => {
  const series = minuteSeries(
    [rollup(THIS_MINUTE, 1, 100), rollup(THIS_MINUTE - MINUTE, 1, 50)],
    NOW,
    2,
  );
  const bars = stackedBars(series, { width: 100, height: 150 }, 150);
  assert.equal(bars.length, 2);
  // Minute 2: 100 input + 50 output tokens fill the 150 high box.
  assert.equal(bars[1].inputHeight, 100);
  assert.equal(bars[1].inputY, 50);
  assert.equal(bars[1].outputHeight, 50);
  assert.equal(bars[1].outputY, 0);
  assert.ok(bars[0].x + bars[0].width <= bars[1].x, "bars do not overlap");
});

Deno.test("chart - the requests line runs through the centre of each slot", () => {
  assert.equal(
    linePath([0, 5, 10], { width: 30, height: 100 }, 10),
    "M5 100 L15 50 L25 0",
  );
  assert.equal(linePath([], { width: 30, height: 100 }, 10), "");
});
