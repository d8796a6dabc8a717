import assert from "node:assert/strict";
import { QuotaInputError } from "../../lib/quota/errors.ts";
import {
  engineAt,
  estimate,
  limitById,
  usage,
} from "./support/engine_fixture.ts";

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 4, 12, 10, 0, 0, 0);
const CALL = { key: "team-a", model: "gpt-4o" };

Deno.test("engine - a 1m request limit refuses the 61st call and admits again exactly when the first leaves", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "requests",
    window: "1m",
    limit: 60,
  });
  for (let i = 0; i < 60; i++) {
    const admission = await f.engine.admit({
      ...CALL,
      estimate: estimate(1, 1),
    });
    assert.equal(admission.ok, true);
    if (admission.ok) {
      await f.engine.settle(
        admission.reservationId,
        usage("team-a", "gpt-4o", f.clock.now()),
      );
    }
    if (i === 0) f.clock.advance(30_000); // the other 59 calls come 30 s later
  }
  f.clock.set(T0 + 59_999);
  const refused = await f.engine.admit({ ...CALL, estimate: estimate(1, 1) });
  assert.equal(refused.ok, false);
  if (refused.ok) return;
  assert.equal(refused.limit.id, "key:team-a|requests|1m");
  assert.equal(refused.limit.used, 60);
  assert.equal(refused.retryAfterMs, 1000); // 1 ms left, rounded up to the 1 s floor
  assert.equal(
    refused.message,
    "Request refused: key team-a has used 60 of its 60 requests per 1m; enough of it frees up in 1 s. Try again later or ask an admin to raise the limit.",
  );
  f.clock.set(T0 + 60_000);
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
    true,
  );
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
    false,
  );
});

Deno.test("engine - retry-after names when enough usage leaves the rolling window", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "1m",
    limit: 100,
  });
  await f.engine.report("a", usage("team-a", "gpt-4o", T0, { input: 30 }));
  f.clock.set(T0 + 10_000);
  await f.engine.report(
    "b",
    usage("team-a", "gpt-4o", T0 + 10_000, { input: 30 }),
  );
  f.clock.set(T0 + 20_000);
  await f.engine.report(
    "c",
    usage("team-a", "gpt-4o", T0 + 20_000, { input: 30 }),
  );
  // 90 used; a call of 50 needs 40 freed: the first two reports must leave (at T0 + 70 s).
  const refused = await f.engine.admit({ ...CALL, estimate: estimate(40, 10) });
  assert.equal(refused.ok, false);
  if (refused.ok) return;
  assert.equal(refused.retryAfterMs, 50_000);
  assert.equal(refused.requested, 50);
  f.clock.set(T0 + 69_999);
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(40, 10) })).ok,
    false,
  );
  f.clock.set(T0 + 70_000);
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(40, 10) })).ok,
    true,
  );
});

Deno.test("engine - a daily dollar budget resets at UTC midnight, not a millisecond earlier", async () => {
  const midnight = Date.UTC(2026, 4, 13);
  using f = await engineAt(midnight - HOUR);
  await f.engine.putLimit({
    scope: "gateway",
    metric: "cost_usd",
    window: "day",
    limit: 1,
  });
  await f.engine.report(
    "spent",
    usage("team-a", "gpt-4o", midnight - HOUR, { dollars: 1 }),
  );
  f.clock.set(midnight - 1);
  const refused = await f.engine.admit({
    ...CALL,
    estimate: estimate(10, 10, 0.01),
  });
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.retryAfterMs, 1);
    assert.equal(refused.limit.resetAt, "2026-05-13T00:00:00.000Z");
    assert.equal(refused.limit.state, "exceeded");
    assert.match(
      refused.message,
      /^Request refused: the gateway has used \$1\.00 of its \$1\.00 per day, and this call may use \$0\.01; the limit resets in 1 s\./,
    );
  }
  f.clock.set(midnight);
  const admitted = await f.engine.admit({
    ...CALL,
    estimate: estimate(10, 10, 0.01),
  });
  assert.equal(admitted.ok, true);
  if (admitted.ok) {
    assert.equal(admitted.limits[0].used, 0);
    assert.equal(admitted.limits[0].reserved, 0.01);
    assert.equal(admitted.limits[0].resetAt, "2026-05-14T00:00:00.000Z");
  }
});

