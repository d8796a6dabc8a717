/**
 * Adversarial use of the client-chosen ids of the REST API: reservation ids
 * passed to POST /api/quota/check and usage ids passed to POST
 * /api/quota/usage. Ids are chosen by callers, so two keys can pick the same
 * one (`req-1`), and one caller can reuse its own with different numbers.
 * Neither may let a call past a limit it does not fit, or drop usage.
 */

import assert from "node:assert/strict";
import { addLimit, createKey, startTestApp } from "../support/app.ts";
import type { TestApp } from "../support/app.ts";

interface LimitView {
  id: string;
  used: number;
  reserved: number;
}

async function limits(app: TestApp): Promise<Map<string, LimitView>> {
  const status = await (await app.admin("/api/quota/status")).json();
  return new Map(
    status.scopes.flatMap((s: { limits: LimitView[] }) =>
      s.limits.map((l) => [l.id, l])
    ),
  );
}

function as(
  app: TestApp,
  secret: string,
  path: string,
  body: unknown,
): Promise<Response> {
  return fetch(`${app.url}${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${secret}`,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

async function withTwoKeys(
  fn: (app: TestApp, a: string, b: string) => Promise<void>,
): Promise<void> {
  const app = await startTestApp();
  try {
    const a = await createKey(app, "team-a");
    const b = await createKey(app, "team-b");
    await fn(app, a, b);
    const health = await fetch(`${app.url}/healthz`);
    assert.equal(health.status, 200);
    await health.body?.cancel();
  } finally {
    await app.close();
  }
}

Deno.test("adversarial ids - a key over its limit is not admitted by reusing another key's reservation_id", async () => {
  await withTwoKeys(async (app, a, b) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "requests",
      window: "1h",
      limit: 10,
    });
    await addLimit(app, {
      scope: "key:team-b",
      metric: "requests",
      window: "1h",
      limit: 0,
    });
    const held = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      reservation_id: "req-1",
      input_tokens: 10,
      max_output_tokens: 10,
    });
    assert.equal(held.status, 200);
    await held.body?.cancel();

    // team-b may make no call at all: without an id it is refused...
    const plain = await as(app, b, "/api/quota/check", {
      model: "gpt-4o-mini",
      input_tokens: 10,
      max_output_tokens: 10,
    });
    assert.equal(plain.status, 429);
    await plain.body?.cancel();

    // ...and with team-a's id (a collision or a guess) it must be too.
    const borrowed = await as(app, b, "/api/quota/check", {
      model: "gpt-4o-mini",
      reservation_id: "req-1",
      input_tokens: 10,
      max_output_tokens: 10,
    });
    const text = await borrowed.text();
    assert.ok(
      borrowed.status === 429 || borrowed.status === 409 ||
        borrowed.status === 403,
      `team-b (limit 0 requests) reused team-a's reservation_id and got ${borrowed.status}: ${
        text.slice(0, 160)
      }`,
    );
    const now = await limits(app);
    assert.equal(now.get("key:team-b|requests|1h")!.reserved, 0);
    assert.equal(now.get("key:team-a|requests|1h")!.reserved, 1);
  });
});

Deno.test("adversarial ids - reusing one's own reservation_id with a bigger estimate is not admitted past the limit", async () => {
  await withTwoKeys(async (app, a) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 1000,
    });
    const first = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      reservation_id: "call-7",
      input_tokens: 10,
      max_output_tokens: 10,
    });
    assert.equal(first.status, 200);
    await first.body?.cancel();

    // A fresh id with this estimate is refused.
    const fresh = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      input_tokens: 50_000,
      max_output_tokens: 50_000,
    });
    assert.equal(fresh.status, 429);
    await fresh.body?.cancel();

    // The same id with a 100x bigger estimate must not answer "allowed" and
    // claim a hold of 100,000 tokens that was never taken.
    const reused = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      reservation_id: "call-7",
      input_tokens: 50_000,
      max_output_tokens: 50_000,
    });
    const body = await reused.json();
    const held = (await limits(app)).get("key:team-a|tokens|1h")!.reserved;
    if (reused.status === 200) {
      const claimed = body.reserved.input_tokens + body.reserved.output_tokens;
      assert.equal(
        claimed,
        held,
        `the answer says ${claimed} tokens are reserved for call-7, but the limit holds ${held}; a 100,000-token call was admitted against a 1,000-token limit`,
      );
    } else {
      assert.ok(
        reused.status === 409 || reused.status === 429 ||
          reused.status === 400,
        `expected 409/429/400, got ${reused.status}`,
      );
    }
  });
});

