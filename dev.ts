/**
 * Development and build entry.
 *
 * - `deno task dev`: writes fresh.gen.ts, serves with an in-memory unminified
 *   build, watches routes/ islands/ lib/ static/ and restarts the server on
 *   change; open pages reload themselves (WebSocket at /_fresh/alive).
 * - `deno task build` (`dev.ts build`): writes fresh.gen.ts and the production
 *   build into _fresh/ (`--if-needed` skips it when nothing changed).
 *
 * @module
 */

import { buildProduction, createSnapshot } from "./lib/fresh/dev/builder.ts";
import { writeManifest } from "./lib/fresh/dev/manifest_source.ts";
import { scanProject } from "./lib/fresh/dev/scan.ts";

const ROOT = import.meta.dirname!;
const WATCHED = ["routes", "islands", "lib", "static", "main.ts"];
const DEBOUNCE_MS = 120;

/** Child mode: build in memory and serve with live reload. */
async function serveDev(): Promise<void> {
  const { buildFromSnapshot } = await import("./lib/fresh/build.ts");
  const snapshot = await createSnapshot(ROOT, { dev: true });
  const { main } = await import("./main.ts");
  await main({ build: buildFromSnapshot(snapshot), dev: true });
}

/** Supervisor mode: keep a dev server child running, restart it on change. */
async function supervise(): Promise<void> {
  await writeManifest(ROOT, await scanProject(ROOT));
  let child: Deno.ChildProcess | null = null;
  const start = () => {
    child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", import.meta.filename!, "serve"],
      cwd: ROOT,
      stdin: "null",
    }).spawn();
  };
  const restart = async () => {
    const running = child as Deno.ChildProcess | null;
    if (running !== null) {
      try {
        running.kill("SIGTERM");
      } catch {
        // Already exited (a crash on the last change, say).
      }
      await running.status;
    }
    try {
      await writeManifest(ROOT, await scanProject(ROOT));
    } catch (error) {
      console.error(error instanceof Error ? error.message : error);
    }
    start();
  };
  start();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        (child as Deno.ChildProcess | null)?.kill("SIGTERM");
      } catch {
        // Already gone.
      }
      Deno.exit(0);
    });
  }
  const watcher = Deno.watchFs(WATCHED.map((path) => `${ROOT}/${path}`));
  let timer: ReturnType<typeof setTimeout> | undefined;
  for await (const event of watcher) {
    if (event.kind === "access" || event.kind === "other") continue;
    clearTimeout(timer);
    timer = setTimeout(() => {
      console.log("Change detected; rebuilding.");
      restart();
    }, DEBOUNCE_MS);
  }
}

if (import.meta.main) {
  const [command, ...flags] = Deno.args;
  if (command === "build") {
    const built = await buildProduction(ROOT, {
      ifNeeded: flags.includes("--if-needed"),
    });
    console.log(
      built ? "Built into _fresh/." : "The build in _fresh/ is up to date.",
    );
  } else if (command === "serve") {
    await serveDev();
  } else if (command === undefined) {
    await supervise();
  } else {
    console.error(
      `Unknown command "${command}". Use \`deno task dev\` (no argument) or \`deno task build\`.`,
    );
    Deno.exit(2);
  }
}
