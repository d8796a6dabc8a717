/**
 * Adversarial input for the REST API (/api): malformed and odd JSON, odd
 * numbers, unicode and control characters, duplicated keys, wrong content
 * types, unknown routes and methods, path tricks, long names, odd limit ids,
 * file limits, and every kind of wrong credentials. Each answer must be a
 * clear 4xx in OpenAI's error shape, nothing may be counted or created, and
 * the server must stay healthy.
 */

import assert from "node:assert/strict";
import {
  addLimit,
  ADMIN_TOKEN,
  createKey,
  startTestApp,
} from "../support/app.ts";
import type { TestApp } from "../support/app.ts";

// ---------------------------------------------------------------- helpers

interface ErrorShape {
  error: {
    message: string;
    type: string;
    code: string | null;
    param: string | null;
  };
}

/** Asserts an OpenAI-shaped error with a full-sentence message; returns it. */
async function assertOpenAIError(
  response: Response,
  status: number | number[],
  what: string,
): Promise<ErrorShape> {
  const text = await response.text();
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(
    statuses.includes(response.status),
    `${what}: expected ${statuses.join(" or ")}, got ${response.status}: ${
      text.slice(0, 300)
    }`,
  );
  assert.match(
    response.headers.get("content-type") ?? "",
    /^application\/json/,
    `${what}: the error must be JSON, got ${
      response.headers.get("content-type")
    }: ${text.slice(0, 120)}`,
  );
  let body: ErrorShape;
  try {
    body = JSON.parse(text);
  } catch {
    assert.fail(`${what}: the error body is not JSON: ${text.slice(0, 200)}`);
  }
  assert.equal(typeof body.error, "object", `${what}: no "error" object`);
  assert.equal(typeof body.error.message, "string", `${what}: no message`);
  assert.ok(
    body.error.message.length >= 15 && /[.!?)]$/.test(body.error.message),
    `${what}: the message is not a full sentence: ${body.error.message}`,
  );
  assert.equal(typeof body.error.type, "string", `${what}: no type`);
  assert.ok("code" in body.error, `${what}: no code field`);
  assert.ok("param" in body.error, `${what}: no param field`);
  assert.ok(
    body.error.code === null || typeof body.error.code === "string",
    `${what}: code must be a string or null`,
  );
  assert.ok(
    body.error.param === null || typeof body.error.param === "string",
    `${what}: param must be a string or null`,
  );
  return body;
}

async function assertHealthy(app: TestApp): Promise<void> {
  const response = await fetch(`${app.url}/healthz`);
  assert.equal(response.status, 200, "the server should still answer");
  await response.body?.cancel();
}

interface LimitView {
  id: string;
  used: number;
  reserved: number;
}

async function allLimits(app: TestApp): Promise<LimitView[]> {
  const response = await app.admin("/api/quota/status");
  assert.equal(response.status, 200);
  const status = await response.json();
  return status.scopes.flatMap((s: { limits: LimitView[] }) => s.limits);
}

async function assertNothingCounted(app: TestApp): Promise<void> {
  for (const limit of await allLimits(app)) {
    assert.equal(limit.used, 0, `${limit.id}: nothing should be used`);
    assert.equal(limit.reserved, 0, `${limit.id}: nothing should be held`);
  }
  assert.equal(
    (await app.services.store.listRecent(10)).length,
    0,
    "no usage record should exist",
  );
}

async function keyNames(app: TestApp): Promise<string[]> {
  const response = await app.admin("/api/keys");
  return (await response.json()).keys.map((k: { name: string }) => k.name);
}

/** An app with one key, a gateway limit and a key limit, for counting checks. */
async function withApp(
  fn: (app: TestApp, secret: string) => Promise<void>,
  settings: Record<string, string> = {},
): Promise<void> {
  const app = await startTestApp(settings);
  try {
    const secret = await createKey(app, "team-a");
    await addLimit(app, {
      scope: "gateway",
      metric: "tokens",
      window: "1h",
      limit: 1_000_000,
    });
    await addLimit(app, {
      scope: "key:team-a",
      metric: "requests",
      window: "1h",
      limit: 1000,
    });
    await fn(app, secret);
    await assertHealthy(app);
  } finally {
    await app.close();
  }
}

