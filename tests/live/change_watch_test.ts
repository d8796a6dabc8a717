import assert from "node:assert/strict";
import { watchChangeSeq } from "../../lib/live/change_watch.ts";
import { connectClient, startLiveServer, usedOf, waitFor } from "./helpers.ts";

const COUNTER_KEY = ["live_test", "change_seq"];

/** Bumps the counter from another OS process, as a second instance would. */
async function bumpFromAnotherProcess(path: string, times: number) {
  const code = `
    const kv = await Deno.openKv(${JSON.stringify(path)});
    for (let i = 0; i < ${times}; i++) {
      await kv.atomic().sum(${JSON.stringify(COUNTER_KEY)}, 1n).commit();
    }
    kv.close();
  `;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--unstable-kv", code],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
}

async function readCounter(kv: Deno.Kv): Promise<number> {
  const entry = await kv.get<Deno.KvU64>(COUNTER_KEY);
  return entry.value === null ? 0 : Number(entry.value.value);
}

Deno.test("change watch - a write by another process reaches this process's dashboards within a second", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/quota.kv`;
  const kv = await Deno.openKv(path);
  await kv.atomic().sum(COUNTER_KEY, 1n).commit();
  const server = startLiveServer({ used: 1, hub: { coalesceMs: 50 } });
  let changes = 0;
  let reads = 0;
  const watch = watchChangeSeq(() => {
    reads++;
    return readCounter(kv);
  }, () => {
    changes++;
    server.used = 100;
    server.hub.notify();
  }, 100);
  const client = await connectClient(server.wsUrl);
  await client.next((m) => m.type === "snapshot", "the snapshot");
  await waitFor(() => reads >= 2, "the watcher's first reads");
  assert.equal(changes, 0);
  await bumpFromAnotherProcess(path, 3);
  const bumpedAt = Date.now();
  await client.next(
    (m) => m.type === "update" && usedOf(m.status) === 100,
    "the update caused by the other process",
  );
  assert.ok(Date.now() - bumpedAt < 1_000, "the change took over a second");
  assert.ok(changes >= 1);
  watch.stop();
  await client.close();
  await server.stop();
  kv.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("change watch - an unchanged counter calls nothing, and stop() ends the polling", async () => {
  let reads = 0;
  let changes = 0;
  const watch = watchChangeSeq(
    () => {
      reads++;
      return Promise.resolve(42);
    },
    () => changes++,
    10,
  );
  await waitFor(() => reads >= 5, "five reads");
  assert.equal(changes, 0);
  watch.stop();
  const readsAtStop = reads;
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(reads <= readsAtStop + 1);
});

Deno.test("change watch - after a failed read the next good read counts as a change", async () => {
  let calls = 0;
  let changes = 0;
  const errors: unknown[] = [];
  const watch = watchChangeSeq(
    () => {
      calls++;
      return calls === 3
        ? Promise.reject(new Error("database is locked"))
        : Promise.resolve(7);
    },
    () => changes++,
    10,
    (error) => errors.push(error),
  );
  await waitFor(() => calls >= 5, "five reads");
  watch.stop();
  assert.equal(errors.length, 1);
  assert.equal(changes, 1);
});
