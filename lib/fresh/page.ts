/**
 * Page data: what a handler returns to have the route's default export render
 * it as `props.data`.
 *
 * @module
 */

/** Page data with an optional status and headers. */
export interface PageResult<D = unknown> {
  data: D;
  status?: number;
  headers?: HeadersInit;
}

/**
 * Returns page data for the route's default export.
 *
 * ```ts
 * export const handler = {
 *   GET(ctx) {
 *     return page({ name: ctx.params.name }, { headers: { "cache-control": "no-store" } });
 *   },
 * };
 * ```
 */
export function page<D>(
  data: D,
  init?: { status?: number; headers?: HeadersInit },
): PageResult<D> {
  return { data, status: init?.status, headers: init?.headers };
}

/** True for a handler result that is page data rather than a Response. */
export function isPageResult(value: unknown): value is PageResult {
  return typeof value === "object" && value !== null &&
    !(value instanceof Response) && "data" in value;
}