Deno.test("engine - a budget rolls over with no traffic at all", async () => {
  const start = Date.UTC(2026, 0, 31, 20);
  using f = await engineAt(start);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "month",
    limit: 1000,
  });
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "1h",
    limit: 1000,
  });
  await f.engine.report(
    "r1",
    usage("team-a", "gpt-4o", start, { input: 600, output: 300 }),
  );
  const month = await limitById(f.engine, "key:team-a|tokens|month");
  assert.equal(month.used, 900);
  assert.equal(month.percent, 90);
  assert.equal(month.state, "warning");
  assert.equal(month.resetAt, "2026-02-01T00:00:00.000Z");
  const hour = await limitById(f.engine, "key:team-a|tokens|1h");
  assert.equal(hour.resetAt, "2026-01-31T21:00:00.000Z");

  f.clock.set(Date.UTC(2026, 1, 1) - 1);
  assert.equal(
    (await limitById(f.engine, "key:team-a|tokens|month")).used,
    900,
  );
  f.clock.set(Date.UTC(2026, 1, 1));
  const rolled = await limitById(f.engine, "key:team-a|tokens|month");
  assert.equal(rolled.used, 0);
  assert.equal(rolled.state, "ok");
  assert.equal(rolled.resetAt, "2026-03-01T00:00:00.000Z"); // February 2026 has 28 days
  const hourLater = await limitById(f.engine, "key:team-a|tokens|1h");
  assert.equal(hourLater.used, 0);
  assert.equal(hourLater.resetAt, null);
});

