/**
 * Limits: validating what users declare (limits file or admin API) and
 * compiling it into what the engine counts with: a parsed window, a counter id
 * and a ceiling in internal units.
 *
 * The counter id is scope + metric + canonical window (+ zone for calendar
 * windows), never the limit's ceiling or id, so that changing a ceiling keeps
 * the usage counted so far.
 *
 * @module
 */

import { QuotaInputError } from "./errors.ts";
import { parseScope } from "./scope.ts";
import { METRICS } from "./types.ts";
import type { LimitDefinition, Metric, WindowSpec } from "./types.ts";
import { toInternal } from "./units.ts";
import { canonicalWindow, parseWindow } from "./windows.ts";

/** The largest ceiling for counts (requests, tokens). */
export const MAX_COUNT_LIMIT = 1e15;
/** The largest ceiling in dollars (keeps nano-dollar sums exact in a double). */
export const MAX_DOLLAR_LIMIT = 1e6;
const LIMIT_FIELDS = new Set([
  "id",
  "scope",
  "metric",
  "window",
  "limit",
  "timeZone",
]);
const ID_PATTERN = /^[\x21-\x7e]{1,300}$/;

/** A limit ready for counting. */
export interface CompiledLimit {
  def: LimitDefinition;
  spec: WindowSpec;
  /** The counter this limit reads and holds against. */
  counter: string;
  /** The ceiling in internal units (nano-dollars for cost). */
  ceiling: number;
}

/**
 * Validates a limit as a user declared it and returns its definition.
 * Unknown fields, bad scopes, metrics, windows, zones and ceilings are refused
 * with a sentence naming the field.
 *
 * @example
 * parseLimitInput({ scope: "key:team-a", metric: "requests", window: "1m", limit: 60 }, "api");
 * // { id: "key:team-a|requests|1m", scope: "key:team-a", ..., source: "api" }
 */
export function parseLimitInput(
  input: unknown,
  source: LimitDefinition["source"],
): LimitDefinition {
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw invalid(
      "A limit must be a JSON object with scope, metric, window and limit.",
      null,
    );
  }
  const fields = input as Record<string, unknown>;
  for (const name of Object.keys(fields)) {
    if (!LIMIT_FIELDS.has(name)) {
      throw invalid(
        `The field "${
          name.slice(0, 40)
        }" is not part of a limit; use only id, scope, metric, window, limit and timeZone.`,
        name,
      );
    }
  }
  const { scope, metric, window, limit, timeZone, id } = fields;
  if (typeof scope !== "string") {
    throw invalid(
      'A limit needs a scope: "gateway", "key:<name>", "model:<model>" or "key:<name>/model:<model>".',
      "scope",
    );
  }
  parseScope(scope);
  if (typeof metric !== "string" || !METRICS.includes(metric as Metric)) {
    throw invalid(
      `The metric must be one of ${METRICS.join(", ")}.`,
      "metric",
    );
  }
  if (typeof window !== "string") {
    throw invalid(
      'A limit needs a window: a duration such as 1m or 2h30m, or "day" or "month".',
      "window",
    );
  }
  if (timeZone !== undefined && typeof timeZone !== "string") {
    throw invalid(
      'The timeZone must be an IANA time zone name such as "UTC" or "Europe/Berlin".',
      "timeZone",
    );
  }
  if (timeZone !== undefined && window !== "day" && window !== "month") {
    throw invalid(
      "A timeZone only applies to the calendar windows day and month; remove it from a rolling window.",
      "timeZone",
    );
  }
  const spec = parseWindow(window, timeZone ?? "UTC");
  validateCeiling(metric as Metric, limit);
  if (
    id !== undefined &&
    (typeof id !== "string" || !ID_PATTERN.test(id) || id === "." ||
      id === "..")
  ) {
    throw invalid(
      'A limit id must be 1 to 300 printable characters without spaces, and not "." or "..".',
      "id",
    );
  }
  const zone = spec.kind === "calendar" && timeZone !== undefined
    ? spec.timeZone
    : undefined;
  const def: LimitDefinition = {
    id: (id as string | undefined) ??
      derivedLimitId(scope, metric as Metric, spec, zone),
    scope,
    metric: metric as Metric,
    window,
    limit: limit as number,
    source,
  };
  if (zone !== undefined) def.timeZone = zone;
  return def;
}

function validateCeiling(metric: Metric, limit: unknown): void {
  if (typeof limit !== "number" || !Number.isFinite(limit) || limit < 0) {
    throw invalid(
      "The limit must be a number of at least 0 (dollars for cost_usd).",
      "limit",
    );
  }
  if (metric === "cost_usd" && limit > MAX_DOLLAR_LIMIT) {
    throw invalid(
      `A cost limit can be at most ${MAX_DOLLAR_LIMIT} dollars.`,
      "limit",
    );
  }
  if (
    metric !== "cost_usd" &&
    (!Number.isInteger(limit) || limit > MAX_COUNT_LIMIT)
  ) {
    throw invalid(
      `A ${metric} limit must be a whole number no larger than ${MAX_COUNT_LIMIT}.`,
      "limit",
    );
  }
}

function derivedLimitId(
  scope: string,
  metric: Metric,
  spec: WindowSpec,
  zone: string | undefined,
): string {
  const window = spec.kind === "rolling" ? canonicalWindow(spec) : spec.unit;
  return zone === undefined
    ? `${scope}|${metric}|${window}`
    : `${scope}|${metric}|${window}@${zone}`;
}

/**
 * The counter a limit counts in: `scope|metric|canonical window`, e.g.
 * `key:team-a|requests|1m` or `gateway|cost_usd|month@Europe/Berlin`.
 */
function counterIdFor(
  scope: string,
  metric: Metric,
  spec: WindowSpec,
): string {
  return `${scope}|${metric}|${canonicalWindow(spec)}`;
}

/**
 * Compiles a definition for counting. A calendar window without its own zone
 * is read in `defaultTimeZone`.
 *
 * @throws QuotaInputError when the definition is invalid.
 */
export function compileLimit(
  def: LimitDefinition,
  defaultTimeZone: string,
): CompiledLimit {
  const { source: _source, ...fields } = def;
  // A definition built in code may leave the id empty: derive it then.
  if (fields.id === "") delete (fields as Partial<LimitDefinition>).id;
  const checked = parseLimitInput(fields, def.source);
  const spec = parseWindow(checked.window, checked.timeZone ?? defaultTimeZone);
  return {
    def: checked,
    spec,
    counter: counterIdFor(checked.scope, checked.metric, spec),
    ceiling: toInternal(checked.metric, checked.limit),
  };
}

function invalid(message: string, param: string | null): QuotaInputError {
  return new QuotaInputError(message, "invalid_limit", param);
}
