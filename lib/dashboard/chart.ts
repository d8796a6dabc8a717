/**
 * The maths of the "last hour" usage chart: per-minute rollups summed into
 * one bucket per minute, a rounded scale, stacked bars and a line path. Pure,
 * so the same SVG comes out of the server and the browser.
 *
 * @module
 */

const MINUTE_MS = 60_000;

/** A per-minute rollup as GET /api/quota/usage returns it (minute as ISO) or the store keeps it (epoch ms). */
export interface RollupLike {
  minute: string | number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/** One minute of the whole gateway's usage. */
export interface MinuteBucket {
  /** Epoch ms of the minute's start. */
  start: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  costNanos: number;
}

/**
 * One bucket per minute for the `minutes` minutes that end with the minute
 * holding `now`, oldest first; rollups of every key and model are summed, and
 * minutes without traffic are zero. Rollups outside the range are ignored.
 */
export function minuteSeries(
  rollups: readonly RollupLike[],
  now: number,
  minutes = 60,
): MinuteBucket[] {
  const last = Math.floor(now / MINUTE_MS) * MINUTE_MS;
  const first = last - (minutes - 1) * MINUTE_MS;
  const buckets: MinuteBucket[] = Array.from({ length: minutes }, (_, i) => ({
    start: first + i * MINUTE_MS,
    requests: 0,
    inputTokens: 0,
    outputTokens: 0,
    costNanos: 0,
  }));
  for (const rollup of rollups) {
    const at = typeof rollup.minute === "number"
      ? rollup.minute
      : Date.parse(rollup.minute);
    if (!Number.isFinite(at)) continue;
    const index = Math.floor((at - first) / MINUTE_MS);
    if (index < 0 || index >= minutes) continue;
    const bucket = buckets[index];
    bucket.requests += rollup.requests;
    bucket.inputTokens += rollup.inputTokens;
    bucket.outputTokens += rollup.outputTokens;
    bucket.costNanos += rollup.costNanos;
  }
  return buckets;
}

/** Totals over a series. */
export function seriesTotals(series: readonly MinuteBucket[]): MinuteBucket {
  return series.reduce(
    (sum, b) => ({
      start: sum.start,
      requests: sum.requests + b.requests,
      inputTokens: sum.inputTokens + b.inputTokens,
      outputTokens: sum.outputTokens + b.outputTokens,
      costNanos: sum.costNanos + b.costNanos,
    }),
    {
      start: series[0]?.start ?? 0,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      costNanos: 0,
    },
  );
}

/**
 * The smallest "nice" number (1, 2 or 5 times a power of ten) at or above
 * `value`, for the top of an axis; 1 for zero or less.
 *
 * @example
 * ```ts
 * niceCeiling(730); // 1000
 * niceCeiling(130); // 200
 * ```
 */
export function niceCeiling(value: number): number {
  if (!(value > 0) || !Number.isFinite(value)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) {
    // The epsilon keeps 3 × 0.1 and its floating-point friends on the right step.
    if (step * power >= value * (1 - 1e-12)) return step * power;
  }
  return 10 * power;
}

/** The plot area inside the SVG. */
export interface PlotBox {
  width: number;
  height: number;
}

/** One stacked bar: input tokens at the bottom, output tokens above. */
export interface StackedBar {
  x: number;
  width: number;
  inputY: number;
  inputHeight: number;
  outputY: number;
  outputHeight: number;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/**
 * Stacked token bars for a series in a plot box, scaled so that `max` (the
 * axis top) reaches the top. Each bar leaves a small gap to its neighbours.
 */
export function stackedBars(
  series: readonly MinuteBucket[],
  box: PlotBox,
  max: number,
): StackedBar[] {
  const slot = series.length > 0 ? box.width / series.length : 0;
  const gap = Math.min(2, slot * 0.25);
  const scale = max > 0 ? box.height / max : 0;
  return series.map((b, i) => {
    const inputHeight = b.inputTokens * scale;
    const outputHeight = b.outputTokens * scale;
    return {
      x: round1(i * slot + gap / 2),
      width: round1(Math.max(slot - gap, 0.5)),
      inputY: round1(box.height - inputHeight),
      inputHeight: round1(inputHeight),
      outputY: round1(box.height - inputHeight - outputHeight),
      outputHeight: round1(outputHeight),
    };
  });
}

/**
 * An SVG path through `values`, one point at the centre of each slot, scaled
 * so that `max` reaches the top: "M x y L x y …"; empty for no values.
 */
export function linePath(
  values: readonly number[],
  box: PlotBox,
  max: number,
): string {
  if (values.length === 0) return "";
  const slot = box.width / values.length;
  const scale = max > 0 ? box.height / max : 0;
  return values.map((v, i) => {
    const x = round1(i * slot + slot / 2);
    const y = round1(box.height - Math.max(0, v) * scale);
    return `${i === 0 ? "M" : "L"}${x} ${y}`;
  }).join(" ");
}
