/**
 * What every route finds in `ctx.state`: the instance's services, seeded by
 * the server for each request.
 *
 * @module
 */

import type { Services } from "./services.ts";

/** The per-request state of Quota Monitor's routes. */
export interface AppState {
  services: Services;
  /** The CSP nonce of this response (set by the root middleware). */
  nonce?: string;
  [key: string]: unknown;
}
