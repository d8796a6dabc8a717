/**
 * Bundles the browser code with `deno bundle`: the boot runtime plus one entry
 * per island file, split into shared chunks so that every island uses the same
 * Preact and signals instance.
 *
 * @module
 */

import { join, relative } from "node:path";
import { islandChunkName } from "../islands.ts";

/** The runtime entry's output name (without `.js`). */
export const RUNTIME_ENTRY = "fresh-runtime";

/** What `deno bundle` produced: file name -> content, and chunk names. */
export interface ClientBundle {
  files: Map<string, Uint8Array>;
  /** Island chunk name -> output file name. */
  islands: Map<string, string>;
  runtime: string;
}

const DEFAULT_EXPORT = /\bexport\s+default\b|\bas\s+default\b/;

/**
 * Bundles the islands of `root` (manifest keys such as `./islands/Counter.tsx`).
 * Entry shims go to `.fresh/entries/` so output names are flat and predictable.
 */
export async function bundleClient(
  root: string,
  islands: string[],
  options: { dev: boolean },
): Promise<ClientBundle> {
  const entriesDir = join(root, ".fresh", "entries");
  await Deno.remove(entriesDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(entriesDir, { recursive: true });
  const entries: string[] = [];
  const runtimeEntry = join(entriesDir, `${RUNTIME_ENTRY}.ts`);
  await Deno.writeTextFile(
    runtimeEntry,
    `export { boot } from ${
      JSON.stringify(
        toImport(entriesDir, join(root, "lib/fresh/client/boot.ts")),
      )
    };\n`,
  );
  entries.push(runtimeEntry);
  const chunks = new Map<string, string>();
  for (const island of islands) {
    const chunk = islandChunkName(island);
    const source = join(root, island);
    const specifier = JSON.stringify(toImport(entriesDir, source));
    const text = await Deno.readTextFile(source);
    let shim = `export * from ${specifier};\n`;
    if (DEFAULT_EXPORT.test(text)) {
      shim += `export { default } from ${specifier};\n`;
    }
    const entry = join(entriesDir, `${chunk}.ts`);
    await Deno.writeTextFile(entry, shim);
    entries.push(entry);
    chunks.set(chunk, `${chunk}.js`);
  }
  const outDir = await Deno.makeTempDir({ prefix: "fresh-bundle-" });
  try {
    const args = [
      "bundle",
      "--quiet",
      "--platform",
      "browser",
      "--code-splitting",
      "--format",
      "esm",
      "--outdir",
      outDir,
    ];
    if (!options.dev) args.push("--minify");
    const output = await new Deno.Command(Deno.execPath(), {
      args: [...args, ...entries],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(
        `deno bundle failed:\n${new TextDecoder().decode(output.stderr)}`,
      );
    }
    const files = new Map<string, Uint8Array>();
    for await (const entry of Deno.readDir(outDir)) {
      if (!entry.isFile) continue;
      files.set(entry.name, await Deno.readFile(join(outDir, entry.name)));
    }
    if (!files.has(`${RUNTIME_ENTRY}.js`)) {
      throw new Error(
        `deno bundle produced no ${RUNTIME_ENTRY}.js; its output was: ${
          [...files.keys()].join(", ")
        }.`,
      );
    }
    return { files, islands: chunks, runtime: `${RUNTIME_ENTRY}.js` };
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
}

function toImport(from: string, to: string): string {
  const path = relative(from, to).replaceAll("\\", "/");
  return path.startsWith(".") ? path : `./${path}`;
}
