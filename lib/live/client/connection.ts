/**
 * The browser side of the live quota socket: a connection manager that keeps
 * a `QuotaStatus` current and says honestly how current it is, through
 * `@preact/signals` that islands render directly. Browser code only: the DOM
 * WebSocket, fetch and timers, no Deno APIs.
 *
 * Why not npm `reconnecting-websocket` or `partysocket` (its maintained fork)?
 * Their delay is `min × growFactor^n` with one random offset chosen at load,
 * not full jitter; the next retry time is not visible (the indicator needs a
 * countdown); and they queue outgoing messages while disconnected, which this
 * protocol must not do (a stale `resync` is meaningless on a new socket). The
 * state machine below is small, and its policy lives in pure functions
 * (`backoff.ts`) that are unit tested.
 *
 * @module
 */

import { batch, type Signal, signal } from "@preact/signals";
import type { QuotaStatus } from "../../quota/types.ts";
import { parseServerMessage, type ServerMessage } from "../messages.ts";
import {
  backoffDelay,
  type BackoffPolicy,
  DEFAULT_BACKOFF,
  nextAttempt,
} from "./backoff.ts";
import { liveSocketUrl, type PageLocation, statusUrl } from "./endpoints.ts";

/** A timer handle (a number in browsers and Deno, an object under Node types). */
type Timer = ReturnType<typeof setTimeout>;

/**
 * What the indicator shows:
 * - `connecting`: the first connection is being made;
 * - `live`: a snapshot arrived and messages keep arriving;
 * - `reconnecting`: the socket was lost; `attempt` and `nextRetryAt` tell when it retries;
 * - `offline`: several attempts failed; the status is polled over REST meanwhile;
 * - `stale`: nominally connected, but silent for more than two heartbeats.
 */
export type ConnectionState =
  | "connecting"
  | "live"
  | "reconnecting"
  | "offline"
  | "stale";

/** Where the status on screen came from. */
export type StatusSource = "initial" | "socket" | "rest";

/** Options of a `LiveConnection`; every one has a default that fits the dashboard. */
export interface LiveConnectionOptions {
  /** The API's origin for a front end on another origin; the page's location otherwise. */
  apiOrigin?: string;
  /** The page location (default `globalThis.location`). */
  location?: PageLocation;
  socketPath?: string;
  statusPath?: string;
  /** Reconnect delays (default 500 ms doubling up to 30 s, full jitter). */
  backoff?: BackoffPolicy;
  /** A session shorter than this does not reset the backoff (default 5000). */
  minUptimeMs?: number;
  /** After this many failed attempts in a row the state is `offline` and REST polling starts (default 3). */
  offlineAfter?: number;
  /** REST polling interval while offline (default 5000). */
  pollIntervalMs?: number;
  /** Heartbeat interval assumed until the server's snapshot states its own (default 25000). */
  heartbeatMs?: number;
  /** A socket without a snapshot this long after creation is given up (default 10000). */
  connectTimeoutMs?: number;
  /** The status rendered into the first HTML, shown until the socket delivers. */
  initialStatus?: QuotaStatus | null;
  /** Options for the REST fetch (e.g. credentials for another origin). */
  fetchInit?: RequestInit;
  /** Randomness for the jitter (tests pass their own). */
  random?: () => number;
}

interface Session {
  ws: WebSocket;
  openedAt: number | null;
  snapshotAt: number | null;
  ended: boolean;
}

/** Silence of this many heartbeats while live marks the values stale. */
const STALE_AFTER_HEARTBEATS = 2;
/** Silence of this many heartbeats gives the socket up (half-open TCP never closes by itself). */
const DEAD_AFTER_HEARTBEATS = 4;

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function extractStatus(body: unknown): QuotaStatus | null {
  if (typeof body !== "object" || body === null) return null;
  const record = body as Record<string, unknown>;
  if (Array.isArray(record.scopes)) return body as QuotaStatus;
  const inner = record.status as Record<string, unknown> | undefined;
  if (inner && Array.isArray(inner.scopes)) {
    return inner as unknown as QuotaStatus;
  }
  return null;
}

/**
 * Keeps one live socket to the quota server, reconnecting with exponential
 * backoff and full jitter, and falling back to REST polling when offline.
 *
 * @example
 * ```ts
 * const live = new LiveConnection({ initialStatus: props.status });
 * live.start();
 * // in an island: <Indicator state={live.state.value} /> … live.status.value
 * ```
 */
