import type { Signal } from "@preact/signals";
import {
  formatMetricValue,
  METRIC_LABELS,
  METRIC_UNITS,
  scopeTitle,
  windowLabel,
} from "../lib/dashboard/format.ts";
import { compareScopes } from "../lib/quota/scope.ts";
import type {
  LimitState,
  LimitStatus,
  ScopeStatus,
} from "../lib/quota/types.ts";
import { Countdown } from "./Countdown.tsx";
import { Gauge } from "./Gauge.tsx";

const STATE_WORDS: Readonly<Record<LimitState, string>> = {
  ok: "OK",
  warning: "Warning",
  exceeded: "Exceeded",
};

/** Props of {@linkcode LimitsSection}. */
export interface LimitsSectionProps {
  scopes: readonly ScopeStatus[];
  warnAt: number;
  now: Signal<number>;
}

function LimitRow(
  { limit, scope, warnAt, now }: {
    limit: LimitStatus;
    scope: string;
    warnAt: number;
    now: Signal<number>;
  },
) {
  const name = `${METRIC_LABELS[limit.metric]} ${windowLabel(limit.window)}`;
  const unit = METRIC_UNITS[limit.metric];
  return (
    <li class="limit" data-limit-id={limit.id} data-state={limit.state}>
      <div class="limit-head">
        <span class="limit-name">{name}</span>
        <span class={`badge badge-${limit.state}`}>
          {STATE_WORDS[limit.state]}
        </span>
      </div>
      <Gauge
        limit={limit}
        label={`${name}, ${scopeTitle(scope)}`}
        warnAt={warnAt}
      />
      <div class="limit-numbers">
        <span>
          <strong class="limit-used">
            {formatMetricValue(limit.metric, limit.used)}
          </strong>{" "}
          of {formatMetricValue(limit.metric, limit.limit)}
          {unit ? ` ${unit}` : ""}
          <span class="limit-percent">· {Math.round(limit.percent)}%</span>
          {limit.reserved > 0 && (
            <span class="limit-reserved">
              · {formatMetricValue(limit.metric, limit.reserved)} reserved
            </span>
          )}
        </span>
        {limit.resetAt && (
          <span class="limit-reset" title={limit.semantics}>
            resets in <Countdown at={limit.resetAt} now={now} />
          </span>
        )}
      </div>
    </li>
  );
}

/** Every scope's limits as cards of gauges, gateway first. */
export function LimitsSection({ scopes, warnAt, now }: LimitsSectionProps) {
  const sorted = [...scopes]
    .filter((s) => s.limits.length > 0)
    .sort((a, b) => compareScopes(a.scope, b.scope));
  return (
    <section class="section" aria-labelledby="limits-title">
      <h2 id="limits-title">Limits</h2>
      {sorted.length === 0
        ? (
          <p class="empty">
            No limits are set. Add them in the limits file (QUOTA_LIMITS_FILE)
            or with POST /api/limits.
          </p>
        )
        : (
          <div class="scopes">
            {sorted.map((scope) => (
              <article
                class="card scope"
                key={scope.scope}
                data-scope={scope.scope}
                aria-label={scopeTitle(scope.scope)}
              >
                <h3>{scopeTitle(scope.scope)}</h3>
                <ul class="limits">
                  {scope.limits.map((limit) => (
                    <LimitRow
                      key={limit.id}
                      limit={limit}
                      scope={scope.scope}
                      warnAt={warnAt}
                      now={now}
                    />
                  ))}
                </ul>
              </article>
            ))}
          </div>
        )}
    </section>
  );
}
