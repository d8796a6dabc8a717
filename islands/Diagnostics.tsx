import { type Signal, useSignal } from "@preact/signals";
import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef } from "preact/hooks";
import { ConnectionIndicator } from "../components/ConnectionIndicator.tsx";
import {
  explainRest,
  explainSocket,
  originAllowed,
  type OriginFacts,
  type RestOutcome,
} from "../lib/dashboard/diagnose.ts";
import { formatAgo, formatClock } from "../lib/dashboard/format.ts";
import { indicatorView } from "../lib/dashboard/indicator.ts";
import { type LiveView, staticLiveView } from "../lib/dashboard/live_view.ts";
import { useNow } from "../lib/dashboard/use_now.ts";
import { IS_BROWSER } from "../lib/fresh/is_browser.ts";
import { LiveConnection } from "../lib/live/client/connection.ts";
import { liveSocketUrl, statusUrl } from "../lib/live/client/endpoints.ts";

const POLL_INTERVAL_MS = 5_000;
/** A REST check gives up after this long. */
const REST_TIMEOUT_MS = 8_000;

/** Props of the diagnostics island. */
export interface DiagnosticsProps {
  /** The API's origin: QUOTA_API_ORIGIN, or the origin the server was reached at. */
  apiOrigin: string;
  /** True when the API is on another origin than the page (QUOTA_API_ORIGIN is set). */
  separateApi: boolean;
  /** What the server lets open the socket: its own origin plus CORS_ORIGINS. */
  allowedOrigins: string[];
  /** The origin the server saw this page requested at. */
  serverSeenOrigin: string;
  loginRequired: boolean;
  /** The server's clock at render time (epoch ms). */
  renderedAt: number;
}

interface RestCheck {
  outcome: RestOutcome;
  at: number;
  url: string;
  /** How many scopes the answer held, when it was a status. */
  scopes: number | null;
}

interface LastMessage {
  kind: "snapshot" | "update" | "ping";
  seq: number | null;
  at: number;
}

type Connection = LiveView & {
  socketUrl?: string;
  start?(): void;
  stop?(): void;
};

function describeRest(outcome: RestOutcome): string {
  switch (outcome.kind) {
    case "ok":
      return `HTTP ${outcome.status} in ${Math.round(outcome.latencyMs)} ms`;
    case "http":
      return `HTTP ${outcome.status} after ${Math.round(outcome.latencyMs)} ms${
        outcome.message ? `: ${outcome.message}` : ""
      }`;
    case "network":
      return `No answer after ${
        Math.round(outcome.latencyMs)
      } ms (${outcome.message})`;
  }
}

async function checkRest(
  url: string,
  crossOrigin: boolean,
): Promise<RestCheck> {
  const started = performance.now();
  const latency = () => performance.now() - started;
  try {
    const response = await fetch(url, {
      credentials: crossOrigin ? "include" : "same-origin",
      headers: { accept: "application/json" },
      cache: "no-store",
      signal: AbortSignal.timeout(REST_TIMEOUT_MS),
    });
    const text = await response.text();
    const latencyMs = latency();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: reported below by status.
    }
    const record = (body ?? {}) as Record<string, unknown>;
    if (response.ok) {
      return {
        outcome: { kind: "ok", status: response.status, latencyMs },
        at: Date.now(),
        url,
        scopes: Array.isArray(record.scopes) ? record.scopes.length : null,
      };
    }
    const error = record.error as { message?: unknown } | undefined;
    return {
      outcome: {
        kind: "http",
        status: response.status,
        latencyMs,
        message: typeof error?.message === "string" ? error.message : null,
      },
      at: Date.now(),
      url,
      scopes: null,
    };
  } catch (error) {
    return {
      outcome: {
        kind: "network",
        latencyMs: latency(),
        message: error instanceof Error ? error.message : String(error),
      },
      at: Date.now(),
      url,
      scopes: null,
    };
  }
}

function newConnection(apiOrigin: string, separateApi: boolean): Connection {
  return new LiveConnection({
    apiOrigin: separateApi ? apiOrigin : undefined,
    pollIntervalMs: POLL_INTERVAL_MS,
    fetchInit: separateApi ? { credentials: "include" } : {},
  });
}

