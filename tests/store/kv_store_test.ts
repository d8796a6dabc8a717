import assert from "node:assert/strict";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";
import type { UsageRecord } from "../../lib/quota/types.ts";
import type { CounterHold } from "../../lib/store/store.ts";

const ESTIMATE = { inputTokens: 10, outputTokens: 10, costNanos: 1000 };
const DAY = 86_400_000;

function gatewayLimit(limit: number) {
  return [{
    id: "gateway-requests",
    scope: "gateway",
    metric: "requests" as const,
    window: "day",
    limit,
    source: "file" as const,
  }];
}

function record(
  id: string,
  at: number,
  key = "team-a",
  model = "gpt-4o",
): UsageRecord {
  return {
    id,
    at,
    key,
    model,
    endpoint: "report",
    status: 200,
    inputTokens: 100,
    cachedTokens: 20,
    outputTokens: 50,
    reasoningTokens: 0,
    costNanos: 1234,
    latencyMs: 3,
    estimated: false,
  };
}

async function gatewayStatus(engine: QuotaEngine) {
  return (await engine.status()).scopes[0].limits[0];
}

function spawnWorker(script: string, args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--quiet",
      new URL(`./support/${script}`, import.meta.url).pathname,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Yields stdout lines of a child as they come. */
async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    buffer += decoder.decode(chunk, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, cut);
      buffer = buffer.slice(cut + 1);
    }
  }
}

Deno.test("kv store - 200 concurrent admissions against a limit of 100 admit exactly 100", async () => {
  const store = await openKvStore(":memory:");
  try {
    const engine = new QuotaEngine({ store, fileLimits: gatewayLimit(100) });
    const results = await Promise.all(
      Array.from(
        { length: 200 },
        () =>
          engine.admit({ key: "team-a", model: "gpt-4o", estimate: ESTIMATE }),
      ),
    );
    assert.equal(results.filter((r) => r.ok).length, 100);
    const refused = results.find((r) => !r.ok);
    assert.ok(
      refused && !refused.ok &&
        /\(plus 100 held by calls in flight\) of its 100 requests per day/.test(
          refused.message,
        ),
    );
    const status = await gatewayStatus(engine);
    assert.deepEqual([
      status.used,
      status.reserved,
      status.remaining,
      status.state,
    ], [0, 100, 0, "exceeded"]);
    // Every admitted reservation settles to real usage.
    await Promise.all(
      results.map((r, i) =>
        r.ok
          ? engine.settle(r.reservationId, record(`r${i}`, Date.now()))
          : null
      ),
    );
    const settled = await gatewayStatus(engine);
    assert.deepEqual([settled.used, settled.reserved], [100, 0]);
  } finally {
    store.close();
  }
});

/** Runs admit workers on one file, started together; returns how many each admitted. */
async function runAdmitWorkers(
  path: string,
  processes: number,
  args: string[],
): Promise<number[]> {
  const workers = Array.from(
    { length: processes },
    () => spawnWorker("admit_worker.ts", [path, ...args]),
  );
  const outputs = workers.map((w) => lines(w.stdout));
  for (const out of outputs) assert.equal((await out.next()).value, "ready");
  for (const w of workers) {
    const writer = w.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
  }
  const admitted: number[] = [];
  for (const out of outputs) {
    admitted.push(JSON.parse((await out.next()).value as string).admitted);
    for await (const _ of out) { /* drain */ }
  }
  for (const w of workers) {
    const [status, stderr] = await Promise.all([
      w.status,
      new Response(w.stderr).text(),
    ]);
    assert.equal(status.code, 0, stderr);
  }
  return admitted;
}