function post(
  app: TestApp,
  path: string,
  body: string,
  contentType: string | null = "application/json",
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (contentType !== null) headers["content-type"] = contentType;
  return app.admin(path, { method: "POST", body, headers });
}

const POST_ROUTES = [
  "/api/keys",
  "/api/limits",
  "/api/quota/usage",
  "/api/quota/check",
  "/api/quota/release",
];

// ------------------------------------------------------------------ tests

Deno.test("adversarial rest - malformed JSON, non-object JSON and empty bodies get a 400 on every POST route", async () => {
  await withApp(async (app) => {
    const bodies = [
      "{",
      '{"name": "x",}',
      "{'name': 'x'}",
      "[]",
      "[1,2,3]",
      '"a string"',
      "null",
      "42",
      "-0",
      "true",
      "",
      "   ",
      "\u0000",
      "\uFEFF{}",
      "NaN",
      "Infinity",
    ];
    for (const route of POST_ROUTES) {
      for (const body of bodies) {
        await assertOpenAIError(
          await post(app, route, body),
          400,
          `${route} with ${JSON.stringify(body)}`,
        );
      }
    }
    await assertNothingCounted(app);
    assert.deepEqual(await keyNames(app), ["team-a"]);
  });
});

Deno.test("adversarial rest - deeply nested JSON is refused cleanly, not a crash", async () => {
  await withApp(async (app) => {
    const depth = 200_000;
    const deep = "[".repeat(depth) + "]".repeat(depth);
    for (const route of POST_ROUTES) {
      await assertOpenAIError(
        await post(app, route, deep),
        400,
        `${route} with a ${depth}-deep array`,
      );
      await assertOpenAIError(
        await post(app, route, `{"name": ${deep}}`),
        400,
        `${route} with a deep array inside an object`,
      );
    }
    await assertNothingCounted(app);
  });
});

Deno.test("adversarial rest - huge, negative-zero, unsafe and string numbers in usage reports and checks", async () => {
  await withApp(async (app) => {
    const base = { key: "team-a", model: "gpt-4o-mini" };
    const bad: [string, string][] = [
      [
        "input 1e308",
        JSON.stringify({ ...base, id: "n1", input_tokens: 1e308 }),
      ],
      [
        "input 2**53+1 (raw)",
        `{"id":"n2","key":"team-a","model":"gpt-4o-mini","input_tokens":9007199254740993,"output_tokens":1}`,
      ],
      [
        "input 1e999 (overflows to Infinity)",
        `{"id":"n3","key":"team-a","model":"gpt-4o-mini","input_tokens":1e999,"output_tokens":1}`,
      ],
      [
        "negative",
        JSON.stringify({ ...base, id: "n4", input_tokens: -1 }),
      ],
      [
        "fractional",
        JSON.stringify({ ...base, id: "n5", input_tokens: 1.5 }),
      ],
      [
        "string number",
        JSON.stringify({ ...base, id: "n6", input_tokens: "10" }),
      ],
      [
        "output above 1e8",
        JSON.stringify({ ...base, id: "n7", output_tokens: 100_000_001 }),
      ],
      [
        "cached above input",
        JSON.stringify({
          ...base,
          id: "n8",
          input_tokens: 1,
          cached_tokens: 2,
        }),
      ],
      [
        "usage object with 1e308",
        JSON.stringify({
          ...base,
          id: "n9",
          usage: { prompt_tokens: 1e308, completion_tokens: 1 },
        }),
      ],
      [
        "usage object with strings",
        JSON.stringify({
          ...base,
          id: "n10",
          usage: { prompt_tokens: "5", completion_tokens: 1 },
        }),
      ],
      [
        "status 1e308",
        JSON.stringify({
          ...base,
          id: "n11",
          input_tokens: 1,
          status: 1e308,
        }),
      ],
      [
        "latency negative",
        JSON.stringify({
          ...base,
          id: "n12",
          input_tokens: 1,
          latency_ms: -5,
        }),
      ],
    ];
    for (const [what, body] of bad) {
      await assertOpenAIError(
        await post(app, "/api/quota/usage", body),
        400,
        `usage: ${what}`,
      );
    }
    const badChecks: [string, string][] = [
      [
        "max_output 1e308",
        JSON.stringify({ ...base, max_output_tokens: 1e308 }),
      ],
      [
        "max_output 2**53+1",
        `{"key":"team-a","model":"gpt-4o-mini","max_output_tokens":9007199254740993}`,
      ],
      ["input -1", JSON.stringify({ ...base, input_tokens: -1 })],
      ["input string", JSON.stringify({ ...base, input_tokens: "5" })],
      ["input fraction", JSON.stringify({ ...base, input_tokens: 0.5 })],
    ];
    for (const [what, body] of badChecks) {
      await assertOpenAIError(
        await post(app, "/api/quota/check", body),
        400,
        `check: ${what}`,
      );
    }
    await assertNothingCounted(app);
  });
});

