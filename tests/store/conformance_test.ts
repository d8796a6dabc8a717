/**
 * One suite, run against every store backend (Deno KV `:memory:` and a real
 * redis-server), so that window semantics, reservations, idempotency and
 * history behave identically whichever store a deployment picks.
 */

import assert from "node:assert/strict";
import { manualClock } from "../../lib/quota/clock.ts";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { parseWindow, windowPosition } from "../../lib/quota/windows.ts";
import type { CounterHold, QuotaStore } from "../../lib/store/store.ts";
import {
  BACKENDS,
  gatewayLimit,
  usageRecord,
} from "./support/store_fixtures.ts";

const ESTIMATE = { inputTokens: 10, outputTokens: 10, costNanos: 1000 };
const NOTHING = { inputTokens: 0, outputTokens: 0, costNanos: 0 };
const T0 = Date.UTC(2026, 4, 12, 10, 7, 0);

function hold(
  counter: string,
  limit: number,
  amount: number,
  bucket = 10,
  span = 5,
): CounterHold {
  return { counter, bucket, span, limitId: `limit-${counter}`, limit, amount };
}

async function gatewayStatus(engine: QuotaEngine) {
  return (await engine.status()).scopes[0].limits[0];
}

type Case = [name: string, run: (store: QuotaStore) => Promise<void>];