Deno.test("adversarial ids - the same usage id from two keys counts for both", async () => {
  await withTwoKeys(async (app, a, b) => {
    for (const key of ["team-a", "team-b"]) {
      await addLimit(app, {
        scope: `key:${key}`,
        metric: "tokens",
        window: "1h",
        limit: 100_000,
      });
    }
    const first = await as(app, a, "/api/quota/usage", {
      id: "req-1",
      model: "gpt-4o-mini",
      input_tokens: 10,
      output_tokens: 10,
    });
    assert.equal(first.status, 201);
    await first.body?.cancel();
    const second = await as(app, b, "/api/quota/usage", {
      id: "req-1",
      model: "gpt-4o-mini",
      input_tokens: 500,
      output_tokens: 400,
    });
    const answer = await second.json();
    const now = await limits(app);
    assert.equal(now.get("key:team-a|tokens|1h")!.used, 20);
    assert.equal(
      now.get("key:team-b|tokens|1h")!.used,
      900,
      `team-b's report of 900 tokens with id "req-1" answered ${second.status} ${
        JSON.stringify(answer)
      } and was not counted: ids are global, so one key's id silently swallows another key's usage`,
    );
  });
});

Deno.test("adversarial ids - a retried usage report counts once, a retried settlement counts once", async () => {
  await withTwoKeys(async (app, a) => {
    await addLimit(app, {
      scope: "key:team-a",
      metric: "tokens",
      window: "1h",
      limit: 100_000,
    });
    const report = {
      id: "retry-1",
      model: "gpt-4o-mini",
      input_tokens: 10,
      output_tokens: 5,
    };
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await as(app, a, "/api/quota/usage", report);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [201, 200, 200, 200, 200]);
    const check = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      input_tokens: 100,
      max_output_tokens: 100,
    });
    const { reservation_id } = await check.json();
    const settles = await Promise.all(
      Array.from({ length: 5 }, () =>
        as(app, a, "/api/quota/usage", {
          id: "settle-1",
          reservation_id,
          model: "gpt-4o-mini",
          input_tokens: 40,
          output_tokens: 2,
        }).then(async (r) => {
          await r.body?.cancel();
          return r.status;
        })),
    );
    assert.equal(settles.filter((s) => s === 201).length, 1, `${settles}`);
    const limit = (await limits(app)).get("key:team-a|tokens|1h")!;
    assert.equal(limit.used, 15 + 42);
    assert.equal(limit.reserved, 0);
    const release = await as(app, a, "/api/quota/release", { reservation_id });
    assert.equal(release.status, 200);
    assert.equal((await release.json()).released, false);
  });
});

Deno.test("adversarial ids - another key's reservation cannot be released or settled", async () => {
  await withTwoKeys(async (app, a, b) => {
    await addLimit(app, {
      scope: "gateway",
      metric: "requests",
      window: "1h",
      limit: 10,
    });
    const check = await as(app, a, "/api/quota/check", {
      model: "gpt-4o-mini",
      input_tokens: 1,
    });
    const { reservation_id } = await check.json();
    // Reservation ids belong to their key: team-b's "same" id is its own,
    // so it neither frees nor settles team-a's hold.
    const release = await as(app, b, "/api/quota/release", { reservation_id });
    assert.equal(release.status, 200);
    assert.equal((await release.json()).released, false);
    const settle = await as(app, b, "/api/quota/usage", {
      id: "steal",
      reservation_id,
      model: "gpt-4o-mini",
      input_tokens: 1,
    });
    await settle.body?.cancel();
    const limit = (await limits(app)).get("gateway|requests|1h")!;
    assert.equal(limit.reserved, 1, "the hold stays with team-a");
    const released = await as(app, a, "/api/quota/release", {
      reservation_id,
    });
    assert.equal(
      (await released.json()).released,
      true,
      "team-a still holds it",
    );
  });
});
