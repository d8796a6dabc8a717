import assert from "node:assert/strict";
import {
  compareRoutePatterns,
  parseRouteFile,
  routePattern,
} from "../../lib/fresh/route_path.ts";

const patternOf = (file: string) => {
  const parsed = parseRouteFile(file)!;
  return routePattern(parsed.dirs, parsed.name);
};

Deno.test("route_path - file names map to URLPattern pathnames as in Fresh", () => {
  const cases: [string, string, boolean][] = [
    ["./routes/index.tsx", "/", true],
    ["./routes/blog/index.tsx", "/blog", true],
    ["./routes/about.tsx", "/about", true],
    ["./routes/api/openapi.json.ts", "/api/openapi.json", true],
    ["./routes/blog/[slug].tsx", "/blog/{:slug}", false],
    ["./routes/old/[...path].tsx", "/old/:path*", false],
    ["./routes/docs/[[version]]/index.tsx", "/docs{/:version}?", false],
    ["./routes/(marketing)/pricing.tsx", "/pricing", true],
    ["./routes/(app)/keys/[name].tsx", "/keys/{:name}", false],
    ["./routes/[id]-x[b].tsx", "/{:id}-x{:b}", false],
  ];
  for (const [file, pattern, isStatic] of cases) {
    const result = patternOf(file);
    assert.equal(result.pattern, pattern, file);
    assert.equal(result.isStatic, isStatic, file);
  }
});

Deno.test("route_path - a mixed segment matches literal and params separately", () => {
  const pattern = new URLPattern({
    pathname: patternOf("./routes/[id]-x[b].tsx").pattern,
  });
  const groups = pattern.exec({ pathname: "/42-xyz" })?.pathname.groups;
  assert.deepEqual({ ...groups }, { id: "42", b: "yz" });
});

Deno.test("route_path - tests, private folders and unknown _files are not routes", () => {
  assert.equal(parseRouteFile("./routes/blog/index_test.ts"), null);
  assert.equal(parseRouteFile("./routes/blog/x.test.tsx"), null);
  assert.equal(parseRouteFile("./routes/(_components)/Card.tsx"), null);
  assert.equal(parseRouteFile("./routes/_helpers.ts"), null);
  assert.equal(
    parseRouteFile("./routes/api/_middleware.ts")?.special,
    "_middleware",
  );
});

Deno.test("route_path - dynamic routes order: static, [param], [[optional]], [...rest]", () => {
  const files = [
    "./routes/[...rest].tsx",
    "./routes/blog/[...rest].tsx",
    "./routes/blog/[slug].tsx",
    "./routes/blog/[slug]/comments.tsx",
    "./routes/[[lang]]/about.tsx",
    "./routes/[user].tsx",
  ];
  const sorted = files.map((file) => ({ file, pattern: patternOf(file) }))
    .sort((a, b) => compareRoutePatterns(a.pattern, b.pattern))
    .map((entry) => entry.file);
  assert.deepEqual(sorted, [
    "./routes/blog/[slug]/comments.tsx",
    "./routes/blog/[slug].tsx",
    "./routes/blog/[...rest].tsx",
    "./routes/[user].tsx",
    "./routes/[[lang]]/about.tsx",
    "./routes/[...rest].tsx",
  ]);
});
