import assert from "node:assert/strict";
import {
  type IndicatorInput,
  indicatorView,
  isStatusStale,
} from "../../lib/dashboard/indicator.ts";

const NOW = 1_800_000_000_000;

function input(overrides: Partial<IndicatorInput>): IndicatorInput {
  return {
    state: "live",
    attempt: 0,
    nextRetryAt: null,
    lastMessageAt: NOW - 1_000,
    statusAt: NOW - 1_000,
    pollIntervalMs: 5_000,
    now: NOW,
    ...overrides,
  };
}

Deno.test("indicator - each state has its words", () => {
  assert.equal(
    indicatorView(input({ state: "connecting" })).label,
    "Connecting…",
  );
  assert.equal(indicatorView(input({ state: "live" })).label, "Live");
  assert.equal(
    indicatorView(input({ state: "offline", attempt: 4 })).label,
    "Offline — polling every 5 s",
  );
  assert.equal(
    indicatorView(
      input({ state: "stale", lastMessageAt: NOW - 40_000 }),
    ).label,
    "Stale — last update 40 s ago",
  );
});

Deno.test("indicator - reconnecting counts down to the next attempt, rounding up", () => {
  const view = indicatorView(
    input({ state: "reconnecting", attempt: 2, nextRetryAt: NOW + 2_400 }),
  );
  assert.equal(view.label, "Reconnecting in 3 s (attempt 2)");
  const due = indicatorView(
    input({ state: "reconnecting", attempt: 2, nextRetryAt: NOW - 10 }),
  );
  assert.equal(due.label, "Reconnecting now (attempt 2)");
  const offline = indicatorView(
    input({ state: "offline", attempt: 5, nextRetryAt: NOW + 9_100 }),
  );
  assert.equal(offline.detail, "next live attempt in 10 s (attempt 5)");
});

Deno.test("indicator - values are stale when the socket is lost, unless a recent REST poll stands in", () => {
  const base = { source: "socket" as const, pollIntervalMs: 5_000, now: NOW };
  assert.equal(
    isStatusStale({ ...base, state: "live", statusAt: NOW - 90_000 }),
    false,
  );
  assert.equal(
    isStatusStale({ ...base, state: "reconnecting", statusAt: NOW - 500 }),
    true,
  );
  assert.equal(
    isStatusStale({ ...base, state: "stale", statusAt: NOW - 60_000 }),
    true,
  );
  assert.equal(
    isStatusStale({
      ...base,
      state: "offline",
      source: "rest",
      statusAt: NOW - 4_000,
    }),
    false,
  );
  assert.equal(
    isStatusStale({
      ...base,
      state: "offline",
      source: "rest",
      statusAt: NOW - 30_000,
    }),
    true,
  );
  assert.equal(
    isStatusStale({
      ...base,
      state: "connecting",
      source: "initial",
      statusAt: NOW - 2_000,
    }),
    false,
  );
  assert.equal(
    isStatusStale({
      ...base,
      state: "connecting",
      source: "initial",
      statusAt: NOW - 60_000,
    }),
    true,
  );
});