function Row(
  { name, children }: { name: string; children: ComponentChildren },
) {
  return (
    <div class="diag-row">
      <dt>{name}</dt>
      <dd>{children}</dd>
    </div>
  );
}

function SocketPanel({ conn, now, rest, facts, onReconnect }: {
  conn: Signal<Connection>;
  now: Signal<number>;
  rest: Signal<RestCheck | null>;
  facts: OriginFacts;
  onReconnect: () => void;
}) {
  const live = conn.value;
  const state = live.state.value;
  const view = indicatorView({
    state,
    attempt: live.attempt.value,
    nextRetryAt: live.nextRetryAt.value,
    lastMessageAt: live.lastMessageAt.value,
    statusAt: live.statusAt.value,
    pollIntervalMs: POLL_INTERVAL_MS,
    now: now.value,
  });
  const explanation = explainSocket(
    { state, rest: rest.value?.outcome ?? null },
    facts,
  );
  return (
    <section class="card diag" aria-labelledby="socket-title">
      <h2 id="socket-title">Live socket</h2>
      <ConnectionIndicator state={state} view={view} />
      <dl class="diag-list">
        <Row name="URL">
          <code>{live.socketUrl ?? liveSocketUrl(facts.apiOrigin)}</code>
        </Row>
        <Row name="Failed attempts in a row">{live.attempt.value}</Row>
        <Row name="Last error">
          <span data-testid="socket-error">
            {live.lastError.value ?? "none"}
          </span>
        </Row>
      </dl>
      {explanation && (
        <p class="diag-fix" data-testid="socket-explanation">
          <strong>What to fix:</strong> {explanation}
        </p>
      )}
      <button type="button" disabled={!IS_BROWSER} onClick={onReconnect}>
        Reconnect now
      </button>
    </section>
  );
}

function RestPanel({ rest, running, facts, onRun }: {
  rest: Signal<RestCheck | null>;
  running: Signal<boolean>;
  facts: OriginFacts;
  onRun: () => void;
}) {
  const check = rest.value;
  const explanation = check ? explainRest(check.outcome, facts) : null;
  return (
    <section class="card diag" aria-labelledby="rest-title">
      <h2 id="rest-title">REST round trip</h2>
      <dl class="diag-list">
        <Row name="Request">
          <code>GET {check?.url ?? statusUrl(facts.apiOrigin)}</code>
        </Row>
        <Row name="Result">
          <span
            class={`diag-result diag-${check?.outcome.kind ?? "pending"}`}
            data-testid="rest-result"
            data-outcome={check?.outcome.kind ?? "pending"}
          >
            {running.value && !check
              ? "checking…"
              : check
              ? describeRest(check.outcome)
              : IS_BROWSER
              ? "not run yet"
              : "runs when JavaScript is on"}
          </span>
        </Row>
        {check?.scopes !== null && check?.scopes !== undefined && (
          <Row name="Answer">
            a status with {check.scopes} scope{check.scopes === 1 ? "" : "s"}
          </Row>
        )}
        {check && <Row name="Checked at">{formatClock(check.at)}</Row>}
      </dl>
      {explanation && (
        <p class="diag-fix" data-testid="rest-explanation">
          <strong>What to fix:</strong> {explanation}
        </p>
      )}
      <button
        type="button"
        disabled={!IS_BROWSER || running.value}
        onClick={onRun}
      >
        {running.value ? "Checking…" : "Run REST check again"}
      </button>
    </section>
  );
}

function MessagePanel({ last, conn, now }: {
  last: Signal<LastMessage | null>;
  conn: Signal<Connection>;
  now: Signal<number>;
}) {
  const message = last.value;
  const status = conn.value.status.value;
  return (
    <section class="card diag" aria-labelledby="message-title">
      <h2 id="message-title">Last message received</h2>
      {message === null
        ? <p class="muted" data-testid="last-message">None yet.</p>
        : (
          <dl class="diag-list" data-testid="last-message">
            <Row name="Type">
              <code>{message.kind}</code>
              {message.kind === "ping" && " (heartbeat)"}
            </Row>
            {message.seq !== null && <Row name="Sequence">{message.seq}</Row>}
            <Row name="Received">
              {formatClock(message.at)} ({formatAgo(now.value - message.at)})
            </Row>
            {status && (
              <Row name="Status in it">
                generated {formatClock(status.generatedAt)},{" "}
                {plural(status.scopes.length, "scope")},{" "}
                {plural(status.recent.length, "recent call")}
              </Row>
            )}
          </dl>
        )}
    </section>
  );
}

