/**
 * Pages used when `routes/` has no `_404` or `_500`.
 *
 * @module
 */

import { h, type VNode } from "preact";

/** The built-in 404 page. */
export function DefaultNotFound(): VNode {
  return h("main", null, [
    h("h1", null, "Page not found"),
    h(
      "p",
      null,
      "Nothing lives at this address. Check the link, or go back to the start page.",
    ),
  ]);
}

/** The built-in error page. */
export function DefaultError(): VNode {
  return h("main", null, [
    h("h1", null, "Something went wrong"),
    h(
      "p",
      null,
      "The server failed to answer this request. Try again; if it keeps failing, read the server log.",
    ),
  ]);
}
