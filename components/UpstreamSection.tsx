import type { Signal } from "@preact/signals";
import {
  formatAgo,
  formatClock,
  formatInteger,
  formatWait,
} from "../lib/dashboard/format.ts";
import type { UpstreamQuota } from "../lib/quota/types.ts";
import { Countdown } from "./Countdown.tsx";

/** Props of {@linkcode UpstreamSection}. */
export interface UpstreamSectionProps {
  upstream: readonly UpstreamQuota[];
  now: Signal<number>;
}

function Remaining(
  { what, limit, remaining, resetAt, now }: {
    what: string;
    limit?: number;
    remaining?: number;
    resetAt?: string;
    now: Signal<number>;
  },
) {
  if (limit === undefined && remaining === undefined) return null;
  const left = remaining ?? 0;
  const max = limit ?? left;
  const pct = max > 0 ? Math.min(100, Math.max(0, (left / max) * 100)) : 0;
  const tone = pct <= 5 ? "exceeded" : pct <= 20 ? "warning" : "ok";
  return (
    <div class="upstream-metric">
      <div class="limit-head">
        <span class="limit-name">{what} left</span>
        <span class="limit-numbers-inline">
          <strong>{formatInteger(left)}</strong>
          {limit !== undefined && ` of ${formatInteger(limit)}`}
        </span>
      </div>
      <div
        class={`gauge gauge-remaining gauge-${tone}`}
        role="meter"
        aria-label={`Provider ${what.toLowerCase()} left`}
        aria-valuemin={0}
        aria-valuemax={max}
        aria-valuenow={Math.min(left, max)}
      >
        <span class="gauge-used" style={{ width: `${Math.round(pct)}%` }} />
      </div>
      {resetAt && (
        <div class="limit-numbers">
          <span class="limit-reset">
            refills in <Countdown at={resetAt} now={now} />
          </span>
        </div>
      )}
    </div>
  );
}

function Last429(
  { quota, now }: { quota: UpstreamQuota; now: Signal<number> },
) {
  const last = quota.last429;
  if (!last) {
    return <p class="upstream-ok">No 429 from the provider.</p>;
  }
  const ago = formatAgo(now.value - Date.parse(last.at));
  if (last.kind === "insufficient_quota") {
    return (
      <p class="upstream-429 upstream-credit" data-kind={last.kind}>
        <span class="badge badge-exceeded">Credit exhausted</span> {ago}{" "}
        ({formatClock(last.at)}): the provider's account is out of credit; add
        credit or raise its budget. Not retried as a rate limit.
      </p>
    );
  }
  const retry = last.retryAfterMs !== undefined
    ? `; it asked to wait ${formatWait(last.retryAfterMs)}`
    : "";
  return (
    <p class="upstream-429" data-kind={last.kind}>
      <span class="badge badge-warning">
        {last.kind === "rate_limit_exceeded" ? "Rate limited" : "429"}
      </span>{" "}
      {ago} ({formatClock(last.at)}){retry}.
    </p>
  );
}

/** What the provider itself says about each upstream key: its limits, what is left, and its last 429. */
export function UpstreamSection({ upstream, now }: UpstreamSectionProps) {
  return (
    <section class="section" aria-labelledby="upstream-title">
      <h2 id="upstream-title">Provider quota</h2>
      {upstream.length === 0
        ? (
          <p class="empty">
            No call has reached the provider yet, so its own limits are not
            known.
          </p>
        )
        : (
          <div class="upstreams">
            {upstream.map((quota) => (
              <article
                class="card upstream"
                key={quota.keyId}
                data-upstream={quota.keyId}
                aria-label={`Provider key ${quota.keyId}`}
              >
                <h3>
                  Provider key <code>{quota.keyId}</code>
                </h3>
                <Remaining
                  what="Requests"
                  limit={quota.limitRequests}
                  remaining={quota.remainingRequests}
                  resetAt={quota.resetRequestsAt}
                  now={now}
                />
                <Remaining
                  what="Tokens"
                  limit={quota.limitTokens}
                  remaining={quota.remainingTokens}
                  resetAt={quota.resetTokensAt}
                  now={now}
                />
                <Last429 quota={quota} now={now} />
                <p class="muted small">
                  As of {formatClock(quota.updatedAt)}
                </p>
              </article>
            ))}
          </div>
        )}
    </section>
  );
}
