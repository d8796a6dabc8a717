/**
 * What the connection indicator says, and whether the numbers on screen
 * should be marked stale, from the live connection's signals and the clock.
 *
 * @module
 */

import { formatAgo, formatClock } from "./format.ts";

/** The states of the live connection (as `LiveConnection.state`). */
export type IndicatorState =
  | "connecting"
  | "live"
  | "reconnecting"
  | "offline"
  | "stale";

/** What the indicator is computed from. */
export interface IndicatorInput {
  state: IndicatorState;
  /** Failed attempts in a row; the retry that comes next has this number. */
  attempt: number;
  /** Epoch ms of the next socket attempt, or null. */
  nextRetryAt: number | null;
  /** Epoch ms of the last socket message, or null. */
  lastMessageAt: number | null;
  /** Epoch ms of the status on screen, or null. */
  statusAt: number | null;
  /** REST polling interval while offline. */
  pollIntervalMs: number;
  now: number;
}

/** The indicator's words. */
export interface IndicatorView {
  /** The main words, e.g. "Reconnecting in 3 s (attempt 2)". */
  label: string;
  /** A second, quieter line, or null. */
  detail: string | null;
}

function secondsUntil(at: number, now: number): number {
  return Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * The words for a connection state.
 *
 * @example
 * ```ts
 * indicatorView({ state: "reconnecting", attempt: 2, nextRetryAt: now + 2_400, ... }).label;
 * // "Reconnecting in 3 s (attempt 2)"
 * ```
 */
export function indicatorView(input: IndicatorInput): IndicatorView {
  const { state, attempt, nextRetryAt, now } = input;
  const lastUpdate = input.lastMessageAt ?? input.statusAt;
  switch (state) {
    case "connecting":
      return { label: "Connecting…", detail: null };
    case "live":
      return {
        label: "Live",
        detail: input.statusAt === null
          ? null
          : `updated ${formatClock(input.statusAt)}`,
      };
    case "reconnecting": {
      const label = nextRetryAt === null || nextRetryAt <= now
        ? `Reconnecting now (attempt ${attempt})`
        : `Reconnecting in ${
          secondsUntil(nextRetryAt, now)
        } s (attempt ${attempt})`;
      return {
        label,
        detail: lastUpdate === null
          ? null
          : `last update ${formatAgo(now - lastUpdate)}`,
      };
    }
    case "offline": {
      const label = `Offline — polling every ${
        Math.round(input.pollIntervalMs / 1000)
      } s`;
      const detail = nextRetryAt === null || nextRetryAt <= now
        ? `trying the live socket now (attempt ${attempt})`
        : `next live attempt in ${
          secondsUntil(nextRetryAt, now)
        } s (attempt ${attempt})`;
      return { label, detail };
    }
    case "stale":
      return {
        label: lastUpdate === null
          ? "Stale — no update yet"
          : `Stale — last update ${formatAgo(now - lastUpdate)}`,
        detail: "the server has gone quiet; waiting for it",
      };
  }
}

/** What staleness is judged from. */
export interface StalenessInput {
  state: IndicatorState;
  /** Where the status on screen came from: the first HTML, the socket or a REST poll. */
  source: "initial" | "socket" | "rest" | null;
  /** Epoch ms of the status on screen. */
  statusAt: number | null;
  pollIntervalMs: number;
  now: number;
}

/** A first-HTML snapshot younger than this is current enough to show unmarked while connecting. */
const INITIAL_FRESH_MS = 15_000;

/**
 * True when the values on screen may be out of date and must be marked: the
 * socket is lost or silent, and no recent REST poll stands in for it.
 */
export function isStatusStale(input: StalenessInput): boolean {
  const { state, source, statusAt, now } = input;
  if (state === "live") return false;
  if (statusAt === null) return true;
  const age = now - statusAt;
  if (state === "connecting") return age > INITIAL_FRESH_MS;
  if (state === "offline" && source === "rest") {
    // A poll that came back within two intervals keeps the numbers current.
    return age > input.pollIntervalMs * 2 + 1_000;
  }
  return true;
}