Deno.test("engine - month ends of 28, 29, 30 and 31 days reset a monthly budget on the 1st", async () => {
  for (const [year, month0] of [[2026, 1], [2028, 1], [2026, 3], [2026, 6]]) {
    const nextFirst = Date.UTC(year, month0 + 1, 1);
    using f = await engineAt(Date.UTC(year, month0, 1));
    await f.engine.putLimit({
      scope: "gateway",
      metric: "requests",
      window: "month",
      limit: 1,
    });
    await f.engine.report("first", usage("team-a", "gpt-4o", f.clock.now()));
    f.clock.set(nextFirst - 1);
    assert.equal(
      (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
      false,
      `${year}-${month0 + 1} last ms`,
    );
    f.clock.set(nextFirst);
    assert.equal(
      (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
      true,
      `${year}-${month0 + 2} first ms`,
    );
  }
});

Deno.test("engine - a New York day through a DST change lasts 23 and 25 hours", async () => {
  for (
    const [dayStart, dayEnd, hours] of [
      [Date.UTC(2026, 2, 8, 5), Date.UTC(2026, 2, 9, 4), 23],
      [Date.UTC(2026, 10, 1, 4), Date.UTC(2026, 10, 2, 5), 25],
    ]
  ) {
    using f = await engineAt(dayStart, { timeZone: "America/New_York" });
    await f.engine.putLimit({
      scope: "key:team-a",
      metric: "requests",
      window: "day",
      limit: 1,
    });
    await f.engine.report("x", usage("team-a", "gpt-4o", dayStart));
    const status = await limitById(f.engine, "key:team-a|requests|day");
    assert.equal(Date.parse(status.resetAt!) - dayStart, hours * HOUR);
    assert.match(status.semantics, /America\/New_York/);
    f.clock.set(dayEnd - 1);
    const refused = await f.engine.admit({ ...CALL, estimate: estimate(1, 1) });
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.match(refused.message, /per day \(America\/New_York\)/);
    }
    f.clock.set(dayEnd);
    assert.equal(
      (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
      true,
    );
  }
});

Deno.test("engine - a calendar limit with its own zone ignores the default zone", async () => {
  const tokyoMidnight = Date.UTC(2026, 4, 12, 15); // 2026-05-13 00:00 in Tokyo
  using f = await engineAt(tokyoMidnight - 1, { timeZone: "America/New_York" });
  const def = await f.engine.putLimit({
    scope: "gateway",
    metric: "requests",
    window: "day",
    limit: 5,
    timeZone: "Asia/Tokyo",
  });
  assert.equal(def.id, "gateway|requests|day@Asia/Tokyo");
  await f.engine.report("x", usage("team-a", "gpt-4o", f.clock.now()));
  assert.equal(
    (await limitById(f.engine, def.id)).resetAt,
    "2026-05-12T15:00:00.000Z",
  );
  f.clock.set(tokyoMidnight);
  assert.equal((await limitById(f.engine, def.id)).used, 0);
});

Deno.test("engine - every limit on a call must admit it, and a refused call uses nothing", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "gateway",
    metric: "requests",
    window: "1m",
    limit: 100,
  });
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "1h",
    limit: 1000,
  });
  await f.engine.putLimit({
    scope: "model:gpt-4o",
    metric: "output_tokens",
    window: "day",
    limit: 500,
  });
  await f.engine.putLimit({
    scope: "key:team-a/model:gpt-4o",
    metric: "cost_usd",
    window: "month",
    limit: 2,
  });
  await f.engine.putLimit({
    scope: "key:team-b",
    metric: "requests",
    window: "1m",
    limit: 1,
  });

  const first = await f.engine.admit({
    ...CALL,
    estimate: estimate(100, 400, 1),
  });
  assert.equal(first.ok, true);
  if (first.ok) {
    assert.deepEqual(first.limits.map((l) => l.id).sort(), [
      "gateway|requests|1m",
      "key:team-a/model:gpt-4o|cost_usd|month",
      "key:team-a|tokens|1h",
      "model:gpt-4o|output_tokens|day",
    ]);
  }
  const before = JSON.stringify((await f.engine.status()).scopes);
  // Fits every limit but the model's output tokens (400 + 200 > 500).
  const refused = await f.engine.admit({
    ...CALL,
    estimate: estimate(10, 200, 0.5),
  });
  assert.equal(refused.ok, false);
  if (!refused.ok) {
    assert.equal(refused.limit.id, "model:gpt-4o|output_tokens|day");
    assert.equal(refused.requested, 200);
    assert.match(
      refused.message,
      /model gpt-4o has used 0 \(plus 400 held by calls in flight\) of its 500 output tokens per day, and this call may use 200 output tokens/,
    );
  }
  assert.equal(JSON.stringify((await f.engine.status()).scopes), before);
  // Another model is not held by the gpt-4o limits.
  assert.equal(
    (await f.engine.admit({
      key: "team-a",
      model: "gpt-4o-mini",
      estimate: estimate(10, 200, 0.5),
    })).ok,
    true,
  );
  // A call too big for a limit at all says so.
  const huge = await f.engine.admit({
    key: "team-a",
    model: "gpt-4o-mini",
    estimate: estimate(5000, 0),
  });
  assert.equal(huge.ok, false);
  if (!huge.ok) {
    assert.match(
      huge.message,
      /this call may use 5,000 tokens, more than the 1,000 tokens per 1h that key team-a may use at all/,
    );
  }
});

