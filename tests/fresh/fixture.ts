/**
 * Helpers for runtime tests: an app from an in-test manifest, and a build from
 * in-test files, driven with synthetic Requests (no network).
 *
 * @module
 */

import {
  type AppHandler,
  type AppOptions,
  type Build,
  buildFromSnapshot,
  createApp,
  type SnapshotData,
} from "../../lib/fresh/mod.ts";

/** Creates an app from route and island modules keyed like fresh.gen.ts. */
export function fixtureApp(
  routes: Record<string, Record<string, unknown>>,
  options: AppOptions & {
    islands?: Record<string, Record<string, unknown>>;
  } = {},
): AppHandler {
  return createApp(
    { routes, islands: options.islands ?? {}, baseUrl: import.meta.url },
    options,
  );
}

/** A build holding the given static files and fake island chunks. */
export function fixtureBuild(
  options: {
    files?: Record<string, string>;
    islands?: string[];
  } = {},
): Build {
  const id = "testbuild";
  const data: SnapshotData = {
    id,
    dev: false,
    inputHash: "0",
    runtime: `/_fresh/js/${id}/fresh-runtime.js`,
    islands: {},
    files: [{
      path: `/_fresh/js/${id}/fresh-runtime.js`,
      contentType: "text/javascript; charset=utf-8",
      hash: "runtimehash",
      immutable: true,
      text: "export function boot() {}",
    }],
  };
  for (const chunk of options.islands ?? []) {
    data.islands[chunk] = `/_fresh/js/${id}/${chunk}.js`;
  }
  let n = 0;
  for (const [path, text] of Object.entries(options.files ?? {})) {
    data.files.push({
      path,
      contentType: path.endsWith(".css")
        ? "text/css; charset=utf-8"
        : path.endsWith(".svg")
        ? "image/svg+xml"
        : "text/plain; charset=utf-8",
      hash: `hash${n++}${text.length}`,
      immutable: false,
      text,
    });
  }
  return buildFromSnapshot(data);
}

/** Sends a request to `handler`. */
export function request(
  handler: AppHandler,
  path: string,
  init?: RequestInit,
): Promise<Response> {
  return handler(new Request(`http://localhost${path}`, init));
}
