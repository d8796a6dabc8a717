/**
 * `asset()` gives static files cache-busting URLs.
 *
 * @module
 */

import type { Build } from "./build.ts";
import { currentRender } from "./render_state.ts";

/** Query parameter carrying a static file's content hash. */
export const ASSET_QUERY = "__frsh_c";

let activeBuild: Build | null = null;

/** Makes `build` the one `asset()` uses outside a render. */
export function setActiveBuild(build: Build): void {
  activeBuild = build;
}

/**
 * Adds the file's content hash to a static file URL, so the server can send it
 * `immutable` and a new version gets a new URL.
 *
 * ```tsx
 * <link rel="stylesheet" href={asset("/styles.css")} />
 * // -> /styles.css?__frsh_c=3f2a9c01b7e4
 * ```
 */
export function asset(path: string): string {
  const build = currentRender()?.build ?? activeBuild;
  const file = build?.files.get(path);
  if (file === undefined || file.immutable) return path;
  return `${path}?${ASSET_QUERY}=${file.hash}`;
}