Deno.test("engine - settle replaces the estimate with real usage, release frees the hold", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "1h",
    limit: 1000,
  });
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "cost_usd",
    window: "day",
    limit: 10,
  });
  const id = "key:team-a|tokens|1h";
  const a = await f.engine.admit({ ...CALL, estimate: estimate(100, 500, 2) });
  const b = await f.engine.admit({ ...CALL, estimate: estimate(100, 200, 1) });
  assert.ok(a.ok && b.ok);
  let tokens = await limitById(f.engine, id);
  assert.deepEqual([
    tokens.used,
    tokens.reserved,
    tokens.remaining,
    tokens.percent,
  ], [0, 900, 100, 90]);

  f.clock.advance(5000);
  assert.equal(
    await f.engine.settle(
      a.reservationId,
      usage("team-a", "gpt-4o", T0, { input: 100, output: 42, dollars: 0.25 }),
    ),
    true,
  );
  tokens = await limitById(f.engine, id);
  assert.deepEqual([tokens.used, tokens.reserved, tokens.remaining], [
    142,
    300,
    558,
  ]);
  const cost = await limitById(f.engine, "key:team-a|cost_usd|day");
  assert.deepEqual([cost.used, cost.reserved], [0.25, 1]);

  assert.equal(await f.engine.release(b.reservationId), true);
  tokens = await limitById(f.engine, id);
  assert.deepEqual([tokens.used, tokens.reserved], [142, 0]);
  // Settling or releasing twice changes nothing.
  assert.equal(
    await f.engine.settle(
      a.reservationId,
      usage("team-a", "gpt-4o", T0, { input: 100, output: 42 }),
    ),
    false,
  );
  assert.equal(await f.engine.release(b.reservationId), false);
  assert.equal((await limitById(f.engine, id)).used, 142);
  const status = await f.engine.status();
  assert.equal(status.recent.length, 1);
  assert.equal(status.recent[0].outputTokens, 42);
});

Deno.test("engine - a reservation from a dead caller comes back after its lease", async () => {
  using f = await engineAt(T0, { leaseMs: 60_000 });
  await f.engine.putLimit({
    scope: "gateway",
    metric: "requests",
    window: "day",
    limit: 1,
  });
  const held = await f.engine.admit({ ...CALL, estimate: estimate(1, 1) });
  assert.equal(held.ok, true);
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
    false,
  );
  assert.equal((await f.engine.maintain(T0 + 60_000)).swept, 0); // the lease runs to T0 + 60 s
  assert.equal((await f.engine.maintain(T0 + 60_001)).swept, 1);
  assert.equal((await limitById(f.engine, "gateway|requests|day")).reserved, 0);
  assert.equal(
    (await f.engine.admit({ ...CALL, estimate: estimate(1, 1) })).ok,
    true,
  );
  // A late settle of the swept reservation still counts its usage, once.
  if (held.ok) {
    assert.equal(
      await f.engine.settle(held.reservationId, usage("team-a", "gpt-4o", T0)),
      true,
    );
    assert.equal(
      await f.engine.settle(held.reservationId, usage("team-a", "gpt-4o", T0)),
      false,
    );
  }
  const status = await limitById(f.engine, "gateway|requests|day");
  assert.deepEqual([status.used, status.reserved], [1, 1]);
});

Deno.test("engine - reports count once per id and are not refused", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "requests",
    window: "1m",
    limit: 1,
  });
  assert.equal(
    await f.engine.report("req-1", usage("team-a", "gpt-4o", T0)),
    "recorded",
  );
  assert.equal(
    await f.engine.report("req-1", usage("team-a", "gpt-4o", T0)),
    "duplicate",
  );
  assert.equal(
    await f.engine.report("req-2", usage("team-a", "gpt-4o", T0)),
    "recorded",
  );
  const limit = await limitById(f.engine, "key:team-a|requests|1m");
  assert.deepEqual([limit.used, limit.remaining, limit.percent, limit.state], [
    2,
    0,
    200,
    "exceeded",
  ]);
});

Deno.test("engine - changing a ceiling keeps the usage counted so far", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "90m",
    limit: 100,
  });
  await f.engine.report("r", usage("team-a", "gpt-4o", T0, { input: 80 }));
  assert.equal(
    (await limitById(f.engine, "key:team-a|tokens|1h30m")).state,
    "warning",
  );
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "tokens",
    window: "1h30m",
    limit: 1000,
  });
  const raised = await limitById(f.engine, "key:team-a|tokens|1h30m");
  assert.deepEqual([raised.limit, raised.used, raised.percent, raised.state], [
    1000,
    80,
    8,
    "ok",
  ]);
  assert.equal((await f.engine.limits()).length, 1);
  assert.equal(await f.engine.deleteLimit("key:team-a|tokens|1h30m"), true);
  assert.equal(await f.engine.deleteLimit("key:team-a|tokens|1h30m"), false);
  assert.equal((await f.engine.status()).scopes.length, 0);
});

