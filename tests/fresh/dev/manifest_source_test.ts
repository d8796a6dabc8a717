import assert from "node:assert/strict";
import { join } from "node:path";
import { manifestSource } from "../../../lib/fresh/dev/manifest_source.ts";
import { scanProject } from "../../../lib/fresh/dev/scan.ts";

Deno.test("manifest_source - fresh.gen.ts imports every route and island statically", async () => {
  const root = await Deno.makeTempDir({ prefix: "fresh-scan-" });
  try {
    const files = [
      "routes/index.tsx",
      "routes/_app.tsx",
      "routes/api/[id].ts",
      "routes/api/[id]_test.ts",
      "routes/(group)/about.tsx",
      "routes/.hidden.ts",
      "routes/notes.md",
      "islands/Counter.tsx",
      "islands/charts/Line.tsx",
    ];
    for (const file of files) {
      await Deno.mkdir(join(root, file, ".."), { recursive: true });
      await Deno.writeTextFile(
        join(root, file),
        "export default () => null;\n",
      );
    }
    const project = await scanProject(root);
    assert.deepEqual(project, {
      routes: [
        "./routes/(group)/about.tsx",
        "./routes/_app.tsx",
        "./routes/api/[id].ts",
        "./routes/index.tsx",
      ],
      islands: ["./islands/Counter.tsx", "./islands/charts/Line.tsx"],
    });
    const source = manifestSource(project);
    assert.doesNotMatch(source, /import\(/, "no dynamic imports");
    for (const path of [...project.routes, ...project.islands]) {
      assert.match(
        source,
        new RegExp(
          `import \\* as \\$\\w+ from "${path.replace(/[.()[\]]/g, "\\$&")}";`,
        ),
      );
    }
    assert.match(
      source,
      /"\.\/islands\/charts\/Line\.tsx": \$islands_charts_Line,/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
