/**
 * The request handler of a Fresh-style app: static files and built chunks,
 * then routes (static paths from a Map, dynamic ones by URLPattern), each
 * behind its precomputed middleware chain; pages rendered through layouts and
 * `_app`; errors turned into the `_404` and `_500` pages.
 *
 * @module
 */

import { type ComponentType, h, isValidElement, type VNode } from "preact";
import { setActiveBuild } from "./asset.ts";
import { type Build, emptyBuild } from "./build.ts";
import { RequestContext } from "./context.ts";
import { CSP_NONCE_KEY } from "./csp.ts";
import { DefaultError, DefaultNotFound } from "./default_pages.ts";
import { HttpError } from "./http_error.ts";
import { registerIslands } from "./islands.ts";
import {
  LIVE_RELOAD_PATH,
  liveReloadResponse,
  liveReloadScript,
} from "./live_reload.ts";
import { isPageResult } from "./page.ts";
import { renderHtml } from "./render.ts";
import { type Route, Router } from "./router.ts";
import { findFile, serveFile } from "./static_files.ts";
import type { HandlerFn, Manifest, Method, PageProps, State } from "./types.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Chunks and static files; without one, pages render but islands stay static. */
  build?: Build;
  /** Called per request; its properties are copied into `ctx.state`. */
  state?: () => Record<string, unknown>;
  /** Dev mode: live reload endpoint and script. */
  dev?: boolean;
}

/** A `Deno.serve` handler; `info` may be left out in tests. */
export type AppHandler = (
  req: Request,
  info?: Deno.ServeHandlerInfo,
) => Promise<Response>;

const TEST_INFO: Deno.ServeHandlerInfo = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 0 },
  completed: Promise.resolve(),
};

const HTML = "text/html; charset=utf-8";

/**
 * Builds the request handler for a manifest.
 *
 * ```ts
 * import manifest from "./fresh.gen.ts";
 * const handler = createApp(manifest, { build });
 * Deno.serve(handler);
 * ```
 */
