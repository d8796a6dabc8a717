import assert from "node:assert/strict";
import {
  backoffCeiling,
  backoffDelay,
  nextAttempt,
} from "../../../lib/live/client/backoff.ts";

const POLICY = { baseMs: 500, capMs: 30_000 };

Deno.test("backoff - the ceiling doubles from the base and stops at the cap", () => {
  const ceilings = [1, 2, 3, 4, 5, 6, 7, 8].map((n) =>
    backoffCeiling(n, POLICY)
  );
  assert.deepEqual(ceilings, [
    500,
    1000,
    2000,
    4000,
    8000,
    16000,
    30000,
    30000,
  ]);
  assert.equal(backoffCeiling(5000, POLICY), 30_000);
});

Deno.test("backoff - full jitter: the delay spans the whole range from zero to the ceiling", () => {
  assert.equal(backoffDelay(3, POLICY, () => 0), 0);
  assert.equal(backoffDelay(3, POLICY, () => 0.5), 1000);
  assert.equal(backoffDelay(3, POLICY, () => 0.999999), 1999);
  assert.equal(backoffDelay(20, POLICY, () => 0.5), 15_000);
});

Deno.test("backoff - every delay stays below its ceiling whatever the random source says", () => {
  const sources = [() => -1, () => 0, () => 0.3, () => 0.9999999, () => 2];
  for (const random of sources) {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const delay = backoffDelay(attempt, POLICY, random);
      assert.ok(delay >= 0 && delay <= backoffCeiling(attempt, POLICY));
    }
  }
});

Deno.test("backoff - a socket that dies before the minimum uptime does not reset the attempts", () => {
  const min = 5_000;
  // Opened, got its snapshot, died after one second.
  assert.equal(
    nextAttempt(3, { openedAt: 1000, snapshotAt: 1010, closedAt: 2000 }, min),
    4,
  );
  // Never opened.
  assert.equal(
    nextAttempt(3, { openedAt: null, snapshotAt: null, closedAt: 2000 }, min),
    4,
  );
  // Up a long time but never sent a snapshot.
  assert.equal(
    nextAttempt(3, { openedAt: 1000, snapshotAt: null, closedAt: 60_000 }, min),
    4,
  );
});

Deno.test("backoff - a healthy session resets the attempts, so its loss is retried quickly", () => {
  assert.equal(
    nextAttempt(
      6,
      { openedAt: 1000, snapshotAt: 1010, closedAt: 6000 },
      5_000,
    ),
    1,
  );
});