Deno.test("adversarial rest - huge, negative-zero and string ceilings for limits", async () => {
  await withApp(async (app) => {
    const before = (await (await app.admin("/api/limits")).json()).limits
      .length;
    const bad = [
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1e308}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1e999}',
      '{"scope":"gateway","metric":"tokens","window":"1m","limit":9007199254740993}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":"60"}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":-1}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1.5}',
      '{"scope":"gateway","metric":"cost_usd","window":"1m","limit":1e7}',
      '{"scope":"gateway","metric":"requests","window":"0s","limit":1}',
      '{"scope":"gateway","metric":"requests","window":"99999999999999999999d","limit":1}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1,"timeZone":"Mars/Olympus"}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1,"__proto__":{"limit":5}}',
      '{"scope":"gateway","metric":"requests","window":"1m","limit":1,"source":"file"}',
    ];
    for (const body of bad) {
      await assertOpenAIError(
        await post(app, "/api/limits", body),
        400,
        `limit ${body}`,
      );
    }
    const after = (await (await app.admin("/api/limits")).json()).limits
      .length;
    assert.equal(after, before, "no limit should have been created");
    // -0 is a legitimate zero: accepted as 0, never as "-0".
    const zero = await post(
      app,
      "/api/limits",
      '{"scope":"model:gpt-4o","metric":"requests","window":"1m","limit":-0}',
    );
    assert.equal(zero.status, 201);
    assert.equal(Object.is((await zero.json()).limit, -0), false);
  });
});

Deno.test("adversarial rest - unicode and control characters in key names, models and ids are refused", async () => {
  await withApp(async (app) => {
    const names = [
      "tëam",
      "team\u0000",
      "team\n",
      "te am",
      "\u202eteam",
      "💥",
      "../team",
      "team/../../x",
      "",
      ".hidden",
      "a".repeat(65),
    ];
    for (const name of names) {
      await assertOpenAIError(
        await post(app, "/api/keys", JSON.stringify({ name })),
        400,
        `key name ${JSON.stringify(name)}`,
      );
    }
    const models = ["gpt-4o\u0000", "gpt\u202e4o", "gpt 4o", "gpt-4o ", "ü"];
    for (const model of models) {
      await assertOpenAIError(
        await post(
          app,
          "/api/quota/usage",
          JSON.stringify({
            id: "u-" + model.length,
            key: "team-a",
            model,
            input_tokens: 1,
            output_tokens: 1,
          }),
        ),
        [400, 404],
        `usage model ${JSON.stringify(model)}`,
      );
      await assertOpenAIError(
        await post(
          app,
          "/api/quota/check",
          JSON.stringify({ key: "team-a", model, input_tokens: 1 }),
        ),
        [400, 404],
        `check model ${JSON.stringify(model)}`,
      );
    }
    for (const id of ["ü", "a b", "a\u0000", "", "x".repeat(201)]) {
      await assertOpenAIError(
        await post(
          app,
          "/api/quota/usage",
          JSON.stringify({
            id,
            key: "team-a",
            model: "gpt-4o-mini",
            input_tokens: 1,
          }),
        ),
        400,
        `usage id ${JSON.stringify(id.slice(0, 10))}`,
      );
      await assertOpenAIError(
        await post(
          app,
          "/api/quota/release",
          JSON.stringify({ reservation_id: id }),
        ),
        400,
        `release id ${JSON.stringify(id.slice(0, 10))}`,
      );
    }
    for (const scope of ["key:tëam", "model:gpt 4o", "key:a/model:", "key:"]) {
      await assertOpenAIError(
        await post(
          app,
          "/api/limits",
          JSON.stringify({ scope, metric: "requests", window: "1m", limit: 1 }),
        ),
        400,
        `limit scope ${JSON.stringify(scope)}`,
      );
    }
    await assertNothingCounted(app);
    assert.deepEqual(await keyNames(app), ["team-a"]);
  });
});