Deno.test("engine - limits from the file cannot be changed through the API", async () => {
  using f = await engineAt(T0, {
    fileLimits: [{
      id: "",
      scope: "gateway",
      metric: "cost_usd",
      window: "month",
      limit: 500,
      source: "file",
    }],
  });
  const limits = await f.engine.limits();
  assert.deepEqual(limits.map((l) => [l.id, l.source]), [[
    "gateway|cost_usd|month",
    "file",
  ]]);
  await assert.rejects(
    f.engine.putLimit({
      scope: "gateway",
      metric: "cost_usd",
      window: "month",
      limit: 1,
    }),
    (error: unknown) =>
      error instanceof QuotaInputError && error.code === "file_limit" &&
      /limits file/.test(error.message),
  );
  await assert.rejects(
    f.engine.deleteLimit("gateway|cost_usd|month"),
    QuotaInputError,
  );
  assert.equal((await f.engine.limits())[0].limit, 500);
});

Deno.test("engine - bad limits are refused with a sentence naming the field", async () => {
  using f = await engineAt(T0);
  const cases: [unknown, string][] = [
    [{ scope: "team-a", metric: "requests", window: "1m", limit: 1 }, "scope"],
    [
      { scope: "key:team a", metric: "requests", window: "1m", limit: 1 },
      "scope",
    ],
    [{ scope: "gateway", metric: "dollars", window: "1m", limit: 1 }, "metric"],
    [
      { scope: "gateway", metric: "requests", window: "1 minute", limit: 1 },
      "window",
    ],
    [
      { scope: "gateway", metric: "requests", window: "1m", limit: -1 },
      "limit",
    ],
    [
      { scope: "gateway", metric: "requests", window: "1m", limit: 1.5 },
      "limit",
    ],
    [
      { scope: "gateway", metric: "requests", window: "1m", limit: Number.NaN },
      "limit",
    ],
    [
      { scope: "gateway", metric: "requests", window: "1m", limit: "5" },
      "limit",
    ],
    [{
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: 1,
      timeZone: "UTC",
    }, "timeZone"],
    [{
      scope: "gateway",
      metric: "requests",
      window: "day",
      limit: 1,
      timeZone: "Nowhere/City",
    }, "timeZone"],
    [{
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: 1,
      colour: "red",
    }, "colour"],
    [
      { scope: "gateway", metric: "cost_usd", window: "day", limit: 2e6 },
      "limit",
    ],
  ];
  for (const [input, param] of cases) {
    await assert.rejects(f.engine.putLimit(input), (error: unknown) => {
      assert.ok(error instanceof QuotaInputError, JSON.stringify(input));
      assert.equal(error.param, param, JSON.stringify(input));
      assert.match(error.message, /^[A-Z].*\.$/);
      return true;
    });
  }
  assert.equal((await f.engine.limits()).length, 0);
});

Deno.test("engine - status for one key shows its scopes and the gateway only", async () => {
  using f = await engineAt(T0);
  for (
    const scope of [
      "gateway",
      "key:team-a",
      "key:team-b",
      "model:gpt-4o",
      "key:team-a/model:gpt-4o",
      "key:team-b/model:gpt-4o",
    ]
  ) {
    await f.engine.putLimit({
      scope,
      metric: "requests",
      window: "1m",
      limit: 10,
    });
  }
  await f.engine.report("a", usage("team-a", "gpt-4o", T0));
  await f.engine.report("b", usage("team-b", "gpt-4o", T0));
  const all = await f.engine.status();
  assert.deepEqual(all.scopes.map((s) => s.scope), [
    "gateway",
    "key:team-a",
    "key:team-b",
    "model:gpt-4o",
    "key:team-a/model:gpt-4o",
    "key:team-b/model:gpt-4o",
  ]);
  assert.equal(all.recent.length, 2);
  const mine = await f.engine.status({ key: "team-a" });
  assert.deepEqual(mine.scopes.map((s) => s.scope), [
    "gateway",
    "key:team-a",
    "key:team-a/model:gpt-4o",
  ]);
  assert.deepEqual(mine.recent.map((r) => r.key), ["team-a"]);
  assert.equal(mine.scopes[0].limits[0].used, 2);
  assert.equal(mine.generatedAt, new Date(T0).toISOString());
});

