import assert from "node:assert/strict";
import { dashboardCsp } from "../../lib/dashboard/csp.ts";

Deno.test("csp - a separate API origin is added to connect-src with its socket scheme", () => {
  const csp = dashboardCsp(
    "n0nce",
    "app.example.com",
    "https://quota.example.com",
    "https://app.example.com",
  );
  assert.ok(csp !== null);
  const connect = csp.split("; ").find((d) => d.startsWith("connect-src"));
  assert.equal(
    connect,
    "connect-src 'self' ws://app.example.com wss://app.example.com https://quota.example.com wss://quota.example.com",
  );
  assert.match(csp, /script-src 'self' 'nonce-n0nce'/);
});

Deno.test("csp - the page's own origin needs no change of policy", () => {
  assert.equal(dashboardCsp("n", "a.example", null, "https://a.example"), null);
  assert.equal(
    dashboardCsp("n", "a.example", "https://a.example", "https://a.example"),
    null,
  );
});
