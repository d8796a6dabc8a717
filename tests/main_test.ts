import assert from "node:assert/strict";
import {
  adminRequest,
  runMain,
  startServerProcess,
} from "./support/process.ts";

const ADMIN = "main-test-admin-token-0123456789";

async function withDataDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir({ prefix: "qm-main-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function admin(url: string, path: string, body?: unknown) {
  return adminRequest(url, ADMIN, path, body);
}

Deno.test("main - a malformed setting stops the start with one sentence naming it", async () => {
  const child = runMain({ PORT: "0", QUOTA_WARN_AT: "eighty" });
  const { code, stderr } = await child.output();
  assert.equal(code, 1);
  const text = new TextDecoder().decode(stderr).trim();
  assert.equal(
    text,
    'QUOTA_WARN_AT must be a fraction above 0 and at most 1 (such as 0.8), but it is "eighty".',
  );
});

Deno.test("main - listening beyond loopback without a token or a public dashboard is refused", async () => {
  const child = runMain({ PORT: "0", HOST: "0.0.0.0" });
  const { code, stderr } = await child.output();
  assert.equal(code, 1);
  assert.match(
    new TextDecoder().decode(stderr),
    /^HOST is 0\.0\.0\.0, which is reachable beyond this machine, but neither QUOTA_ADMIN_TOKEN nor QUOTA_PUBLIC_DASHBOARD=true is set/,
  );
});

Deno.test("main - usage acknowledged with a 2xx survives kill -9", async () => {
  await withDataDir(async (dir) => {
    const env = { QUOTA_DATA_DIR: dir, QUOTA_ADMIN_TOKEN: ADMIN };
    const first = await startServerProcess(env);
    const acknowledged: string[] = [];
    try {
      const key = await admin(first.url, "/api/keys", { name: "team-a" });
      assert.equal(key.status, 201);
      await key.body?.cancel();
      // Four writers report continuously; the process dies while some
      // reports are in flight, once twenty have been acknowledged.
      let next = 0;
      let killed: Promise<void> | null = null;
      const writer = async () => {
        while (killed === null) {
          const id = `req-${next++}`;
          try {
            const response = await admin(first.url, "/api/quota/usage", {
              id,
              key: "team-a",
              model: "gpt-4o-mini",
              input_tokens: 100,
              output_tokens: 10,
            });
            await response.body?.cancel();
            if (response.status === 201) acknowledged.push(id);
          } catch {
            return; // The connection died with the process: not acknowledged.
          }
          if (acknowledged.length >= 20) killed ??= first.kill("SIGKILL");
        }
      };
      await Promise.all([writer(), writer(), writer(), writer()]);
      await killed;
    } finally {
      await first.kill("SIGKILL");
    }
    assert.ok(acknowledged.length > 0, "some reports were acknowledged");

    const second = await startServerProcess(env);
    try {
      const status = await (await admin(second.url, "/api/quota/status"))
        .json();
      assert.ok(status.recent.length >= Math.min(acknowledged.length, 20));
      for (const id of acknowledged) {
        const again = await admin(second.url, "/api/quota/usage", {
          id,
          key: "team-a",
          model: "gpt-4o-mini",
          input_tokens: 100,
          output_tokens: 10,
        });
        // Counted before the crash, so a retry is a duplicate.
        assert.equal((await again.json()).status, "duplicate", id);
      }
    } finally {
      await second.kill();
    }
  });
});

Deno.test("main - two server processes on one database admit exactly the limit", async () => {
  await withDataDir(async (dir) => {
    const limits = `${dir}/limits.json`;
    await Deno.writeTextFile(
      limits,
      JSON.stringify({
        limits: [{
          scope: "key:team-a",
          metric: "requests",
          window: "1h",
          limit: 100,
        }],
      }),
    );
    const env = {
      QUOTA_DATA_DIR: dir,
      QUOTA_ADMIN_TOKEN: ADMIN,
      QUOTA_LIMITS_FILE: limits,
    };
    const a = await startServerProcess(env);
    const b = await startServerProcess(env);
    try {
      const key = await admin(a.url, "/api/keys", { name: "team-a" });
      await key.body?.cancel();
      const outcomes = await Promise.all(
        Array.from({ length: 200 }, async (_, i) => {
          const response = await admin(
            i % 2 === 0 ? a.url : b.url,
            "/api/quota/check",
            { key: "team-a", model: "gpt-4o-mini", max_output_tokens: 1 },
          );
          await response.body?.cancel();
          return response.status;
        }),
      );
      assert.equal(outcomes.filter((s) => s === 200).length, 100);
      assert.equal(outcomes.filter((s) => s === 429).length, 100);
      const status = await (await admin(b.url, "/api/quota/status")).json();
      const requests = status.scopes.find((s: { scope: string }) =>
        s.scope === "key:team-a"
      ).limits[0];
      assert.equal(requests.reserved, 100);
      assert.equal(requests.remaining, 0);
    } finally {
      await a.kill();
      await b.kill();
    }
  });
});