Deno.test("adversarial rest - duplicated JSON keys never crash and never count twice", async () => {
  await withApp(async (app) => {
    // JSON.parse keeps the last value; whatever the server does with the
    // duplicate, it must be a clean answer, and the last value must win if
    // the body is accepted.
    const key = await post(app, "/api/keys", '{"name":"dup-a","name":"dup-b"}');
    assert.ok(
      key.status === 201 || key.status === 400,
      `a duplicate name: 201 or 400, got ${key.status}`,
    );
    if (key.status === 201) {
      assert.equal((await key.json()).name, "dup-b");
    } else await assertOpenAIError(key, 400, "duplicate name");

    const usage = await post(
      app,
      "/api/quota/usage",
      '{"id":"dup-1","key":"team-a","model":"gpt-4o-mini","input_tokens":5,"input_tokens":7,"output_tokens":1}',
    );
    assert.ok(usage.status === 201 || usage.status === 400);
    await usage.body?.cancel();
    const tokens = (await allLimits(app)).find((l) =>
      l.id === "gateway|tokens|1h"
    )!;
    assert.ok(
      tokens.used === 0 || tokens.used === 8,
      `duplicate input_tokens: either refused (0) or the last value (7+1=8), got ${tokens.used}`,
    );
  });
});

Deno.test("adversarial rest - wrong, missing and look-alike content types get 415 and create nothing", async () => {
  await withApp(async (app) => {
    const types: (string | null)[] = [
      "text/plain",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/jsonp",
      "text/json",
      null,
    ];
    for (const type of types) {
      // fetch adds text/plain for a string body; send bytes for "none".
      const response = type === null
        ? await app.admin("/api/keys", {
          method: "POST",
          body: new TextEncoder().encode('{"name":"ct-none"}'),
          headers: { "content-type": "" },
        })
        : await post(app, "/api/keys", '{"name":"ct-x"}', type);
      await assertOpenAIError(response, [400, 415], `content type ${type}`);
    }
    assert.deepEqual(await keyNames(app), ["team-a"]);
  });
});

Deno.test("adversarial rest - unknown /api routes answer 404 in OpenAI's error shape", async () => {
  await withApp(async (app) => {
    for (
      const path of [
        "/api/nope",
        "/api/quota",
        "/api/quota/statuses",
        "/api/keys/team-a/extra",
        "/api/limits/a/b/c/d",
      ]
    ) {
      const response = await app.admin(path);
      if (response.status === 200) {
        // /api/limits/a/b/c/d may be read as a limit id with slashes.
        await response.body?.cancel();
        continue;
      }
      await assertOpenAIError(response, 404, `GET ${path}`);
    }
  });
});

Deno.test("adversarial rest - a wrong method on an /api route is a 405 with Allow, in OpenAI's error shape", async () => {
  await withApp(async (app) => {
    const cases: [string, string][] = [
      ["PUT", "/api/keys"],
      ["DELETE", "/api/keys"],
      ["PATCH", "/api/limits"],
      ["DELETE", "/api/quota/status"],
      ["POST", "/api/quota/status"],
      ["PUT", "/api/quota/check"],
      ["GET", "/api/quota/release"],
      ["POST", "/api/quota/ws"],
      ["POST", "/api/keys/team-a"],
    ];
    for (const [method, path] of cases) {
      const response = await app.admin(path, { method });
      const allow = response.headers.get("allow");
      assert.ok(allow, `${method} ${path}: a 405 needs an Allow header`);
      assert.ok(
        !allow.split(/,\s*/).includes(method),
        `${method} ${path}: Allow must not list ${method}`,
      );
      await assertOpenAIError(response, 405, `${method} ${path}`);
    }
  });
});

