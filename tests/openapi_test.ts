import assert from "node:assert/strict";
import manifest from "../fresh.gen.ts";
import { parseRouteFile, routePattern } from "../lib/fresh/route_path.ts";
import { OPENAPI_DOCUMENT } from "../lib/openapi.ts";
import { startTestApp } from "./support/app.ts";

const API_PREFIXES = ["/api/", "/v1/", "/healthz", "/metrics"];
const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/** The API routes as `{pattern: methods}`, from the generated manifest. */
function apiRoutes(): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const [file, module] of Object.entries(manifest.routes)) {
    const route = parseRouteFile(file);
    if (!route || route.special) continue;
    const { pattern } = routePattern(route.dirs, route.name);
    if (!API_PREFIXES.some((p) => pattern.startsWith(p))) continue;
    const handler = (module as { handler?: unknown }).handler;
    // One function answers every method: the proxy documents GET and POST.
    const methods = typeof handler === "function"
      ? ["GET", "POST"]
      : METHODS.filter((m) => handler && m in (handler as object));
    routes.set(pattern, methods.sort());
  }
  return routes;
}

/** The document's paths in URLPattern form: `{name}` → `{:name}`, `{path}` → `:path*`. */
function documentedRoutes(): Map<string, string[]> {
  const routes = new Map<string, string[]>();
  for (const [path, item] of Object.entries(OPENAPI_DOCUMENT.paths)) {
    const pattern = path.replace(/\{path\}$/, ":path*").replace(
      /\{(\w+)\}/g,
      "{:$1}",
    );
    const methods = Object.keys(item).filter((k) =>
      METHODS.includes(k.toUpperCase())
    ).map((k) => k.toUpperCase());
    routes.set(pattern, methods.sort());
  }
  return routes;
}

Deno.test("openapi - every API route and method is documented, and nothing else", () => {
  assert.deepEqual(
    Object.fromEntries(documentedRoutes()),
    Object.fromEntries(apiRoutes()),
  );
});

Deno.test("openapi - the document is served at /api/openapi.json", async () => {
  const app = await startTestApp();
  try {
    const response = await fetch(`${app.url}/api/openapi.json`);
    assert.equal(response.status, 200);
    const document = await response.json();
    assert.equal(document.openapi, "3.1.0");
    assert.deepEqual(
      Object.keys(document.paths).sort(),
      Object.keys(OPENAPI_DOCUMENT.paths).sort(),
    );
  } finally {
    await app.close();
  }
});
