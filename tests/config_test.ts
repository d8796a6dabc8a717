import assert from "node:assert/strict";
import { ConfigError, configFrom, loadConfig } from "../lib/config.ts";

function loadWith(settings: Record<string, string>, files = {}) {
  const table: Record<string, string> = files;
  return loadConfig((name) => settings[name], (path) => {
    if (!(path in table)) throw new Deno.errors.NotFound(path);
    return table[path];
  });
}

Deno.test("config - defaults match the documented ones", () => {
  const config = loadWith({});
  assert.equal(config.port, 8000);
  assert.equal(config.hostname, "127.0.0.1");
  assert.equal(config.dataDir, "./data");
  assert.equal(config.warnAt, 0.8);
  assert.equal(config.timeZone, "UTC");
  assert.equal(config.upstreamBaseUrl, "https://api.openai.com/v1");
  assert.equal(config.defaultMaxOutputTokens, 4096);
  assert.deepEqual(config.corsOrigins, []);
  assert.equal(config.adminToken, null);
  assert.equal(config.trustProxy, false);
  assert.equal(config.redisFailOpen, false);
});

Deno.test("config - the provider key falls back to OPENAI_API_KEY", () => {
  assert.equal(loadWith({ OPENAI_API_KEY: "sk-a" }).upstreamApiKey, "sk-a");
  assert.equal(
    loadWith({ OPENAI_API_KEY: "sk-a", UPSTREAM_API_KEY: "sk-b" })
      .upstreamApiKey,
    "sk-b",
  );
});

const BAD_SETTINGS: [Record<string, string>, RegExp][] = [
  [{ PORT: "eighty" }, /^PORT must be a whole number/],
  [{ PORT: "70000" }, /^PORT must be a whole number from 0 to 65535/],
  [{ QUOTA_WARN_AT: "80" }, /^QUOTA_WARN_AT must be a fraction/],
  [{ QUOTA_WARN_AT: "0" }, /^QUOTA_WARN_AT must be a fraction/],
  [{ QUOTA_TIME_ZONE: "Mars/Olympus" }, /^QUOTA_TIME_ZONE must be an IANA/],
  [{ CORS_ORIGINS: "not a url" }, /^CORS_ORIGINS must list origins/],
  [{ CORS_ORIGINS: "https://a.example/path" }, /^CORS_ORIGINS must list bare/],
  [{ UPSTREAM_BASE_URL: "ftp://x" }, /^UPSTREAM_BASE_URL must be an http/],
  [{ QUOTA_REDIS_URL: "localhost:6379" }, /^QUOTA_REDIS_URL must start/],
  [{ QUOTA_ADMIN_TOKEN: "short" }, /^QUOTA_ADMIN_TOKEN must be at least 16/],
  [{ QUOTA_PUBLIC_DASHBOARD: "maybe" }, /^QUOTA_PUBLIC_DASHBOARD must be true/],
  [{ HOST: "0.0.0.0" }, /^HOST is 0\.0\.0\.0, which is reachable beyond/],
  [{ QUOTA_FALLBACK_PRICE: "1,2" }, /^QUOTA_FALLBACK_PRICE must be three/],
  [{ QUOTA_LIMITS_FILE: "missing.json" }, /^QUOTA_LIMITS_FILE names missing/],
];

for (const [settings, expected] of BAD_SETTINGS) {
  const name = Object.keys(settings)[0];
  Deno.test(`config - a malformed ${name} stops the start with one sentence naming it`, () => {
    assert.throws(() => loadWith(settings), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, expected);
      assert.match(error.message, /\.$/);
      assert.equal(error.message.split("\n").length, 1);
      return true;
    });
  });
}

Deno.test("config - listening beyond loopback is allowed with an admin token or a public dashboard", () => {
  assert.equal(
    loadWith({ HOST: "0.0.0.0", QUOTA_ADMIN_TOKEN: "x".repeat(24) }).hostname,
    "0.0.0.0",
  );
  assert.equal(
    loadWith({ HOST: "0.0.0.0", QUOTA_PUBLIC_DASHBOARD: "true" }).hostname,
    "0.0.0.0",
  );
});

Deno.test("config - CORS_ORIGINS keeps exact origins", () => {
  const config = loadWith({
    CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
  });
  assert.deepEqual(config.corsOrigins, [
    "https://app.example.com",
    "http://localhost:5173",
  ]);
});

Deno.test("config - a limits file declares limits and price overrides", () => {
  const file = JSON.stringify({
    limits: [
      { scope: "gateway", metric: "cost_usd", window: "month", limit: 500 },
      { scope: "key:team-a", metric: "requests", window: "1m", limit: 60 },
    ],
    prices: { "my-model": { input: 1, output: 2 } },
  });
  const config = loadWith({ QUOTA_LIMITS_FILE: "limits.json" }, {
    "limits.json": file,
  });
  assert.equal(config.fileLimits.length, 2);
  assert.deepEqual(
    config.fileLimits.map((
      l,
    ) => [l.scope, l.metric, l.window, l.limit, l.source]),
    [
      ["gateway", "cost_usd", "month", 500, "file"],
      ["key:team-a", "requests", "1m", 60, "file"],
    ],
  );
  assert.deepEqual(config.priceOverrides["my-model"], {
    input: 1,
    cachedInput: 1,
    output: 2,
  });
});

const BAD_FILES: [string, RegExp][] = [
  ["{", /is not valid JSON/],
  ['{"limit": []}', /is not a valid limits file/],
  [
    '{"limits": [{"scope": "team-a", "metric": "requests", "window": "1m", "limit": 1}]}',
    /limits\[0\]/,
  ],
  [
    '{"limits": [{"scope": "gateway", "metric": "requests", "window": "fortnight", "limit": 1}]}',
    /limits\[0\].*window/i,
  ],
  [
    '{"limits": [{"scope": "gateway", "metric": "requests", "window": "1m", "limit": -5}]}',
    /limits\[0\]/,
  ],
  [
    '{"limits": [{"scope": "gateway", "metric": "requests", "window": "1m", "limit": 1}, {"scope": "gateway", "metric": "requests", "window": "1m", "limit": 2}]}',
    /repeats the limit/,
  ],
];

for (const [text, expected] of BAD_FILES) {
  Deno.test(`config - a malformed limits file is refused: ${text.slice(0, 40)}`, () => {
    assert.throws(
      () => loadWith({ QUOTA_LIMITS_FILE: "l.json" }, { "l.json": text }),
      (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^QUOTA_LIMITS_FILE \(l\.json\)/);
        assert.match(error.message, expected);
        return true;
      },
    );
  });
}

Deno.test("config - configFrom reads the given settings only", () => {
  const config = configFrom({ PORT: "0", QUOTA_DATA_DIR: ":memory:" });
  assert.equal(config.port, 0);
  assert.equal(config.dataDir, ":memory:");
});