const CASES: Case[] = [
  [
    "a refused reservation changes nothing, a successful one holds on every counter",
    async (store) => {
      const seq0 = await store.changeSeq();
      const refused = await store.reserve({
        reservationId: "r1",
        holds: [hold("a", 10, 5), hold("b", 3, 5)],
        leaseUntil: 1000,
        meta: {},
      });
      assert.deepEqual(
        refused.ok ? null : [
          refused.limitId,
          refused.counter,
          refused.used,
          refused.reserved,
          refused.limit,
          refused.requested,
        ],
        ["limit-b", "b", 0, 0, 3, 5],
      );
      assert.equal(await store.getReservation("r1"), null);
      assert.equal(await store.changeSeq(), seq0);
      const [a0] = await store.readCounters([{
        counter: "a",
        bucket: 10,
        span: 5,
      }]);
      assert.equal(a0.reserved, 0);

      const ok = await store.reserve({
        reservationId: "r2",
        holds: [hold("a", 10, 5), hold("b", 10, 7)],
        leaseUntil: 1000,
        meta: { key: "team-a", estimate: { inputTokens: 3 } },
      });
      assert.ok(ok.ok && !ok.existing);
      assert.deepEqual(ok.readings?.map((r) => r.reserved), [5, 7]);
      assert.ok(await store.changeSeq() > seq0);
      assert.deepEqual(await store.getReservation("r2"), {
        reservationId: "r2",
        holds: [{ counter: "a", amount: 5 }, { counter: "b", amount: 7 }],
        leaseUntil: 1000,
        meta: { key: "team-a", estimate: { inputTokens: 3 } },
      });
      // Reserving the same id again holds nothing more, and says so.
      const seq1 = await store.changeSeq();
      const again = await store.reserve({
        reservationId: "r2",
        holds: [hold("a", 10, 5)],
        leaseUntil: 1000,
        meta: {},
      });
      assert.ok(again.ok && again.existing);
      assert.equal(await store.changeSeq(), seq1);
      const readings = await store.readCounters([
        { counter: "a", bucket: 10, span: 5 },
        { counter: "b", bucket: 10, span: 5 },
      ]);
      assert.deepEqual(readings.map((r) => r.reserved), [5, 7]);
    },
  ],
  [
    "an exhausted counter refuses even a hold of 0; one with room left admits it",
    async (store) => {
      await store.record("u", [{
        counter: "c",
        bucket: 10,
        span: 5,
        amount: 4,
      }], usageRecord("u", T0));
      const zeroAt = (limit: number, id: string) =>
        store.reserve({
          reservationId: id,
          holds: [hold("c", limit, 0)],
          leaseUntil: 1000,
          meta: {},
        });
      const full = await zeroAt(4, "z1");
      assert.deepEqual(
        full.ok ? null : [full.used, full.reserved, full.requested],
        [4, 0, 0],
      );
      assert.ok(!full.ok && full.buckets?.length === 1);
      assert.equal((await zeroAt(5, "z2")).ok, true);
      // A hold that exactly fills the limit fits; one more unit does not.
      assert.equal(
        (await store.reserve({
          reservationId: "fill",
          holds: [hold("c", 9, 5)],
          leaseUntil: 1000,
          meta: {},
        })).ok,
        true,
      );
      assert.equal(
        (await store.reserve({
          reservationId: "over",
          holds: [hold("c", 10, 2)],
          leaseUntil: 1000,
          meta: {},
        })).ok,
        false,
      );
    },
  ],
  [
    "through the engine, a call estimating nothing is refused once a token budget is used up",
    async (store) => {
      const clock = manualClock(T0);
      const engine = new QuotaEngine({
        store,
        clock: clock.now,
        fileLimits: [gatewayLimit(150, "day", "tokens")],
      });
      await engine.report("first", usageRecord("first", T0));
      const exhausted = await engine.admit({
        key: "team-a",
        model: "gpt-4o",
        estimate: NOTHING,
      });
      assert.equal(exhausted.ok, false);
      assert.ok(!exhausted.ok && exhausted.limit.state === "exceeded");
    },
  ],
  [
    "buckets leave a rolling counter one slice at a time",
    async (store) => {
      const add = (bucket: number, amount: number) => ({
        counter: "c",
        bucket,
        span: 3,
        amount,
      });
      await store.record("a", [add(100, 1)], usageRecord("a", 1));
      await store.record("b", [add(101, 2)], usageRecord("b", 2));
      await store.record("c", [add(102, 4)], usageRecord("c", 3));
      const at = async (bucket: number) =>
        (await store.readCounters([{ counter: "c", bucket, span: 3 }]))[0];
      assert.deepEqual(await at(102), {
        used: 7,
        reserved: 0,
        lastBucket: 102,
        firstBucket: 100,
      });
      assert.deepEqual(await at(103), {
        used: 6,
        reserved: 0,
        lastBucket: 102,
        firstBucket: 101,
      });
      assert.deepEqual(await at(104), {
        used: 4,
        reserved: 0,
        lastBucket: 102,
        firstBucket: 102,
      });
      assert.deepEqual(await at(105), {
        used: 0,
        reserved: 0,
        lastBucket: null,
        firstBucket: null,
      });
      // A later write prunes the old buckets without touching newer ones.
      await store.record("d", [add(104, 8)], usageRecord("d", 4));
      assert.equal((await at(104)).used, 12);
    },
  ],
  [
    "a rolling 1m window still counts usage 1 ms before its bucket edge and drops it at the edge",
    async (store) => {
      const spec = parseWindow("1m");
      assert.equal(spec.kind, "rolling");
      if (spec.kind !== "rolling") return;
      const at = T0 + 400;
      const { bucket } = windowPosition(spec, at);
      const edge = (bucket + spec.span) * spec.bucketMs;
      const clock = manualClock(at);
      const engine = new QuotaEngine({
        store,
        clock: clock.now,
        fileLimits: [gatewayLimit(1, "1m")],
      });
      const first = await engine.admit({
        key: "team-a",
        model: "gpt-4o",
        estimate: ESTIMATE,
      });
      assert.ok(first.ok);
      await engine.settle(first.reservationId, usageRecord("call-1", at));

      clock.set(edge - 1);
      const before = await gatewayStatus(engine);
      assert.deepEqual([before.used, before.remaining], [1, 0]);
      assert.equal(
        (await engine.admit({
          key: "team-a",
          model: "gpt-4o",
          estimate: ESTIMATE,
        })).ok,
        false,
      );

      clock.set(edge);
      const after = await gatewayStatus(engine);
      assert.deepEqual([after.used, after.remaining], [0, 1]);
      assert.equal(
        (await engine.admit({
          key: "team-a",
          model: "gpt-4o",
          estimate: ESTIMATE,
        })).ok,
        true,
      );
    },
  ],
  [
    "a day window counts usage until 1 ms before UTC midnight and starts empty at midnight",
    async (store) => {
      const midnight = Date.UTC(2026, 4, 13);
      const clock = manualClock(midnight - 60_000);
      const engine = new QuotaEngine({
        store,
        clock: clock.now,
        fileLimits: [gatewayLimit(2)],
      });
      await engine.report("late", usageRecord("late", midnight - 60_000));
      clock.set(midnight - 1);
      assert.equal((await gatewayStatus(engine)).used, 1);
      clock.set(midnight);
      assert.equal((await gatewayStatus(engine)).used, 0);
      await engine.report("early", usageRecord("early", midnight));
      clock.set(midnight + 1);
      assert.equal((await gatewayStatus(engine)).used, 1);
    },
  ],
  [
    "200 concurrent admissions against a limit of 100 admit exactly 100, which settle into usage",
    async (store) => {
      const engine = new QuotaEngine({
        store,
        fileLimits: [gatewayLimit(100)],
      });
      const results = await Promise.all(
        Array.from(
          { length: 200 },
          () =>
            engine.admit({
              key: "team-a",
              model: "gpt-4o",
              estimate: ESTIMATE,
            }),
        ),
      );
      assert.equal(results.filter((r) => r.ok).length, 100);
      const refused = results.find((r) => !r.ok);
      assert.ok(
        refused && !refused.ok &&
          /\(plus 100 held by calls in flight\) of its 100 requests per day/
            .test(refused.message),
      );
      const status = await gatewayStatus(engine);
      assert.deepEqual(
        [status.used, status.reserved, status.remaining, status.state],
        [0, 100, 0, "exceeded"],
      );
      await Promise.all(
        results.map((r, i) =>
          r.ok
            ? engine.settle(r.reservationId, usageRecord(`r${i}`, Date.now()))
            : null
        ),
      );
      const settled = await gatewayStatus(engine);
      assert.deepEqual([settled.used, settled.reserved], [100, 0]);
    },
  ],
  [
    "settle writes the record, its rollup and the counters once; record is idempotent by id",
    async (store) => {
      const minute = Date.UTC(2026, 4, 12, 10, 7);
      const add = { counter: "t", bucket: 1, span: 1, amount: 150 };
      await store.reserve({
        reservationId: "r",
        holds: [{ ...hold("t", 1000, 500), bucket: 1, span: 1 }],
        leaseUntil: minute + 60_000,
        meta: {},
      });
      assert.equal(
        await store.settle("r", [add], usageRecord("call-1", minute + 5000)),
        true,
      );
      assert.equal(
        await store.settle("r", [add], usageRecord("call-1", minute + 5000)),
        false,
      );
      assert.equal(
        await store.record(
          "reservation:r",
          [add],
          usageRecord("call-1", minute + 5000),
        ),
        "duplicate",
      );
      const seq = await store.changeSeq();
      assert.equal(
        await store.record(
          "req-9",
          [add],
          usageRecord("call-2", minute + 9000, "team-b"),
        ),
        "recorded",
      );
      assert.ok(await store.changeSeq() > seq);
      const seq2 = await store.changeSeq();
      assert.equal(
        await store.record(
          "req-9",
          [add],
          usageRecord("call-2", minute + 9000, "team-b"),
        ),
        "duplicate",
      );
      assert.equal(await store.changeSeq(), seq2);
      const [t] = await store.readCounters([{
        counter: "t",
        bucket: 1,
        span: 1,
      }]);
      assert.deepEqual([t.used, t.reserved], [300, 0]);
      assert.deepEqual((await store.listRecent(10)).map((r) => r.id), [
        "call-2",
        "call-1",
      ]);
      assert.deepEqual(await store.listRollups(minute, minute + 60_000), [
        {
          minute,
          key: "team-a",
          model: "gpt-4o",
          requests: 1,
          inputTokens: 100,
          outputTokens: 50,
          costNanos: 1234,
        },
        {
          minute,
          key: "team-b",
          model: "gpt-4o",
          requests: 1,
          inputTokens: 100,
          outputTokens: 50,
          costNanos: 1234,
        },
      ]);
      // Retention prunes raw records and keeps rollups.
      assert.equal(await store.pruneRecords(minute + 6000), 1);
      assert.deepEqual((await store.listRecent(10)).map((r) => r.id), [
        "call-2",
      ]);
      assert.equal(
        (await store.listRollups(minute, minute + 60_000)).length,
        2,
      );
    },
  ],
  [
    "rollups sum usage per minute, key and model, and a range takes from <= minute < to",
    async (store) => {
      const m = Date.UTC(2026, 4, 12, 10, 7);
      const calls: [string, number, string, string][] = [
        ["a", m, "team-a", "gpt-4o"],
        ["b", m + 59_999, "team-a", "gpt-4o"],
        ["c", m + 30_000, "team-a", "gpt-4o-mini"],
        ["d", m + 60_000, "team-a", "gpt-4o"],
        ["e", m + 120_000, "team-b", "gpt-4o"],
      ];
      for (const [id, at, key, model] of calls) {
        await store.record(id, [], usageRecord(id, at, key, model));
      }
      const summary = (
        rollups: Awaited<ReturnType<QuotaStore["listRollups"]>>,
      ) =>
        rollups.map((
          r,
        ) => [r.minute - m, r.key, r.model, r.requests, r.inputTokens]);
      assert.deepEqual(summary(await store.listRollups(m, m + 180_000)), [
        [0, "team-a", "gpt-4o", 2, 200],
        [0, "team-a", "gpt-4o-mini", 1, 100],
        [60_000, "team-a", "gpt-4o", 1, 100],
        [120_000, "team-b", "gpt-4o", 1, 100],
      ]);
      assert.deepEqual(summary(await store.listRollups(m + 1, m + 120_000)), [
        [60_000, "team-a", "gpt-4o", 1, 100],
      ]);
      assert.deepEqual(await store.listRollups(m - 60_000, m), []);
    },
  ],
  [
    "listRecent gives the newest records first, and pruneRecords removes old ones in batches",
    async (store) => {
      await Promise.all(
        Array.from(
          { length: 620 },
          (_, i) =>
            store.record(`p${i}`, [], usageRecord(`p${i}`, T0 + i * 1000)),
        ),
      );
      assert.deepEqual(
        (await store.listRecent(3)).map((r) => r.id),
        ["p619", "p618", "p617"],
      );
      assert.equal((await store.listRecent(10_000)).length, 620);
      assert.equal(await store.pruneRecords(T0 + 600 * 1000), 600);
      assert.equal(await store.pruneRecords(T0 + 600 * 1000), 0);
      const left = await store.listRecent(100);
      assert.deepEqual([left.length, left.at(-1)?.id], [20, "p600"]);
      const rollups = await store.listRollups(T0, T0 + 620 * 1000);
      assert.equal(rollups.reduce((sum, r) => sum + r.requests, 0), 620);
    },
  ],
  [
    "release frees every hold once",
    async (store) => {
      await store.reserve({
        reservationId: "r",
        holds: [hold("a", 10, 4), hold("b", 10, 6)],
        leaseUntil: 1000,
        meta: {},
      });
      const seq = await store.changeSeq();
      assert.equal(await store.release("r"), true);
      assert.ok(await store.changeSeq() > seq);
      assert.equal(await store.release("r"), false);
      assert.equal(await store.getReservation("r"), null);
      const readings = await store.readCounters([
        { counter: "a", bucket: 10, span: 5 },
        { counter: "b", bucket: 10, span: 5 },
      ]);
      assert.deepEqual(readings.map((r) => r.reserved), [0, 0]);
    },
  ],
  [
    "sweepExpired releases only leases that ended before now, and a swept reservation is settled once through record",
    async (store) => {
      await store.reserve({
        reservationId: "old",
        holds: [hold("a", 100, 30)],
        leaseUntil: 1000,
        meta: {},
      });
      await store.reserve({
        reservationId: "young",
        holds: [hold("a", 100, 20)],
        leaseUntil: 2000,
        meta: {},
      });
      assert.equal(await store.sweepExpired(1000), 0);
      assert.equal(await store.sweepExpired(1001), 1);
      assert.equal(await store.sweepExpired(1001), 0);
      assert.equal(await store.getReservation("old"), null);
      assert.equal((await store.getReservation("young"))?.leaseUntil, 2000);
      const reading = async () =>
        (await store.readCounters([{ counter: "a", bucket: 10, span: 5 }]))[0];
      assert.deepEqual([(await reading()).reserved], [20]);

      // The call behind "old" finishes late: settle finds nothing, record counts it once.
      const add = { counter: "a", bucket: 10, span: 5, amount: 25 };
      assert.equal(
        await store.settle("old", [add], usageRecord("late", T0)),
        false,
      );
      assert.equal(
        await store.record("reservation:old", [add], usageRecord("late", T0)),
        "recorded",
      );
      assert.equal(
        await store.record("reservation:old", [add], usageRecord("late", T0)),
        "duplicate",
      );
      assert.deepEqual(
        [(await reading()).used, (await reading()).reserved],
        [25, 20],
      );
      assert.equal(await store.sweepExpired(5000), 1);
      assert.equal((await reading()).reserved, 0);
    },
  ],
  [
    "through the engine, settling after a sweep counts the usage once and a retry counts nothing",
    async (store) => {
      const clock = manualClock(T0);
      const engine = new QuotaEngine({
        store,
        clock: clock.now,
        leaseMs: 1000,
        fileLimits: [gatewayLimit(10)],
      });
      const admitted = await engine.admit({
        key: "team-a",
        model: "gpt-4o",
        estimate: ESTIMATE,
      });
      assert.ok(admitted.ok);
      assert.equal((await gatewayStatus(engine)).reserved, 1);
      clock.advance(1001);
      assert.deepEqual(await engine.maintain(), { swept: 1, pruned: 0 });
      assert.deepEqual(
        [
          (await gatewayStatus(engine)).reserved,
          (await gatewayStatus(engine)).used,
        ],
        [0, 0],
      );
      const call = usageRecord("slow-call", clock.now());
      assert.equal(await engine.settle(admitted.reservationId, call), true);
      assert.equal(await engine.settle(admitted.reservationId, call), false);
      assert.equal((await gatewayStatus(engine)).used, 1);
    },
  ],
  [
    "dollar counters hold nano-dollar amounts far above 2^40 exactly",
    async (store) => {
      const big = 123_456_789_012_345;
      await store.reserve({
        reservationId: "big",
        holds: [hold("usd", 4 * big, big)],
        leaseUntil: 1000,
        meta: {},
      });
      await store.record("spent", [{
        counter: "usd",
        bucket: 10,
        span: 5,
        amount: big + 1,
      }], { ...usageRecord("spent", T0), costNanos: big + 1 });
      const [reading] = await store.readCounters([{
        counter: "usd",
        bucket: 10,
        span: 5,
      }]);
      assert.deepEqual([reading.used, reading.reserved], [big + 1, big]);
      assert.equal(await store.release("big"), true);
      const [after] = await store.readCounters([{
        counter: "usd",
        bucket: 10,
        span: 5,
      }]);
      assert.equal(after.reserved, 0);
      const [rollup] = await store.listRollups(T0, T0 + 60_000);
      assert.equal(rollup.costNanos, big + 1);
    },
  ],
  [
    "keys, limits and upstream quota are kept and bump the change counter",
    async (store) => {
      let seq = await store.changeSeq();
      const bumped = async () => {
        const next = await store.changeSeq();
        const grew = next > seq;
        seq = next;
        return grew;
      };
      const key = {
        name: "team-a",
        hash: "h1",
        prefix: "qm_ab",
        createdAt: "2026-05-12T10:00:00.000Z",
        kind: "virtual" as const,
      };
      await store.putKey(key);
      assert.ok(await bumped());
      assert.deepEqual(await store.getKeyByHash("h1"), key);
      await store.putKey({ ...key, hash: "h2", prefix: "qm_cd" });
      assert.equal(await store.getKeyByHash("h1"), null);
      assert.equal((await store.getKeyByName("team-a"))?.hash, "h2");
      assert.equal(await store.getKeyByName("team-z"), null);
      await store.putKey({ ...key, name: "team-0", hash: "h3" });
      assert.deepEqual((await store.listKeys()).map((k) => k.name), [
        "team-0",
        "team-a",
      ]);

      await store.putLimit({
        id: "x",
        scope: "gateway",
        metric: "requests",
        window: "1m",
        limit: 5,
        source: "api",
      });
      assert.ok(await bumped());
      assert.deepEqual((await store.listLimits()).map((l) => l.id), ["x"]);
      assert.equal(await store.deleteLimit("x"), true);
      assert.ok(await bumped());
      assert.equal(await store.deleteLimit("x"), false);
      assert.deepEqual(await store.listLimits(), []);

      await store.putUpstream({
        keyId: "k1",
        remainingRequests: 10,
        updatedAt: "2026-05-12T10:00:00.000Z",
      });
      assert.ok(await bumped());
      assert.deepEqual(
        (await store.listUpstream()).map((u) => u.remainingRequests),
        [10],
      );
    },
  ],
];

for (const backend of BACKENDS) {
  Deno.test({
    name: `store conformance on ${backend.name}`,
    fn: async (t) => {
      const env = await backend.setup();
      try {
        for (const [name, run] of CASES) {
          await t.step(`${backend.name} store - ${name}`, async () => {
            const store = await env.open();
            try {
              await run(store);
            } finally {
              store.close();
            }
          });
        }
      } finally {
        await env.teardown();
      }
    },
  });
}
