/**
 * A process that writes usage records to the KV file given as first argument,
 * eight at a time, and prints each record's id only after its commit has
 * resolved. A test kills it with SIGKILL and checks every printed id.
 *
 * Usage: deno run -A record_worker.ts <kv file>
 *
 * @module
 */

import { openKvStore } from "../../../lib/store/kv_store.ts";

const store = await openKvStore(Deno.args[0]);
const encoder = new TextEncoder();
let next = 0;

async function writer(): Promise<void> {
  while (true) {
    const id = `kill-${next++}`;
    const at = Date.now();
    await store.record(id, [{
      counter: "gateway|requests|day@UTC",
      bucket: Math.floor(at / 86_400_000),
      span: 1,
      amount: 1,
    }], {
      id,
      at,
      key: "team-a",
      model: "gpt-4o",
      endpoint: "report",
      status: 200,
      inputTokens: 10,
      cachedTokens: 0,
      outputTokens: 5,
      reasoningTokens: 0,
      costNanos: 100,
      latencyMs: 1,
      estimated: false,
    });
    await Deno.stdout.write(encoder.encode(`${id}\n`));
  }
}

await Promise.all(Array.from({ length: 8 }, writer));
