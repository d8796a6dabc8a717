import assert from "node:assert/strict";
import {
  clearedSessionCookie,
  isHttpsRequest,
  safeNextPath,
  sessionCookie,
} from "../../lib/dashboard/login.ts";

Deno.test("login - the session cookie is HttpOnly and SameSite=Strict, and Secure over https", () => {
  assert.equal(
    sessionCookie("abc", false),
    "qm_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000",
  );
  assert.equal(
    sessionCookie("abc", true),
    "qm_session=abc; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000; Secure",
  );
  assert.match(clearedSessionCookie(false), /^qm_session=; .*Max-Age=0/);
  assert.equal(
    isHttpsRequest(new Request("https://q.example.com/login")),
    true,
  );
  assert.equal(
    isHttpsRequest(new Request("http://q.example.com/login")),
    false,
  );
  assert.equal(
    isHttpsRequest(
      new Request("http://q.example.com/login", {
        headers: { "x-forwarded-proto": "https" },
      }),
    ),
    true,
  );
});

Deno.test("login - after logging in the browser only goes to a path on this site", () => {
  assert.equal(safeNextPath("/test-quota"), "/test-quota");
  assert.equal(safeNextPath("/?a=1"), "/?a=1");
  assert.equal(safeNextPath(null), "/");
  assert.equal(safeNextPath("//evil.example"), "/");
  assert.equal(safeNextPath("/\\evil.example"), "/");
  assert.equal(safeNextPath("https://evil.example/"), "/");
  assert.equal(safeNextPath("test-quota"), "/");
});
