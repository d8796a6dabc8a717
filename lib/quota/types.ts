/**
 * The shapes the quota domain speaks in. Everything here is plain data: no
 * HTTP, no Deno KV, no clocks. The REST API, the WebSocket and the first HTML
 * of the dashboard all serve these same shapes.
 *
 * @module
 */

/** What a limit counts. Money is counted in integer nano-dollars internally. */
export type Metric =
  | "requests"
  | "input_tokens"
  | "output_tokens"
  | "tokens"
  | "cost_usd";

/** Every metric, in display order. */
export const METRICS: readonly Metric[] = [
  "requests",
  "input_tokens",
  "output_tokens",
  "tokens",
  "cost_usd",
];

/**
 * A scope names what a limit applies to:
 * `gateway`, `key:<name>`, `model:<model>` or `key:<name>/model:<model>`.
 */
export type ScopeId = string;

/** A parsed scope. */
export type Scope =
  | { kind: "gateway" }
  | { kind: "key"; key: string }
  | { kind: "model"; model: string }
  | { kind: "key_model"; key: string; model: string };

/**
 * A window as written by users: a duration (`30s`, `1m`, `1h`, `90m`, `2h30m`)
 * for a rolling window, or `day` / `month` for a calendar window.
 */
export type WindowText = string;

/** A parsed window. */
export type WindowSpec =
  | {
    kind: "rolling";
    /** The window's length in milliseconds. */
    durationMs: number;
    /** The length of one bucket: usage leaves the window a bucket at a time. */
    bucketMs: number;
    /** How many buckets the window spans (durationMs / bucketMs). */
    span: number;
  }
  | {
    kind: "calendar";
    unit: "day" | "month";
    /** IANA time zone the calendar is read in, `UTC` by default. */
    timeZone: string;
  };

/** A limit as declared in the limits file or through the admin API. */
export interface LimitDefinition {
  /** Stable id; derived from scope, metric and window when not given. */
  id: string;
  scope: ScopeId;
  metric: Metric;
  window: WindowText;
  /** The ceiling, in the metric's user unit (dollars for cost_usd). */
  limit: number;
  /** Optional IANA zone for a calendar window; the configured default otherwise. */
  timeZone?: string;
  /** Where the limit came from: the limits file or the admin API. */
  source: "file" | "api";
}

/** Counts of one call, as the provider reports them (or as estimated). */
export interface UsageCounts {
  inputTokens: number;
  /** Part of inputTokens, billed at the cached price. */
  cachedTokens: number;
  outputTokens: number;
  /** Part of outputTokens. */
  reasoningTokens: number;
}

/** One call, kept for history. */
export interface UsageRecord extends UsageCounts {
  id: string;
  /** Epoch milliseconds. */
  at: number;
  key: string;
  model: string;
  /** Which endpoint: chat.completions, completions, embeddings, responses, other, report. */
  endpoint: string;
  /** HTTP status the caller saw. */
  status: number;
  /** Cost in integer nano-dollars. */
  costNanos: number;
  latencyMs: number;
  /** True when the numbers are an estimate (stream cut, no usage sent). */
  estimated: boolean;
  /** True when the model was billed at the fallback price. */
  fallbackPrice?: boolean;
}

/** The state of one limit, as shown everywhere. */
export type LimitState = "ok" | "warning" | "exceeded";

/** The status of one limit in one scope. */
export interface LimitStatus {
  id: string;
  scope: ScopeId;
  metric: Metric;
  window: WindowText;
  /** Human sentence saying how the window counts, e.g. "rolling 1m, in 1s slices". */
  semantics: string;
  limit: number;
  used: number;
  reserved: number;
  remaining: number;
  /** (used + reserved) / limit × 100, one decimal. */
  percent: number;
  state: LimitState;
  /** ISO time at which all current usage has left the window (or the period ends). */
  resetAt: string | null;
}

/** Every limit of one scope. */
export interface ScopeStatus {
  scope: ScopeId;
  limits: LimitStatus[];
}

/** What the provider itself says about our key, from its x-ratelimit-* headers and 429s. */
export interface UpstreamQuota {
  /** A short, non-secret id of the upstream key (a hash prefix). */
  keyId: string;
  limitRequests?: number;
  remainingRequests?: number;
  resetRequestsAt?: string;
  limitTokens?: number;
  remainingTokens?: number;
  resetTokensAt?: string;
  /** The last 429 from the provider, told apart by error.code. */
  last429?: {
    kind: "rate_limit_exceeded" | "insufficient_quota" | "other";
    at: string;
    message: string;
    retryAfterMs?: number;
  };
  updatedAt: string;
}

/** The full status snapshot: one shape for REST, WebSocket and the first HTML. */
export interface QuotaStatus {
  generatedAt: string;
  warnAt: number;
  scopes: ScopeStatus[];
  upstream: UpstreamQuota[];
  recent: UsageRecord[];
}
