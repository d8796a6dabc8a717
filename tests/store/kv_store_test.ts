/**
 * Deno KV specifics: several processes sharing one database file, and
 * durability through kill -9. The store-level behaviour both backends share
 * is in conformance_test.ts.
 */

import assert from "node:assert/strict";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { openKvStore } from "../../lib/store/kv_store.ts";

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
