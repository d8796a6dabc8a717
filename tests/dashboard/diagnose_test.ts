import assert from "node:assert/strict";
import {
  explainRest,
  explainSocket,
  type OriginFacts,
} from "../../lib/dashboard/diagnose.ts";

const SAME: OriginFacts = {
  pageOrigin: "https://quota.example.com",
  apiOrigin: "https://quota.example.com",
  allowedOrigins: ["https://quota.example.com"],
  loginRequired: true,
};
const FOREIGN: OriginFacts = {
  pageOrigin: "https://app.example.com",
  apiOrigin: "https://quota.example.com",
  allowedOrigins: ["https://quota.example.com"],
  loginRequired: true,
};

Deno.test("diagnose - a successful REST round trip needs no explanation", () => {
  assert.equal(
    explainRest({ kind: "ok", status: 200, latencyMs: 4 }, SAME),
    null,
  );
});

Deno.test("diagnose - REST failures say what to fix: log in, add the origin, start the server", () => {
  assert.match(
    explainRest(
      { kind: "http", status: 401, latencyMs: 3, message: null },
      SAME,
    )!,
    /log in at \/login.*QUOTA_PUBLIC_DASHBOARD=true/,
  );
  assert.match(
    explainRest({ kind: "network", latencyMs: 3, message: "x" }, FOREIGN)!,
    /https:\/\/app\.example\.com is not allowed there\. Add it to CORS_ORIGINS/,
  );
  assert.match(
    explainRest({ kind: "network", latencyMs: 3, message: "x" }, SAME)!,
    /server is down or restarting/,
  );
  assert.match(
    explainRest(
      { kind: "http", status: 502, latencyMs: 3, message: null },
      SAME,
    )!,
    /proxy in front of the server answered 502/,
  );
});

Deno.test("diagnose - a refused socket is told apart by the origin and the REST result", () => {
  assert.equal(explainSocket({ state: "live", rest: null }, SAME), null);
  assert.match(
    explainSocket({ state: "reconnecting", rest: null }, FOREIGN)!,
    /refuses sockets from https:\/\/app\.example\.com \(403\): add it to CORS_ORIGINS/,
  );
  assert.match(
    explainSocket({
      state: "reconnecting",
      rest: { kind: "ok", status: 200, latencyMs: 2 },
    }, SAME)!,
    /not forwarding WebSocket upgrades/,
  );
  assert.match(
    explainSocket({
      state: "offline",
      rest: { kind: "network", latencyMs: 2, message: "x" },
    }, SAME)!,
    /cannot be reached/,
  );
  assert.match(
    explainSocket({
      state: "reconnecting",
      rest: { kind: "http", status: 401, latencyMs: 2, message: null },
    }, SAME)!,
    /log in at \/login/,
  );
});