export class LiveConnection {
  /** See `ConnectionState`. */
  readonly state: Signal<ConnectionState> = signal("connecting");
  /** Failed attempts in a row (0 before the first failure). */
  readonly attempt: Signal<number> = signal(0);
  /** Epoch ms of the next reconnect, or null while connecting or live. */
  readonly nextRetryAt: Signal<number | null> = signal(null);
  /** Epoch ms of the last socket message (pings included). */
  readonly lastMessageAt: Signal<number | null> = signal(null);
  /** The seq of the last snapshot or update applied on the current socket. */
  readonly lastSeq: Signal<number | null> = signal(null);
  /** The current status, or null before any arrived. */
  readonly status: Signal<QuotaStatus | null>;
  /** Epoch ms at which `status` was received (the last good update). */
  readonly statusAt: Signal<number | null> = signal(null);
  /** Where `status` came from. */
  readonly statusSource: Signal<StatusSource | null>;
  /** A sentence about the last failure, or null when all is well. */
  readonly lastError: Signal<string | null> = signal(null);

  /** The socket URL in use. */
  readonly socketUrl: string;
  /** The REST status URL used while offline. */
  readonly statusUrl: string;

  readonly #backoff: BackoffPolicy;
  readonly #minUptimeMs: number;
  readonly #offlineAfter: number;
  readonly #pollIntervalMs: number;
  readonly #connectTimeoutMs: number;
  readonly #fetchInit: RequestInit;
  readonly #random: () => number;
  #heartbeatMs: number;

  #running = false;
  #session: Session | null = null;
  #awaitingResync = false;
  #retryTimer: Timer | undefined;
  #connectTimer: Timer | undefined;
  #staleTimer: Timer | undefined;
  #deadTimer: Timer | undefined;
  #pollTimer: Timer | undefined;
  /** Bumped when polling stops, so a fetch in flight is ignored. */
  #pollToken = 0;
  #polling = false;

  constructor(options: LiveConnectionOptions = {}) {
    const base = options.apiOrigin ?? options.location ??
      (globalThis as { location?: PageLocation }).location;
    if (base === undefined) {
      throw new TypeError(
        "LiveConnection needs the page's location or an apiOrigin to know where the server is.",
      );
    }
    this.socketUrl = liveSocketUrl(base, options.socketPath);
    this.statusUrl = statusUrl(base, options.statusPath);
    this.#backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.#minUptimeMs = options.minUptimeMs ?? 5_000;
    this.#offlineAfter = options.offlineAfter ?? 3;
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#heartbeatMs = options.heartbeatMs ?? 25_000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#fetchInit = options.fetchInit ?? {};
    this.#random = options.random ?? Math.random;
    const initial = options.initialStatus ?? null;
    this.status = signal(initial);
    this.statusSource = signal(initial === null ? null : "initial");
  }

