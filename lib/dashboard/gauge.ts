/**
 * The arithmetic of a limit's gauge: how much of the bar is used, how much is
 * held by reservations (shaded), and what a screen reader announces.
 *
 * @module
 */

import type { LimitStatus } from "../quota/types.ts";
import { formatMetricValue, METRIC_UNITS } from "./format.ts";

/** What a gauge draws and announces. */
export interface GaugeModel {
  /** Width of the used part, 0–100 (% of the bar). */
  usedPct: number;
  /** Width of the reserved part after the used part, 0–(100 − usedPct). */
  reservedPct: number;
  /** `aria-valuenow`: used plus reserved, kept within 0..valueMax as a meter requires. */
  valueNow: number;
  /** `aria-valuemax`: the limit. */
  valueMax: number;
  /** `aria-valuetext`: the whole truth in words, including any overshoot. */
  valueText: string;
  /** True when used plus reserved is above the limit. */
  over: boolean;
}

function clampPct(x: number): number {
  if (!Number.isFinite(x)) return 0;
  return Math.min(100, Math.max(0, x));
}

/** Rounds to 2 decimals so style widths stay short. */
function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

/**
 * The gauge of one limit. A limit of 0 shows a full bar as soon as anything
 * is used or held.
 *
 * @example
 * ```ts
 * gaugeModel({ limit: 100, used: 30, reserved: 20, metric: "requests", ... });
 * // { usedPct: 30, reservedPct: 20, valueNow: 50, valueMax: 100, ... }
 * ```
 */
export function gaugeModel(
  status: Pick<
    LimitStatus,
    "limit" | "used" | "reserved" | "metric" | "percent"
  >,
): GaugeModel {
  const { limit, used, reserved, metric } = status;
  const total = used + reserved;
  const usedPct = limit > 0
    ? clampPct((used / limit) * 100)
    : (used > 0 ? 100 : 0);
  const reservedRaw = limit > 0
    ? clampPct((reserved / limit) * 100)
    : (reserved > 0 ? 100 : 0);
  const reservedPct = Math.min(reservedRaw, 100 - usedPct);
  const unit = METRIC_UNITS[metric];
  const amount = (v: number) =>
    unit ? `${formatMetricValue(metric, v)} ${unit}` : formatMetricValue(
      metric,
      v,
    );
  const percent = Number.isFinite(status.percent)
    ? status.percent
    : (limit > 0 ? (total / limit) * 100 : 0);
  let valueText = `${amount(used)} used of ${amount(limit)} (${
    Math.round(percent)
  }%)`;
  if (reserved > 0) valueText += `, ${amount(reserved)} reserved`;
  if (total > limit) valueText += ", over the limit";
  return {
    usedPct: round2(usedPct),
    reservedPct: round2(reservedPct),
    valueNow: Math.min(Math.max(total, 0), Math.max(limit, 0)),
    valueMax: Math.max(limit, 0),
    valueText,
    over: total > limit,
  };
}
