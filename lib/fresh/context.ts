/**
 * The per-request `ctx` handed to middlewares and handlers. A class rather than
 * an object literal, so that a request allocates no closures for its methods.
 *
 * @module
 */

import type { Context, Destination, Middleware, State } from "./types.ts";

/** Renders content for a context: the app supplies it. */
export type ContextRenderer = (
  ctx: RequestContext,
  content: unknown,
  init: ResponseInit | undefined,
) => Promise<Response>;

/** The implementation of {@linkcode Context}. */
export class RequestContext<S = State> implements Context<S> {
  error?: unknown;
  /** Internal: the matched route, for `render()`. */
  matched: unknown = null;
  #chain: Middleware[] = [];
  #index = 0;
  #last: () => Promise<Response> = () => Promise.reject(new Error("No route."));
  readonly #renderer: ContextRenderer;

  constructor(
    readonly req: Request,
    readonly url: URL,
    readonly info: Deno.ServeHandlerInfo,
    readonly state: S,
    readonly params: Record<string, string>,
    readonly route: string | null,
    readonly destination: Destination,
    renderer: ContextRenderer,
  ) {
    this.#renderer = renderer;
  }

  /** Runs `chain`, then `last`, each step through `next()`. */
  run(chain: Middleware[], last: () => Promise<Response>): Promise<Response> {
    this.#chain = chain;
    this.#index = 0;
    this.#last = last;
    return this.next();
  }

  async next(): Promise<Response> {
    if (this.#index >= this.#chain.length) return await this.#last();
    const middleware = this.#chain[this.#index++];
    const response = await middleware(this as unknown as Context<State>);
    if (!(response instanceof Response)) {
      throw new Error(
        `A middleware returned ${
          response === undefined ? "nothing" : typeof response
        } instead of a Response. Return ctx.next() to continue, or a Response to answer.`,
      );
    }
    return response;
  }

  render(content?: unknown, init?: ResponseInit): Promise<Response> {
    return this.#renderer(this as RequestContext, content, init);
  }

  redirect(location: string, status = 302): Response {
    // "//host" or "/\host" would leave the origin; keep it a path.
    const safe = location.replace(/^[\/\\]{2,}/, "/");
    return new Response(null, { status, headers: { location: safe } });
  }
}
