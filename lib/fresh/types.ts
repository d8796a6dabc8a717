/**
 * The shapes route modules, middlewares and pages are written against. They
 * follow Fresh 2: one `ctx` argument, `ctx.req` for the request, handlers that
 * return a `Response` or page data for the default export to render.
 *
 * @module
 */

import type { ComponentType } from "preact";
import type { PageResult } from "./page.ts";

/** Per-request values shared by middlewares, handlers and pages. */
export type State = Record<string, unknown>;

/** The HTTP methods a handler object may define. */
export type Method =
  | "GET"
  | "HEAD"
  | "POST"
  | "PUT"
  | "PATCH"
  | "DELETE"
  | "OPTIONS";

/** What a request resolved to, for middlewares that care. */
export type Destination = "route" | "static" | "internal" | "notFound";

/** The single argument of every handler and middleware. */
export interface Context<S = State> {
  /** The original request (never rebuilt, so it can still be upgraded to a WebSocket). */
  readonly req: Request;
  readonly url: URL;
  /** Route parameters, already percent-decoded; `[...rest]` that matched nothing is `""`. */
  readonly params: Record<string, string>;
  /** Per-request bag; the server's `state` factory seeds it. */
  readonly state: S;
  readonly info: Deno.ServeHandlerInfo;
  /** The matched route pattern (e.g. `/blog/:slug`), or null. */
  readonly route: string | null;
  readonly destination: Destination;
  /** The error being shown, inside an error page. */
  readonly error?: unknown;
  /** Runs the next middleware, or finally the route. */
  next(): Promise<Response>;
  /**
   * Renders a page through the layouts and `_app`: pass JSX to render it as the
   * page, or data for the route's default export (`props.data`).
   */
  render(content?: unknown, init?: ResponseInit): Promise<Response>;
  /** A redirect that refuses to leave the origin (`//evil.example` collapses to `/evil.example`). */
  redirect(location: string, status?: number): Response;
}

/** What a route handler may return. */
export type HandlerResult<D = unknown> = Response | PageResult<D>;

/** One route handler. */
export type HandlerFn<D = unknown, S = State> = (
  ctx: Context<S>,
) => HandlerResult<D> | Promise<HandlerResult<D>>;

/** A route's handlers: one function for every method, or one per method. */
export type Handlers<D = unknown, S = State> =
  | HandlerFn<D, S>
  | Partial<Record<Method, HandlerFn<D, S>>>;

/** A middleware: return `ctx.next()` to continue, or a Response to answer. */
export type Middleware<S = State> = (
  ctx: Context<S>,
) => Response | Promise<Response>;

/** Props of pages, layouts and `_app`. */
export interface PageProps<D = unknown, S = State> {
  data: D;
  url: URL;
  params: Record<string, string>;
  state: S;
  route: string | null;
  req: Request;
  /** The error being shown (error pages only). */
  error?: unknown;
  /** The inner content, for layouts and `_app`. */
  Component: ComponentType;
}

/** Per-route options, exported as `config`. */
export interface RouteConfig {
  /** A URLPattern pathname that replaces the one derived from the file name. */
  routeOverride?: string;
  /** Render without `_app`. */
  skipAppWrapper?: boolean;
  /** Use only the layout of the route's own folder (or, on a layout, only it and those below). */
  skipInheritedLayouts?: boolean;
}

/**
 * The generated `fresh.gen.ts`: every route and island module, imported
 * statically so that `deno compile` and Deploy see them all.
 */
export interface Manifest {
  routes: Record<string, Record<string, unknown>>;
  islands: Record<string, Record<string, unknown>>;
  baseUrl: string;
}
