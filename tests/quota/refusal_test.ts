import assert from "node:assert/strict";
import { compileLimit } from "../../lib/quota/limits.ts";
import {
  formatWait,
  refusalMessage,
  retryAfterMs,
} from "../../lib/quota/refusal.ts";

const limit = (
  window: string,
  ceiling: number,
  metric: "requests" | "cost_usd" = "requests",
) =>
  compileLimit({
    id: "",
    scope: "key:team-a",
    metric,
    window,
    limit: ceiling,
    source: "api",
  }, "UTC");

Deno.test("refusal - waits are written for people", () => {
  assert.equal(formatWait(1), "1 s");
  assert.equal(formatWait(12_000), "12 s");
  assert.equal(formatWait(245_000), "4 min 5 s");
  assert.equal(formatWait(3_600_000), "1 h");
  assert.equal(formatWait(12_000_000), "3 h 20 min");
  assert.equal(formatWait(187_200_000), "2 d 4 h");
});

Deno.test("refusal - a rolling window waits for the oldest buckets that free enough", () => {
  const oneMinute = limit("1m", 10);
  const now = 100_500;
  // Buckets 50 (4), 70 (3), 100 (3): full. One more request needs bucket 50 to leave at 110 s.
  const facts = {
    used: 10,
    reserved: 0,
    requested: 1,
    buckets: [[50, 4], [70, 3], [100, 3]] as [number, number][],
  };
  assert.equal(retryAfterMs(oneMinute, facts, now), 9_500);
  // Five more need buckets 50 and 70 gone: at 130 s.
  assert.equal(
    retryAfterMs(oneMinute, { ...facts, requested: 5 }, now),
    29_500,
  );
  // Held reservations alone: at least a second.
  assert.equal(
    retryAfterMs(oneMinute, {
      used: 0,
      reserved: 10,
      requested: 1,
      buckets: [],
    }, now),
    1000,
  );
});

Deno.test("refusal - a calendar window waits for the next period", () => {
  const month = limit("month", 5, "cost_usd");
  const now = Date.UTC(2026, 1, 27, 12);
  const facts = {
    used: 5e9,
    reserved: 0,
    requested: 1e8,
    buckets: [[2026 * 12 + 1, 5e9]] as [number, number][],
  };
  const wait = retryAfterMs(month, facts, now);
  assert.equal(now + wait, Date.UTC(2026, 2, 1));
  assert.equal(
    refusalMessage(month, facts, wait),
    "Request refused: key team-a has used $5.00 of its $5.00 per month, and this call may use $0.10; the limit resets in 1 d 12 h. Try again later or ask an admin to raise the limit.",
  );
});