/**
 * The /test-quota checks: the live socket's state and last error, a REST
 * round trip with its latency, the last message, and the origins in play,
 * each failure with what to fix.
 */
export default function Diagnostics(props: DiagnosticsProps) {
  const now = useNow(props.renderedAt);
  const pageOrigin = IS_BROWSER ? location.origin : props.serverSeenOrigin;
  const facts: OriginFacts = {
    pageOrigin,
    apiOrigin: props.separateApi ? props.apiOrigin : pageOrigin,
    allowedOrigins: props.allowedOrigins,
    loginRequired: props.loginRequired,
  };
  const conn = useSignal<Connection>(
    useMemo(
      () =>
        IS_BROWSER
          ? newConnection(props.apiOrigin, props.separateApi)
          : staticLiveView(null),
      [],
    ),
  );
  const rest = useSignal<RestCheck | null>(null);
  const running = useSignal(false);
  const last = useSignal<LastMessage | null>(null);
  const seenSeq = useRef<number | null>(null);

  const runRest = async () => {
    if (running.value) return;
    running.value = true;
    try {
      rest.value = await checkRest(
        statusUrl(facts.apiOrigin),
        facts.apiOrigin !== pageOrigin,
      );
    } finally {
      running.value = false;
    }
  };

  const reconnect = () => {
    conn.value.stop?.();
    seenSeq.current = null;
    conn.value = newConnection(props.apiOrigin, props.separateApi);
    conn.value.start?.();
  };

  useEffect(() => {
    conn.value.start?.();
    void runRest();
    return () => conn.value.stop?.();
  }, []);

  // What kind of message arrived: a new seq is a snapshot (seq 1, or after a
  // resync) or an update; the same seq with a newer time is a heartbeat.
  const live = conn.value;
  const messageAt = live.lastMessageAt.value;
  const seq = live.lastSeq.value;
  useEffect(() => {
    if (messageAt === null) return;
    const changed = seq !== null && seq !== seenSeq.current;
    seenSeq.current = seq;
    last.value = {
      kind: changed ? (seq === 1 ? "snapshot" : "update") : "ping",
      seq: changed ? seq : null,
      at: messageAt,
    };
  }, [messageAt, seq]);

  // When the socket is lost, check REST at once: it tells a server that is
  // down apart from a proxy that drops upgrades.
  const state = live.state.value;
  useEffect(() => {
    if (state === "reconnecting" || state === "offline") void runRest();
  }, [state]);

  const allowed = originAllowed(facts);
  return (
    <div class="diagnostics">
      <SocketPanel
        conn={conn}
        now={now}
        rest={rest}
        facts={facts}
        onReconnect={reconnect}
      />
      <RestPanel
        rest={rest}
        running={running}
        facts={facts}
        onRun={() => void runRest()}
      />
      <MessagePanel last={last} conn={conn} now={now} />
      <section class="card diag" aria-labelledby="origin-title">
        <h2 id="origin-title">Origins</h2>
        <dl class="diag-list">
          <Row name="This page">
            <code data-testid="page-origin">{facts.pageOrigin}</code>
          </Row>
          <Row name="API in use">
            <code data-testid="api-origin">{facts.apiOrigin}</code>
            {props.separateApi ? " (QUOTA_API_ORIGIN)" : " (same origin)"}
          </Row>
          <Row name="The server allows">
            <ul class="plain-list" data-testid="allowed-origins">
              {props.allowedOrigins.map((origin, i) => (
                <li key={origin}>
                  <code>{origin}</code>
                  {i === 0 ? " (its own origin)" : " (CORS_ORIGINS)"}
                </li>
              ))}
            </ul>
          </Row>
          <Row name="Verdict">
            <span
              class={allowed ? "badge badge-ok" : "badge badge-exceeded"}
              data-testid="origin-verdict"
            >
              {allowed
                ? "this origin is allowed"
                : "this origin is NOT allowed"}
            </span>
            {!allowed && ` — add ${facts.pageOrigin} to CORS_ORIGINS.`}
          </Row>
        </dl>
      </section>
    </div>
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