Deno.test("adversarial rest - path traversal under /api/keys and /api/limits reaches nothing else", async () => {
  await withApp(async (app) => {
    const port = Number(new URL(app.url).port);
    for (
      const path of [
        "/api/keys/../../metrics",
        "/api/keys/%2e%2e/%2e%2e/metrics",
        "/api/keys/..%2f..%2fmetrics",
        "/api/limits/..%5c..%5cmetrics",
        "/api/keys/..;/..;/metrics",
      ]
    ) {
      // A raw request, so that no client normalizes the path first.
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      try {
        await conn.write(
          new TextEncoder().encode(
            `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
          ),
        );
        let text = "";
        const buffer = new Uint8Array(16384);
        while (true) {
          const n = await conn.read(buffer);
          if (n === null) break;
          text += new TextDecoder().decode(buffer.subarray(0, n));
        }
        const status = Number(text.split(" ")[1]);
        // Without credentials nothing may be served: 401 or a 404.
        assert.ok(
          status === 401 || status === 404,
          `${path}: expected 401 or 404, got ${status}`,
        );
        assert.ok(
          !text.includes("quota_"),
          `${path}: metrics must not leak without the admin token`,
        );
      } finally {
        conn.close();
      }
    }
    // With the admin token, a traversal-looking key name is just a name.
    await assertOpenAIError(
      await app.admin("/api/keys/..%2F..%2Fhealthz"),
      404,
      "an encoded traversal as a key name",
    );
  });
});

Deno.test("adversarial rest - a very long key name in the URL is a 4xx, not a 500", async () => {
  await withApp(async (app) => {
    const long = "a".repeat(5000);
    await assertOpenAIError(
      await app.admin(`/api/keys/${long}`),
      [400, 404],
      "GET /api/keys/<5000 chars>",
    );
    await assertOpenAIError(
      await app.admin(`/api/keys/${long}`, { method: "DELETE" }),
      [400, 404],
      "DELETE /api/keys/<5000 chars>",
    );
    await assertOpenAIError(
      await app.admin(`/api/keys/${long}`, {
        method: "PATCH",
        body: '{"rotate":true}',
      }),
      [400, 404],
      "PATCH /api/keys/<5000 chars>",
    );
    await assertOpenAIError(
      await app.admin(`/api/limits/${"b".repeat(5000)}`),
      404,
      "GET /api/limits/<5000 chars>",
    );
    await assertOpenAIError(
      await post(app, "/api/keys", JSON.stringify({ name: "k".repeat(10000) })),
      400,
      "POST a 10,000-character key name",
    );
  });
});

Deno.test("adversarial rest - URL-encoded limit ids with reserved characters round-trip", async () => {
  await withApp(async (app) => {
    const ids = ["a/b", "50%off", "a?b", "a#b", "x+y", "%2F", "a\\b", "é"];
    for (const id of ids) {
      const created = await post(
        app,
        "/api/limits",
        JSON.stringify({
          id,
          scope: "model:gpt-4o",
          metric: "requests",
          window: "1m",
          limit: 5,
        }),
      );
      if (id === "é") {
        await assertOpenAIError(created, 400, "a non-ASCII limit id");
        continue;
      }
      assert.equal(created.status, 201, `create ${id}`);
      await created.body?.cancel();
      const path = `/api/limits/${encodeURIComponent(id)}`;
      const got = await app.admin(path);
      assert.equal(got.status, 200, `GET ${path}`);
      assert.equal((await got.json()).id, id);
      const patched = await app.admin(path, {
        method: "PATCH",
        body: '{"limit":9}',
      });
      assert.equal(patched.status, 200, `PATCH ${path}`);
      assert.equal((await patched.json()).limit, 9);
      const deleted = await app.admin(path, { method: "DELETE" });
      assert.equal(deleted.status, 200, `DELETE ${path}`);
      await deleted.body?.cancel();
    }
    // The canonical id of a key-and-model limit contains a slash.
    await addLimit(app, {
      scope: "key:team-a/model:gpt-4o",
      metric: "cost_usd",
      window: "day",
      limit: 5,
    });
    const id = "key:team-a/model:gpt-4o|cost_usd|day";
    const got = await app.admin(`/api/limits/${encodeURIComponent(id)}`);
    assert.equal(got.status, 200);
    await got.body?.cancel();
  });
});

Deno.test("adversarial rest - a limit the API accepts can also be read, changed and deleted through it (ids '.' and '..')", async () => {
  await withApp(async (app) => {
    for (const id of [".", ".."]) {
      const created = await post(
        app,
        "/api/limits",
        JSON.stringify({
          id,
          scope: "model:gpt-4o",
          metric: "requests",
          window: "1m",
          limit: 5,
        }),
      );
      if (created.status === 400) {
        // Refusing such ids up front is a fine answer too.
        await assertOpenAIError(created, 400, `limit id ${id}`);
        continue;
      }
      assert.equal(created.status, 201);
      await created.body?.cancel();
      const path = `/api/limits/${encodeURIComponent(id)}`;
      const got = await app.admin(path);
      const text = await got.text();
      let gotId: unknown = undefined;
      try {
        gotId = JSON.parse(text).id;
      } catch {
        // Not JSON: reported below.
      }
      assert.ok(
        got.status === 200 && gotId === id,
        `the limit "${id}" was created (201) but GET ${path} answers ${got.status} ${
          text.slice(0, 80)
        }: it can never be changed or deleted through the API`,
      );
      const deleted = await app.admin(path, { method: "DELETE" });
      assert.equal(deleted.status, 200, `DELETE ${path}`);
      await deleted.body?.cancel();
    }
  });
});

Deno.test("adversarial rest - limits from the file cannot be patched or deleted, and stay as they were", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/limits.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      limits: [{
        scope: "key:team-a",
        metric: "requests",
        window: "1m",
        limit: 60,
      }],
    }),
  );
  try {
    await withApp(async (app) => {
      const id = encodeURIComponent("key:team-a|requests|1m");
      const attempts: [string, RequestInit][] = [
        ["PATCH", { method: "PATCH", body: '{"limit":1}' }],
        ["PATCH id", { method: "PATCH", body: '{"id":"other"}' }],
        ["PATCH junk", { method: "PATCH", body: "not json" }],
        ["DELETE", { method: "DELETE" }],
      ];
      for (const [what, init] of attempts) {
        const response = await app.admin(`/api/limits/${id}`, init);
        await assertOpenAIError(
          response,
          [400, 409],
          `${what} of a file limit`,
        );
      }
      const again = await post(
        app,
        "/api/limits",
        JSON.stringify({
          scope: "key:team-a",
          metric: "requests",
          window: "1m",
          limit: 1,
        }),
      );
      await assertOpenAIError(again, 409, "re-creating a file limit");
      const got = await app.admin(`/api/limits/${id}`);
      const limit = await got.json();
      assert.equal(limit.limit, 60);
      assert.equal(limit.source, "file");
    }, { QUOTA_LIMITS_FILE: file });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("adversarial rest - admin routes without, with wrong, and with look-alike tokens are 401", async () => {
  await withApp(async (app) => {
    const headerSets: (Record<string, string>)[] = [
      {},
      { authorization: "Bearer wrong-token-0123456789" },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` },
      { authorization: ADMIN_TOKEN },
      { authorization: `Bearer ${ADMIN_TOKEN} extra` },
      { authorization: "Bearer" },
      { cookie: "qm_session=forged" },
      { cookie: `qm_session=${ADMIN_TOKEN}` },
    ];
    const routes: [string, string, string | undefined][] = [
      ["GET", "/api/keys", undefined],
      ["POST", "/api/keys", '{"name":"intruder"}'],
      ["GET", "/api/limits", undefined],
      [
        "POST",
        "/api/limits",
        '{"scope":"gateway","metric":"requests","window":"1m","limit":0}',
      ],
      ["DELETE", "/api/keys/team-a", undefined],
      ["GET", "/metrics", undefined],
      ["GET", "/api/quota/status", undefined],
      ["POST", "/api/quota/usage", "{}"],
    ];
    for (const headers of headerSets) {
      for (const [method, path, body] of routes) {
        const response = await fetch(`${app.url}${path}`, {
          method,
          body,
          headers: { ...headers, "content-type": "application/json" },
        });
        await assertOpenAIError(
          response,
          401,
          `${method} ${path} with ${JSON.stringify(headers).slice(0, 60)}`,
        );
      }
    }
    assert.deepEqual(await keyNames(app), ["team-a"]);
    await assertNothingCounted(app);
  });
});

Deno.test("adversarial rest - a virtual key cannot use admin routes or see another key", async () => {
  await withApp(async (app, secret) => {
    await createKey(app, "team-b");
    const as = (method: string, path: string, body?: string) =>
      fetch(`${app.url}${path}`, {
        method,
        body,
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/json",
        },
      });
    for (
      const [method, path, body] of [
        ["GET", "/api/keys"],
        ["POST", "/api/keys", '{"name":"mine"}'],
        ["PATCH", "/api/keys/team-b", '{"rotate":true}'],
        ["DELETE", "/api/keys/team-b"],
        ["GET", "/api/limits"],
        [
          "POST",
          "/api/limits",
          '{"scope":"key:team-a","metric":"requests","window":"1m","limit":1000000}',
        ],
        ["GET", "/metrics"],
      ] as [string, string, string?][]
    ) {
      await assertOpenAIError(await as(method, path, body), 403, path);
    }
    await assertOpenAIError(
      await as("GET", "/api/quota/status?key=team-b"),
      403,
      "status of another key",
    );
    await assertOpenAIError(
      await as(
        "POST",
        "/api/quota/usage",
        '{"id":"x1","key":"team-b","model":"gpt-4o-mini","input_tokens":1}',
      ),
      403,
      "usage for another key",
    );
    await assertOpenAIError(
      await as(
        "POST",
        "/api/quota/check",
        '{"key":"team-b","model":"gpt-4o-mini","input_tokens":1}',
      ),
      403,
      "check for another key",
    );
    const usage = await as("GET", "/api/quota/usage?key=team-b");
    assert.equal(usage.status, 200);
    const body = await usage.json();
    for (const row of [...body.minutes, ...body.recent]) {
      assert.equal(row.key, "team-a", "a key only ever sees its own usage");
    }
    assert.deepEqual(await keyNames(app), ["team-a", "team-b"]);
    await assertNothingCounted(app);
  });
});

Deno.test("adversarial rest - a revoked key is refused everywhere and cannot be brought back", async () => {
  await withApp(async (app, secret) => {
    const revoked = await app.admin("/api/keys/team-a", { method: "DELETE" });
    assert.equal(revoked.status, 200);
    await revoked.body?.cancel();
    const as = (method: string, path: string, body?: string) =>
      fetch(`${app.url}${path}`, {
        method,
        body,
        headers: {
          authorization: `Bearer ${secret}`,
          "content-type": "application/json",
        },
      });
    await assertOpenAIError(
      await as("GET", "/api/quota/status"),
      401,
      "status",
    );
    await assertOpenAIError(
      await as(
        "POST",
        "/api/quota/usage",
        '{"id":"r1","model":"gpt-4o-mini","input_tokens":1}',
      ),
      401,
      "usage",
    );
    await assertOpenAIError(
      await as("POST", "/api/quota/check", '{"model":"gpt-4o-mini"}'),
      401,
      "check",
    );
    await assertOpenAIError(await as("GET", "/v1/models"), 401, "proxy");
    await assertOpenAIError(
      await app.admin("/api/keys/team-a", {
        method: "PATCH",
        body: '{"rotate":true}',
      }),
      409,
      "rotating a revoked key",
    );
    await assertOpenAIError(
      await post(
        app,
        "/api/quota/usage",
        '{"id":"r2","key":"team-a","model":"gpt-4o-mini","input_tokens":1}',
      ),
      404,
      "the admin reporting for a revoked key",
    );
    await assertNothingCounted(app);
  });
});

Deno.test("adversarial rest - PATCH cannot leave a limit whose derived id names another scope and metric", async () => {
  await withApp(async (app) => {
    await addLimit(app, {
      scope: "gateway",
      metric: "requests",
      window: "1m",
      limit: 5,
    });
    const id = "gateway|requests|1m";
    const patched = await app.admin(`/api/limits/${encodeURIComponent(id)}`, {
      method: "PATCH",
      body: JSON.stringify({ scope: "key:team-a", metric: "tokens" }),
    });
    if (patched.status === 200) {
      const limit = await patched.json();
      assert.ok(
        limit.id.startsWith(`${limit.scope}|${limit.metric}|`),
        `after PATCH the limit "${limit.id}" counts ${limit.metric} on ${limit.scope}: its id now names a scope and metric it does not have`,
      );
    } else {
      await assertOpenAIError(patched, [400, 409], "changing scope and metric");
    }
    // Whatever happened, a real gateway requests limit can be created.
    const created = await post(
      app,
      "/api/limits",
      JSON.stringify({
        scope: "gateway",
        metric: "requests",
        window: "1m",
        limit: 7,
      }),
    );
    const text = await created.text();
    assert.ok(
      created.status === 201 ||
        (created.status === 409 && patched.status !== 200),
      `creating a gateway requests limit answered ${created.status}: ${
        text.slice(0, 160)
      }`,
    );
  });
});
