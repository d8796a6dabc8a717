/**
 * The signals an island renders the connection from: a `LiveConnection` in
 * the browser, or still stand-ins on the server, so one component tree
 * renders both.
 *
 * @module
 */

import { type Signal, signal } from "@preact/signals";
import type { QuotaStatus } from "../quota/types.ts";
import type { IndicatorState } from "./indicator.ts";

/** The part of `LiveConnection` that islands read. */
export interface LiveView {
  state: Signal<IndicatorState>;
  attempt: Signal<number>;
  nextRetryAt: Signal<number | null>;
  lastMessageAt: Signal<number | null>;
  lastSeq: Signal<number | null>;
  status: Signal<QuotaStatus | null>;
  statusAt: Signal<number | null>;
  statusSource: Signal<"initial" | "socket" | "rest" | null>;
  lastError: Signal<string | null>;
}

/** Signals for the server's render: connecting, with the first HTML's status. */
export function staticLiveView(initial: QuotaStatus | null): LiveView {
  return {
    state: signal("connecting"),
    attempt: signal(0),
    nextRetryAt: signal(null),
    lastMessageAt: signal(null),
    lastSeq: signal(null),
    status: signal(initial),
    statusAt: signal(null),
    statusSource: signal(initial === null ? null : "initial"),
    lastError: signal(null),
  };
}
