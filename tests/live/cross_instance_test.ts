import assert from "node:assert/strict";
import { startServerProcess } from "../support/process.ts";
import { connectClient } from "./helpers.ts";
import type { TestClient } from "./helpers.ts";

const ADMIN = "cross-instance-admin-token-0123";

Deno.test("live - a change made through one instance reaches a dashboard connected to another within 1 s", async () => {
  const dir = await Deno.makeTempDir({ prefix: "qm-live-" });
  const env = {
    QUOTA_DATA_DIR: dir,
    QUOTA_ADMIN_TOKEN: ADMIN,
    QUOTA_PUBLIC_DASHBOARD: "true",
  };
  const a = await startServerProcess(env);
  const b = await startServerProcess(env);
  const headers = {
    authorization: `Bearer ${ADMIN}`,
    "content-type": "application/json",
  };
  let client: TestClient | null = null;
  try {
    const key = await fetch(`${b.url}/api/keys`, {
      method: "POST",
      headers,
      body: JSON.stringify({ name: "team-a" }),
    });
    assert.equal(key.status, 201);
    await key.body?.cancel();

    client = await connectClient(`${a.url.replace("http", "ws")}/api/quota/ws`);
    await client.next((m) => m.type === "snapshot", "the first snapshot", 5000);

    const report = await fetch(`${b.url}/api/quota/usage`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        id: "cross-1",
        key: "team-a",
        model: "gpt-4o-mini",
        input_tokens: 10,
        output_tokens: 5,
      }),
    });
    assert.equal(report.status, 201);
    await report.body?.cancel();
    // Rejects (and fails the test) when nothing arrives within 1 s.
    await client.next(
      (m) =>
        m.type !== "ping" && m.status.recent.some((r) => r.id === "cross-1"),
      "an update with the call from the other instance",
      1000,
    );
  } finally {
    await client?.close();
    await a.kill();
    await b.kill();
    await Deno.remove(dir, { recursive: true });
  }
});