  /** Opens the socket; idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#connect();
  }

  /** Closes the socket and stops every timer and poll; the signals keep their last values. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#session) this.#endSession(this.#session, null);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#stopPolling();
    this.nextRetryAt.value = null;
  }

  /** Skips the rest of the current wait and tries the socket now (a "retry now" button). */
  retryNow(): void {
    if (!this.#running || this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  #connect(): void {
    this.#retryTimer = undefined;
    this.nextRetryAt.value = null;
    if (!this.#running) return;
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.socketUrl);
    } catch (error) {
      this.lastError.value =
        `The live socket URL ${this.socketUrl} is unusable: ${
          describeError(error)
        }.`;
      this.#failed({ openedAt: null, snapshotAt: null, closedAt: Date.now() });
      return;
    }
    const session: Session = {
      ws,
      openedAt: null,
      snapshotAt: null,
      ended: false,
    };
    this.#session = session;
    this.#awaitingResync = false;
    ws.onopen = () => {
      session.openedAt = Date.now();
    };
    ws.onmessage = (event) => this.#onMessage(session, event);
    // The close event that follows every error carries what we report.
    ws.onerror = () => {};
    ws.onclose = (event) => {
      const reason = event.reason ? `: ${event.reason}` : "";
      const why = session.openedAt === null
        ? `Could not open the live socket at ${this.socketUrl}; is the server running and is this origin allowed?`
        : `The live socket closed (code ${event.code}${reason}).`;
      this.#endSession(session, why);
    };
    this.#connectTimer = setTimeout(() => {
      this.#endSession(
        session,
        `The live socket sent no snapshot within ${this.#connectTimeoutMs} ms.`,
      );
    }, this.#connectTimeoutMs);
  }

  #onMessage(session: Session, event: MessageEvent): void {
    if (session.ended) return;
    const message = parseServerMessage(event.data);
    if (message === null) return;
    // Signals change together, so islands render each message once.
    batch(() => this.#handle(session, message, Date.now()));
  }

  #handle(session: Session, message: ServerMessage, now: number): void {
    this.lastMessageAt.value = now;
    if (message.type === "ping") {
      this.#sendTo(session, `{"type":"pong"}`);
      this.#markAlive(session);
      return;
    }
    if (message.type === "snapshot") {
      clearTimeout(this.#connectTimer);
      this.#connectTimer = undefined;
      session.snapshotAt ??= now;
      if (message.heartbeatMs) this.#heartbeatMs = message.heartbeatMs;
      this.#awaitingResync = false;
      this.#apply(message.status, message.seq, now);
      this.lastError.value = null;
      this.#stopPolling();
      this.#markAlive(session);
      return;
    }
    // An update: only meaningful on top of this socket's snapshot.
    this.#markAlive(session);
    const last = this.lastSeq.value;
    if (session.snapshotAt === null || this.#awaitingResync || last === null) {
      return;
    }
    if (message.seq <= last) return;
    if (message.seq !== last + 1) {
      this.#awaitingResync = true;
      this.#sendTo(session, `{"type":"resync"}`);
      return;
    }
    this.#apply(message.status, message.seq, now);
  }

  #apply(status: QuotaStatus, seq: number, now: number): void {
    this.status.value = status;
    this.statusAt.value = now;
    this.statusSource.value = "socket";
    this.lastSeq.value = seq;
  }

  /** Any message proves the socket alive: back to live, and restart the silence timers. */
  #markAlive(session: Session): void {
    if (session.snapshotAt === null) return;
    this.state.value = "live";
    this.nextRetryAt.value = null;
    clearTimeout(this.#staleTimer);
    clearTimeout(this.#deadTimer);
    this.#staleTimer = setTimeout(() => {
      if (this.state.value === "live") this.state.value = "stale";
    }, this.#heartbeatMs * STALE_AFTER_HEARTBEATS);
    this.#deadTimer = setTimeout(() => {
      this.#endSession(
        session,
        `The live socket was silent for ${
          this.#heartbeatMs * DEAD_AFTER_HEARTBEATS
        } ms; reconnecting.`,
      );
    }, this.#heartbeatMs * DEAD_AFTER_HEARTBEATS);
  }

  #sendTo(session: Session, text: string): void {
    try {
      session.ws.send(text);
    } catch {
      // The socket is closing; its close event schedules the reconnect.
    }
  }

  /** Ends a socket once: detaches it, clears its timers, and schedules the next attempt. */
  #endSession(session: Session, why: string | null): void {
    if (session.ended) return;
    session.ended = true;
    const ws = session.ws;
    ws.onopen = null;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(1000);
    } catch {
      // Already closed.
    }
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#staleTimer);
    clearTimeout(this.#deadTimer);
    this.#connectTimer = this.#staleTimer = this.#deadTimer = undefined;
    if (this.#session === session) this.#session = null;
    if (!this.#running) return;
    if (why !== null) this.lastError.value = why;
    this.#failed({
      openedAt: session.openedAt,
      snapshotAt: session.snapshotAt,
      closedAt: Date.now(),
    });
  }

  #failed(outcome: Parameters<typeof nextAttempt>[1]): void {
    const attempt = nextAttempt(this.attempt.value, outcome, this.#minUptimeMs);
    const delay = backoffDelay(attempt, this.#backoff, this.#random);
    const offline = attempt >= this.#offlineAfter;
    // One batch, so an indicator never shows a new attempt with an old countdown.
    batch(() => {
      this.attempt.value = attempt;
      this.nextRetryAt.value = Date.now() + delay;
      this.state.value = offline ? "offline" : "reconnecting";
    });
    if (offline) this.#startPolling();
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
  }

  #startPolling(): void {
    if (this.#polling) return;
    this.#polling = true;
    const token = this.#pollToken;
    const poll = async () => {
      this.#pollTimer = undefined;
      try {
        const headers = new Headers(this.#fetchInit.headers);
        if (!headers.has("accept")) headers.set("accept", "application/json");
        const response = await fetch(this.statusUrl, {
          ...this.#fetchInit,
          headers,
        });
        if (token !== this.#pollToken) {
          await response.body?.cancel();
          return;
        }
        if (!response.ok) {
          await response.body?.cancel();
          throw new Error(`it answered HTTP ${response.status}`);
        }
        const status = extractStatus(await response.json());
        if (token !== this.#pollToken) return;
        if (status === null) throw new Error("its answer is not a status");
        this.status.value = status;
        this.statusAt.value = Date.now();
        this.statusSource.value = "rest";
      } catch (error) {
        if (token !== this.#pollToken) return;
        this.lastError.value = `Polling ${this.statusUrl} failed: ${
          describeError(error)
        }.`;
      }
      if (token !== this.#pollToken) return;
      this.#pollTimer = setTimeout(poll, this.#pollIntervalMs);
    };
    void poll();
  }

  #stopPolling(): void {
    if (!this.#polling) return;
    this.#polling = false;
    this.#pollToken++;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
  }
}
