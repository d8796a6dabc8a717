import { type Signal, useComputed, useSignal } from "@preact/signals";
import { useEffect, useMemo } from "preact/hooks";
import { ConnectionIndicator } from "../components/ConnectionIndicator.tsx";
import { LimitsSection } from "../components/LimitsSection.tsx";
import { RecentCalls } from "../components/RecentCalls.tsx";
import { UpstreamSection } from "../components/UpstreamSection.tsx";
import { UsageChart } from "../components/UsageChart.tsx";
import { minuteSeries, type RollupLike } from "../lib/dashboard/chart.ts";
import { formatAgo, formatClock } from "../lib/dashboard/format.ts";
import { indicatorView, isStatusStale } from "../lib/dashboard/indicator.ts";
import { type LiveView, staticLiveView } from "../lib/dashboard/live_view.ts";
import { throttle } from "../lib/dashboard/throttle.ts";
import { useNow } from "../lib/dashboard/use_now.ts";
import { IS_BROWSER } from "../lib/fresh/is_browser.ts";
import { LiveConnection } from "../lib/live/client/connection.ts";
import type { QuotaStatus } from "../lib/quota/types.ts";

/** REST polling interval while offline (LiveConnection's default). */
const POLL_INTERVAL_MS = 5_000;
/** The chart reloads at most this often while updates stream in. */
const CHART_THROTTLE_MS = 2_000;
/** …and at least this often, so the hour keeps sliding. */
const CHART_REFRESH_MS = 30_000;

/** Props of the dashboard island. */
export interface QuotaMonitorProps {
  /** The status the server rendered (engine.status(), as REST serves it). */
  initial: QuotaStatus;
  /** Per-minute rollups of the last hour, as GET /api/quota/usage serves them. */
  minutes: RollupLike[];
  /** The server's clock at render time (epoch ms). */
  renderedAt: number;
  /** The API's origin when it is not the page's (QUOTA_API_ORIGIN). */
  apiOrigin: string | null;
  /** True when a login is needed, so a "Log out" button makes sense. */
  loginRequired: boolean;
}

function Indicator({ live, now, initialAt }: {
  live: LiveView;
  now: Signal<number>;
  initialAt: number;
}) {
  const view = indicatorView({
    state: live.state.value,
    attempt: live.attempt.value,
    nextRetryAt: live.nextRetryAt.value,
    lastMessageAt: live.lastMessageAt.value,
    statusAt: live.statusAt.value ?? initialAt,
    pollIntervalMs: POLL_INTERVAL_MS,
    now: now.value,
  });
  return <ConnectionIndicator state={live.state.value} view={view} />;
}

function StaleBanner({ stale, at, now }: {
  stale: Signal<boolean>;
  at: number;
  now: Signal<number>;
}) {
  if (!stale.value) return null;
  return (
    <p class="stale-banner" data-testid="stale-banner">
      <strong>Not live.</strong> These numbers are from {formatClock(at)}{" "}
      ({formatAgo(now.value - at)}) and may be out of date; they refresh by
      themselves when the connection returns.
    </p>
  );
}

function LiveChart({ minutes, now }: {
  minutes: Signal<RollupLike[]>;
  now: Signal<number>;
}) {
  // Minute resolution is enough: the columns only move once a minute.
  const minute = Math.floor(now.value / 60_000) * 60_000;
  return <UsageChart series={minuteSeries(minutes.value, minute)} />;
}

/**
 * The live dashboard: limits with gauges and reset countdowns, the
 * provider's own quota, the last hour's usage and the most recent calls,
 * under an always-visible connection indicator. The server renders it from
 * its status; in the browser a LiveConnection keeps it current.
 */
export default function QuotaMonitor(props: QuotaMonitorProps) {
  const { initial, renderedAt, apiOrigin, loginRequired } = props;
  const now = useNow(renderedAt);
  const live: LiveView & { start?(): void; stop?(): void } = useMemo(
    () =>
      IS_BROWSER
        ? new LiveConnection({
          apiOrigin: apiOrigin ?? undefined,
          initialStatus: initial,
          pollIntervalMs: POLL_INTERVAL_MS,
          fetchInit: apiOrigin ? { credentials: "include" } : {},
        })
        : staticLiveView(initial),
    [],
  );
  const minutes = useSignal<RollupLike[]>(props.minutes);
  const initialAt = Date.parse(initial.generatedAt);
  const stale = useComputed(() =>
    isStatusStale({
      state: live.state.value,
      source: live.statusSource.value,
      statusAt: live.statusAt.value ?? initialAt,
      pollIntervalMs: POLL_INTERVAL_MS,
      now: now.value,
    })
  );

  const refreshChart = useMemo(() =>
    throttle(async () => {
      const url = new URL("/api/quota/usage", apiOrigin ?? location.origin);
      try {
        const response = await fetch(url, {
          credentials: apiOrigin ? "include" : "same-origin",
          headers: { accept: "application/json" },
        });
        if (!response.ok) {
          await response.body?.cancel();
          return;
        }
        const body = await response.json();
        if (Array.isArray(body.minutes)) minutes.value = body.minutes;
      } catch {
        // The indicator already says the server is unreachable.
      }
    }, CHART_THROTTLE_MS), []);

  useEffect(() => {
    live.start?.();
    const timer = setInterval(refreshChart, CHART_REFRESH_MS);
    return () => {
      clearInterval(timer);
      refreshChart.cancel();
      live.stop?.();
    };
  }, []);

  const status = live.status.value ?? initial;
  useEffect(() => {
    if (status !== initial) refreshChart();
  }, [status]);

  const at = live.statusAt.value ?? initialAt;
  return (
    <div class="dashboard">
      <header class="topbar">
        <div class="topbar-inner">
          <a class="brand" href="/">
            <span class="brand-mark" aria-hidden="true" />Quota Monitor
          </a>
          <Indicator live={live} now={now} initialAt={initialAt} />
          <nav class="topnav" aria-label="Pages">
            <a href="/test-quota">Diagnostics</a>
            {loginRequired && (
              <form method="post" action="/logout" class="inline-form">
                <button type="submit" class="link-button">Log out</button>
              </form>
            )}
          </nav>
        </div>
      </header>
      <main
        class={stale.value ? "page dash is-stale" : "page dash"}
        data-stale={stale.value ? "true" : "false"}
        data-generated-at={status.generatedAt}
      >
        <StaleBanner stale={stale} at={at} now={now} />
        <LimitsSection
          scopes={status.scopes}
          warnAt={status.warnAt}
          now={now}
        />
        <div class="dash-row">
          <LiveChart minutes={minutes} now={now} />
          <UpstreamSection upstream={status.upstream} now={now} />
        </div>
        <RecentCalls recent={status.recent} />
        <p class="muted small footnote">
          Status generated {formatClock(status.generatedAt)}. Warning from{" "}
          {Math.round(status.warnAt * 100)}% of a limit; shaded parts of a gauge
          are reserved by calls in flight.
        </p>
      </main>
    </div>
  );
}
