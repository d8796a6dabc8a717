/**
 * Our thin Fresh-compatible runtime: what routes, middlewares, `main.ts` and
 * tests import. Islands import only `is_browser.ts`; this module is server code.
 *
 * @module
 */

export { type AppHandler, type AppOptions, createApp } from "./app.ts";
export { asset, ASSET_QUERY } from "./asset.ts";
export {
  type Build,
  buildFromSnapshot,
  emptyBuild,
  loadBuild,
  type SnapshotData,
} from "./build.ts";
export {
  contentSecurityPolicy,
  createNonce,
  CSP_NONCE_KEY,
  withSecurityHeaders,
} from "./csp.ts";
export { HttpError } from "./http_error.ts";
export { IS_BROWSER } from "./is_browser.ts";
export { isPageResult, page, type PageResult } from "./page.ts";
export type {
  Context,
  Destination,
  HandlerFn,
  HandlerResult,
  Handlers,
  Manifest,
  Method,
  Middleware,
  PageProps,
  RouteConfig,
  State,
} from "./types.ts";
