/**
 * The state of the one page render in progress. Rendering is synchronous
 * (`renderToString`), so a module-level slot is safe: no other render can
 * interleave with it.
 *
 * @module
 */

import type { Build } from "./build.ts";
import type { IslandInfo } from "./islands.ts";

/** One island occurrence in the page: which island and the props it received. */
export interface IslandUse {
  island: IslandInfo;
  props: Record<string, unknown>;
}

/** Collected while a page renders. */
export class RenderState {
  /** Props of every top-level island, in document order (index = marker index). */
  readonly islands: IslandUse[] = [];
  nextSlotId = 0;
  constructor(readonly build: Build) {}
}

let current: RenderState | null = null;

/** The render in progress, or null outside a render. */
export function currentRender(): RenderState | null {
  return current;
}

/** Runs `fn` with `state` as the render in progress. */
export function withRenderState<T>(state: RenderState, fn: () => T): T {
  const previous = current;
  current = state;
  try {
    return fn();
  } finally {
    current = previous;
  }
}