export function createApp(
  manifest: Manifest,
  options: AppOptions = {},
): AppHandler {
  const build = options.build ?? emptyBuild();
  const router = new Router(manifest);
  const islands = registerIslands(manifest.islands);
  setActiveBuild(build);
  if (build.files.size > 0) {
    const missing = islands.filter((island) =>
      !build.islands.has(island.chunk)
    );
    if (missing.length > 0) {
      console.warn(
        `The build lacks the islands ${
          missing.map((island) => island.chunk).join(", ")
        }: run \`deno task build\` so that they are bundled.`,
      );
    }
  }
  const devScript = options.dev ? liveReloadScript(build.id) : undefined;
  const stateFactory = options.state;

  const renderTree = (
    ctx: RequestContext,
    tree: VNode,
    status: number,
    headers: HeadersInit | undefined,
  ): Response => {
    const nonce = (ctx.state as State)[CSP_NONCE_KEY];
    const { html } = renderHtml(tree, {
      build,
      nonce: typeof nonce === "string" ? nonce : undefined,
      devScript,
    });
    const responseHeaders = new Headers(headers);
    if (!responseHeaders.has("content-type")) {
      responseHeaders.set("content-type", HTML);
    }
    return new Response(html, { status, headers: responseHeaders });
  };

  const pageProps = (ctx: RequestContext, data: unknown): PageProps => ({
    data,
    url: ctx.url,
    params: ctx.params,
    state: ctx.state as State,
    route: ctx.route,
    req: ctx.req,
    error: ctx.error,
    Component: Empty,
  });

  /** Wraps a page in its layouts and `_app`. */
  const wrap = (
    page: VNode,
    props: PageProps,
    layouts: AnyComponent[],
    app: AnyComponent | null,
  ): VNode => {
    let tree = page;
    for (let i = layouts.length - 1; i >= 0; i--) {
      const inner = tree;
      tree = h(layouts[i], { ...props, Component: () => inner });
    }
    if (app === null) return tree;
    const inner = tree;
    return h(app, { ...props, Component: () => inner });
  };

  const renderRoute = (
    ctx: RequestContext,
    route: Route | null,
    content: unknown,
    init: ResponseInit | undefined,
  ): Response => {
    const jsx = isValidElement(content);
    const props = pageProps(ctx, jsx ? undefined : content);
    let page: VNode;
    if (jsx) {
      page = content as VNode;
    } else if (route?.component) {
      page = h(route.component, props);
    } else {
      throw new Error(
        `ctx.render(data) needs a route with a default export component${
          route ? ` (${route.file} has none)` : ""
        }; pass JSX to ctx.render() instead.`,
      );
    }
    const tree = route === null
      ? wrap(page, props, [], router.app)
      : wrap(page, props, route.layouts, route.app);
    return renderTree(ctx, tree, init?.status ?? 200, init?.headers);
  };

  const renderSpecial = (
    ctx: RequestContext,
    component: AnyComponent,
    status: number,
    withApp: boolean,
  ): Response => {
    const props = pageProps(ctx, undefined);
    const tree = wrap(
      h(component, props),
      props,
      [],
      withApp ? router.app : null,
    );
    return renderTree(ctx, tree, status, undefined);
  };

  const renderNotFound = (ctx: RequestContext): Promise<Response> =>
    Promise.resolve(
      renderSpecial(ctx, router.notFoundPage ?? DefaultNotFound, 404, true),
    );

  const renderError = (
    ctx: RequestContext,
    error: unknown,
  ): Promise<Response> => {
    if (error instanceof HttpError && error.status === 404) {
      return renderNotFound(ctx).catch((failure) => renderError(ctx, failure));
    }
    const status = error instanceof HttpError ? error.status : 500;
    if (status >= 500) {
      console.error(
        `Error while serving ${ctx.req.method} ${ctx.url.pathname}:`,
        error,
      );
    }
    ctx.error = error;
    const component = router.errorPage ?? DefaultError;
    // If _app itself failed, the error page renders without it.
    for (const withApp of [true, false]) {
      try {
        return Promise.resolve(renderSpecial(ctx, component, status, withApp));
      } catch (failure) {
        if (!withApp) console.error("The error page failed too:", failure);
      }
    }
    return Promise.resolve(
      new Response("Internal Server Error", {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      }),
    );
  };

  const runRoute = async (
    ctx: RequestContext,
    route: Route,
  ): Promise<Response> => {
    // Errors propagate through the middlewares (which may turn them into
    // their own answers) to the one place that renders the error page.
    const method = ctx.req.method;
    const handler = route.handler;
    let fn: HandlerFn | undefined;
    if (typeof handler === "function") {
      fn = handler;
    } else if (handler !== null) {
      fn = handler[method as Method] ??
        (method === "HEAD" ? handler.GET : undefined);
    } else if (method === "GET" || method === "HEAD") {
      return renderRoute(ctx, route, undefined, undefined);
    }
    if (fn === undefined) {
      const allow = route.allow ?? "";
      if (method === "OPTIONS") {
        return new Response(null, { status: 204, headers: { allow } });
      }
      return new Response(
        `The method ${method} is not allowed at ${ctx.url.pathname}; use ${allow}.`,
        {
          status: 405,
          headers: { allow, "content-type": "text/plain; charset=utf-8" },
        },
      );
    }
    const result = await fn(ctx);
    if (result instanceof Response) return result;
    if (isPageResult(result)) {
      return renderRoute(ctx, route, result.data, {
        status: result.status,
        headers: result.headers,
      });
    }
    throw new Error(
      `The ${method} handler of ${route.file} returned ${
        result === undefined ? "nothing" : typeof result
      }; return a Response, page(data) or ctx.render().`,
    );
  };

  const renderContent = (
    ctx: RequestContext,
    content: unknown,
    init: ResponseInit | undefined,
  ): Promise<Response> => {
    const route = ctx.matched as Route | null;
    return Promise.resolve(renderRoute(ctx, route, content, init));
  };

  return async (req, info = TEST_INFO) => {
    const url = new URL(req.url);
    const pathname = url.pathname;
    if (devScript !== undefined && pathname === LIVE_RELOAD_PATH) {
      return liveReloadResponse(req, build.id);
    }
    const state: State = stateFactory ? { ...stateFactory() } : {};
    const method = req.method;
    const file = method === "GET" || method === "HEAD"
      ? findFile(build, pathname)
      : undefined;
    const match = file === undefined ? router.match(pathname) : null;
    const ctx = new RequestContext<State>(
      req,
      url,
      info,
      state,
      match?.params ?? {},
      match?.route.pattern ?? null,
      file !== undefined
        ? (pathname.startsWith("/_fresh/") ? "internal" : "static")
        : match !== null
        ? "route"
        : "notFound",
      renderContent,
    );
    ctx.matched = match?.route ?? null;
    let response: Response;
    try {
      response = await (match !== null
        ? ctx.run(match.route.middlewares, () =>
          runRoute(ctx, match.route))
        : ctx.run(
          router.middlewaresFor(pathname),
          file !== undefined
            ? () => Promise.resolve(serveFile(req, url, file))
            : () => renderNotFound(ctx),
        ));
    } catch (error) {
      response = await renderError(ctx, error);
    }
    if (
      method === "HEAD" && response.body !== null && response.status !== 101
    ) {
      await response.body.cancel();
      response = new Response(null, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    return response;
  };
}

function Empty(): null {
  return null;
}