Deno.test("kv store - two processes sharing one file admit exactly 100 of 2 x 100, and their holds come back after the lease", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/quota.kv`;
  try {
    const admitted = await runAdmitWorkers(path, 2, ["100", "100"]);
    assert.equal(
      admitted[0] + admitted[1],
      100,
      `admitted ${admitted.join(" + ")}`,
    );

    // The workers have exited without settling: their holds are reservations of dead processes.
    const store = await openKvStore(path);
    try {
      const engine = new QuotaEngine({ store, fileLimits: gatewayLimit(100) });
      assert.equal((await gatewayStatus(engine)).reserved, 100);
      assert.equal((await engine.maintain(Date.now() - 1000)).swept, 0);
      assert.equal((await engine.maintain(Date.now() + 61_000)).swept, 100);
      const status = await gatewayStatus(engine);
      assert.deepEqual([status.used, status.reserved, status.remaining], [
        0,
        0,
        100,
      ]);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store - three processes interleaving small waves on one file stay exact", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/quota.kv`;
  try {
    const admitted = await runAdmitWorkers(path, 3, ["100", "100", "4"]);
    assert.equal(
      admitted.reduce((a, b) => a + b, 0),
      100,
      `admitted ${admitted.join(" + ")}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store - every record acknowledged before kill -9 is in the file", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/quota.kv`;
  try {
    const worker = spawnWorker("record_worker.ts", [path]);
    await worker.stdin.close();
    const printed: string[] = [];
    for await (const line of lines(worker.stdout)) {
      printed.push(line);
      if (printed.length === 300) worker.kill("SIGKILL");
    }
    const [status] = await Promise.all([
      worker.status,
      new Response(worker.stderr).text(),
    ]);
    assert.equal(status.signal, "SIGKILL");
    assert.ok(printed.length >= 300);

    const store = await openKvStore(path);
    try {
      const stored = new Set(
        (await store.listRecent(100_000)).map((r) => r.id),
      );
      const missing = printed.filter((id) => !stored.has(id));
      assert.deepEqual(missing, []);
      // The counter and the rollups hold at least every acknowledged call.
      // Span 2 covers today and yesterday, in case the test straddles midnight UTC.
      const today = Math.floor(Date.now() / DAY);
      const [reading] = await store.readCounters([{
        counter: "gateway|requests|day@UTC",
        bucket: today,
        span: 2,
      }]);
      assert.ok(reading.used >= printed.length);
      const rollups = await store.listRollups(0, Date.now() + 60_000);
      assert.ok(
        rollups.reduce((sum, r) => sum + r.requests, 0) >= printed.length,
      );
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store - a refused reservation changes nothing, a successful one holds on every counter", async () => {
  const store = await openKvStore(":memory:");
  try {
    const hold = (
      counter: string,
      limit: number,
      amount: number,
    ): CounterHold => ({
      counter,
      bucket: 10,
      span: 5,
      limitId: counter,
      limit,
      amount,
    });
    const seq0 = await store.changeSeq();
    const refused = await store.reserve({
      reservationId: "r1",
      holds: [hold("a", 10, 5), hold("b", 3, 5)],
      leaseUntil: 1000,
      meta: {},
    });
    assert.deepEqual(
      refused.ok
        ? null
        : [refused.limitId, refused.used, refused.reserved, refused.requested],
      ["b", 0, 0, 5],
    );
    assert.equal(await store.getReservation("r1"), null);
    assert.equal(await store.changeSeq(), seq0);
    const [a] = await store.readCounters([{
      counter: "a",
      bucket: 10,
      span: 5,
    }]);
    assert.equal(a.reserved, 0);

    const ok = await store.reserve({
      reservationId: "r2",
      holds: [hold("a", 10, 5), hold("b", 10, 5)],
      leaseUntil: 1000,
      meta: { key: "team-a" },
    });
    assert.equal(ok.ok, true);
    assert.ok(await store.changeSeq() > seq0);
    assert.deepEqual((await store.getReservation("r2"))?.meta, {
      key: "team-a",
    });
    // Reserving the same id again holds nothing more.
    const again = await store.reserve({
      reservationId: "r2",
      holds: [hold("a", 10, 5)],
      leaseUntil: 1000,
      meta: {},
    });
    assert.ok(again.ok && again.existing);
    const readings = await store.readCounters([{
      counter: "a",
      bucket: 10,
      span: 5,
    }, { counter: "b", bucket: 10, span: 5 }]);
    assert.deepEqual(readings.map((r) => r.reserved), [5, 5]);
    // An exhausted counter refuses even a hold of 0.
    const full = await store.reserve({
      reservationId: "r3",
      holds: [hold("a", 5, 0)],
      leaseUntil: 1000,
      meta: {},
    });
    assert.equal(full.ok, false);
  } finally {
    store.close();
  }
});

Deno.test("kv store - buckets leave a rolling counter one slice at a time", async () => {
  const store = await openKvStore(":memory:");
  try {
    const add = (bucket: number, amount: number) => ({
      counter: "c",
      bucket,
      span: 3,
      amount,
    });
    await store.record("a", [add(100, 1)], record("a", 1));
    await store.record("b", [add(101, 2)], record("b", 2));
    await store.record("c", [add(102, 4)], record("c", 3));
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
  } finally {
    store.close();
  }
});

Deno.test("kv store - settle writes the record, its rollup and the counters once; record is idempotent", async () => {
  const store = await openKvStore(":memory:");
  try {
    const minute = Date.UTC(2026, 4, 12, 10, 7);
    await store.reserve({
      reservationId: "r",
      holds: [{
        counter: "t",
        bucket: 1,
        span: 1,
        limitId: "t",
        limit: 1000,
        amount: 500,
      }],
      leaseUntil: minute + 60_000,
      meta: {},
    });
    assert.equal(
      await store.settle("r", [{
        counter: "t",
        bucket: 1,
        span: 1,
        amount: 150,
      }], record("call-1", minute + 5000)),
      true,
    );
    assert.equal(
      await store.settle("r", [{
        counter: "t",
        bucket: 1,
        span: 1,
        amount: 150,
      }], record("call-1", minute + 5000)),
      false,
    );
    assert.equal(
      await store.record("reservation:r", [], record("call-1", minute + 5000)),
      "duplicate",
    );
    assert.equal(
      await store.record("req-9", [{
        counter: "t",
        bucket: 1,
        span: 1,
        amount: 150,
      }], record("call-2", minute + 9000, "team-b")),
      "recorded",
    );
    assert.equal(
      await store.record("req-9", [{
        counter: "t",
        bucket: 1,
        span: 1,
        amount: 150,
      }], record("call-2", minute + 9000, "team-b")),
      "duplicate",
    );
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
    assert.deepEqual(
      await store.listRollups(minute + 60_000, minute + 120_000),
      [],
    );
    // Retention prunes raw records and keeps rollups.
    assert.equal(await store.pruneRecords(minute + 6000), 1);
    assert.deepEqual((await store.listRecent(10)).map((r) => r.id), ["call-2"]);
    assert.equal((await store.listRollups(minute, minute + 60_000)).length, 2);
  } finally {
    store.close();
  }
});

Deno.test("kv store - keys, limits and upstream quota are kept and bump the change counter", async () => {
  const store = await openKvStore(":memory:");
  try {
    let seq = await store.changeSeq();
    const bumped = async () => {
      const next = await store.changeSeq();
      const grew = next > seq;
      seq = next;
      return grew;
    };
    await store.putKey({
      name: "team-a",
      hash: "h1",
      prefix: "qm_ab",
      createdAt: "2026-05-12T10:00:00.000Z",
      kind: "virtual",
    });
    assert.ok(await bumped());
    assert.equal((await store.getKeyByHash("h1"))?.name, "team-a");
    await store.putKey({
      name: "team-a",
      hash: "h2",
      prefix: "qm_cd",
      createdAt: "2026-05-12T10:00:00.000Z",
      kind: "virtual",
    });
    assert.equal(await store.getKeyByHash("h1"), null);
    assert.equal((await store.getKeyByName("team-a"))?.hash, "h2");
    assert.deepEqual((await store.listKeys()).map((k) => k.name), ["team-a"]);

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
  } finally {
    store.close();
  }
});