Deno.test("engine - the warning threshold is configurable", async () => {
  using f = await engineAt(T0, { warnAt: 0.5 });
  await f.engine.putLimit({
    scope: "gateway",
    metric: "requests",
    window: "1m",
    limit: 10,
  });
  for (let i = 0; i < 4; i++) {
    await f.engine.report(`r${i}`, usage("team-a", "gpt-4o", T0));
  }
  assert.equal((await limitById(f.engine, "gateway|requests|1m")).state, "ok");
  await f.engine.report("r5", usage("team-a", "gpt-4o", T0));
  const status = await f.engine.status();
  assert.equal(status.warnAt, 0.5);
  assert.equal(status.scopes[0].limits[0].state, "warning");
});

Deno.test("engine - every change is announced, and a rollover is noticed without traffic", async () => {
  using f = await engineAt(T0);
  const kinds: string[] = [];
  const stop = f.engine.onChange((change) => kinds.push(change.kind));
  await f.engine.putLimit({
    scope: "gateway",
    metric: "requests",
    window: "1m",
    limit: 1,
  });
  const a = await f.engine.admit({ ...CALL, estimate: estimate(1, 1) });
  await f.engine.admit({ ...CALL, estimate: estimate(1, 1) }); // refused: no change
  if (a.ok) {
    await f.engine.settle(a.reservationId, usage("team-a", "gpt-4o", T0));
  }
  await f.engine.report("x", usage("team-a", "gpt-4o", T0));
  await f.engine.status();
  await f.engine.maintain(T0 + 59_999);
  await f.engine.maintain(T0 + 60_000);
  stop();
  await f.engine.report("y", usage("team-a", "gpt-4o", T0));
  assert.deepEqual(kinds, ["limit", "admit", "settle", "report", "rollover"]);
});

Deno.test("engine - bad usage is refused before anything is counted", async () => {
  using f = await engineAt(T0);
  await f.engine.putLimit({
    scope: "gateway",
    metric: "tokens",
    window: "1m",
    limit: 100,
  });
  const bad = [
    { ...usage("team-a", "gpt-4o", T0, { input: 5 }), cachedTokens: 6 },
    { ...usage("team-a", "gpt-4o", T0), inputTokens: -1 },
    { ...usage("team-a", "gpt-4o", T0), outputTokens: 1.5 },
    { ...usage("team-a", "gpt-4o", T0), outputTokens: Number.NaN },
    usage("team a", "gpt-4o", T0),
  ];
  for (const record of bad) {
    await assert.rejects(f.engine.report("bad", record), QuotaInputError);
  }
  await assert.rejects(
    f.engine.admit({ ...CALL, estimate: estimate(-1, 1) }),
    QuotaInputError,
  );
  assert.equal((await limitById(f.engine, "gateway|tokens|1m")).used, 0);
});

Deno.test("engine - a status for one key does not hide another limit's rollover from the dashboard", async () => {
  using f = await engineAt(T0);
  const kinds: string[] = [];
  await f.engine.putLimit({
    scope: "key:team-a",
    metric: "requests",
    window: "1m",
    limit: 5,
  });
  await f.engine.putLimit({
    scope: "key:team-b",
    metric: "requests",
    window: "day",
    limit: 5,
  });
  await f.engine.report("x", usage("team-a", "gpt-4o", T0));
  await f.engine.status();
  // team-b's own view knows nothing of team-a's usage leaving its window.
  await f.engine.status({ key: "team-b" });
  const stop = f.engine.onChange((change) => kinds.push(change.kind));
  await f.engine.maintain(T0 + 60_000);
  stop();
  assert.deepEqual(kinds, ["rollover"]);
});
