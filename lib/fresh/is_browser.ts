/**
 * `IS_BROWSER` tells an island whether it runs in the browser: buttons can be
 * rendered `disabled={!IS_BROWSER}` on the server and enable once hydrated.
 * Import this file directly from islands (not `mod.ts`, which is server code).
 *
 * @module
 */

/** True in the browser, false while rendering on the server. */
export const IS_BROWSER: boolean = typeof document !== "undefined";
