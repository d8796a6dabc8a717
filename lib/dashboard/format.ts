/**
 * How the dashboard writes numbers, durations, times and names. Pure and
 * locale-fixed (en-US, UTC), so the server's first HTML and the browser's
 * first render agree character for character.
 *
 * @module
 */

import { parseScope } from "../quota/scope.ts";
import type { Metric, ScopeId } from "../quota/types.ts";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const INTEGER = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** The name of each metric, as a column or gauge label. */
export const METRIC_LABELS: Readonly<Record<Metric, string>> = {
  requests: "Requests",
  input_tokens: "Input tokens",
  output_tokens: "Output tokens",
  tokens: "Tokens",
  cost_usd: "Spend",
};

/** The unit word after a number of the metric ("1,200 tokens"); empty for money. */
export const METRIC_UNITS: Readonly<Record<Metric, string>> = {
  requests: "requests",
  input_tokens: "input tokens",
  output_tokens: "output tokens",
  tokens: "tokens",
  cost_usd: "",
};

/** A whole number with thousands separators: `formatInteger(12345)` is "12,345". */
export function formatInteger(value: number): string {
  if (!Number.isFinite(value)) return "–";
  return INTEGER.format(Math.round(value));
}

/**
 * A count in a short form for tight places: "950", "12.3k", "4.5M".
 *
 * @example
 * ```ts
 * formatCompact(12_345); // "12.3k"
 * ```
 */
export function formatCompact(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  const scaled = (divisor: number, suffix: string) => {
    const x = value / divisor;
    const text = Math.abs(x) < 10 ? x.toFixed(1) : Math.round(x).toString();
    return `${text.replace(/\.0$/, "")}${suffix}`;
  };
  if (abs >= 999_500_000) return scaled(1e9, "B");
  if (abs >= 999_500) return scaled(1e6, "M");
  if (abs >= 10_000) return scaled(1e3, "k");
  return formatInteger(value);
}

/**
 * Dollars with enough digits to see small amounts: "$0.000027", "$0.0042",
 * "$1.50", "$1,234.57".
 */
export function formatUsd(value: number): string {
  if (!Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs === 0) return "$0.00";
  // Below a cent, two significant digits: a call costing $0.000027 is not "$0.00".
  const text = abs < 0.01
    ? Number(abs.toPrecision(2)).toFixed(
      Math.min(12, Math.max(2, 1 - Math.floor(Math.log10(abs)))),
    )
    : abs.toLocaleString("en-US", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2,
    });
  return `${value < 0 ? "-" : ""}$${text}`;
}

/** A value of a metric in its unit: "1,200" for counts, "$0.42" for money. */
export function formatMetricValue(metric: Metric, value: number): string {
  return metric === "cost_usd" ? formatUsd(value) : formatInteger(value);
}

/** Dollars from integer nano-dollars, as the store keeps them. */
export function nanosToUsd(nanos: number): number {
  return nanos / 1e9;
}

/**
 * A span of time as a countdown: "now", "42 s", "3 m 05 s", "2 h 14 m",
 * "3 d 4 h". Rounds up, so a countdown never shows "0 s" before it is due.
 */
export function formatCountdown(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return "now";
  const total = Math.ceil(ms / SECOND) * SECOND;
  if (total < MINUTE) return `${total / SECOND} s`;
  if (total < HOUR) {
    const m = Math.floor(total / MINUTE);
    const s = Math.floor((total % MINUTE) / SECOND);
    return `${m} m ${String(s).padStart(2, "0")} s`;
  }
  if (total < DAY) {
    const h = Math.floor(total / HOUR);
    const m = Math.floor((total % HOUR) / MINUTE);
    return `${h} h ${String(m).padStart(2, "0")} m`;
  }
  const d = Math.floor(total / DAY);
  const h = Math.floor((total % DAY) / HOUR);
  return `${d} d ${h} h`;
}

/** A short wait as the provider states it: "250 ms" below a second, a countdown above. */
export function formatWait(ms: number): string {
  if (Number.isFinite(ms) && ms > 0 && ms < SECOND) {
    return `${Math.round(ms)} ms`;
  }
  return formatCountdown(ms);
}

/** How long ago something happened: "just now", "40 s ago", "3 m ago", "2 h ago". */
export function formatAgo(ms: number): string {
  if (!Number.isFinite(ms) || ms < SECOND) return "just now";
  if (ms < MINUTE) return `${Math.floor(ms / SECOND)} s ago`;
  if (ms < HOUR) return `${Math.floor(ms / MINUTE)} m ago`;
  if (ms < DAY) return `${Math.floor(ms / HOUR)} h ago`;
  return `${Math.floor(ms / DAY)} d ago`;
}

/** A time of day in UTC, "14:03:21 UTC", from epoch ms or an ISO string. */
export function formatClock(time: number | string): string {
  const ms = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return "–";
  return `${new Date(ms).toISOString().slice(11, 19)} UTC`;
}

/** A date and time in UTC, "2026-12-01 14:03 UTC". */
export function formatDateTime(time: number | string): string {
  const ms = typeof time === "number" ? time : Date.parse(time);
  if (!Number.isFinite(ms)) return "–";
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/**
 * A scope's title for a card: "Whole gateway", "Key alice", "Model gpt-4o",
 * "Key alice · gpt-4o". An id the parser does not know is shown as it is.
 */
export function scopeTitle(id: ScopeId): string {
  let scope;
  try {
    scope = parseScope(id);
  } catch {
    return id;
  }
  switch (scope.kind) {
    case "gateway":
      return "Whole gateway";
    case "key":
      return `Key ${scope.key}`;
    case "model":
      return `Model ${scope.model}`;
    case "key_model":
      return `Key ${scope.key} · ${scope.model}`;
  }
}

const NAMED_WINDOWS: Readonly<Record<string, string>> = {
  "1s": "per second",
  "1m": "per minute",
  "1h": "per hour",
  "24h": "per 24 hours",
  day: "per day",
  month: "per month",
};

/** A window in words: "per minute", "per day", "per 90m". */
export function windowLabel(window: string): string {
  return NAMED_WINDOWS[window] ?? `per ${window}`;
}
