/**
 * Builds the routing table from the manifest once, at start: static paths in a
 * Map, dynamic ones as URLPatterns in Fresh's order, and for every route its
 * middleware chain and layouts precomputed, so a request does no tree walking.
 *
 * @module
 */

import type { ComponentType } from "preact";
import {
  compareRoutePatterns,
  isDynamicPattern,
  parseRouteFile,
  type RouteFile,
  type RoutePattern,
  routePattern,
} from "./route_path.ts";
import type {
  HandlerFn,
  Manifest,
  Method,
  Middleware,
  RouteConfig,
} from "./types.ts";

// deno-lint-ignore no-explicit-any
type AnyComponent = ComponentType<any>;

const METHODS: ReadonlySet<string> = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
]);

/** A page component with the options that decide how it is wrapped. */
export interface Layout {
  component: AnyComponent;
  config: RouteConfig;
}

/** One route, ready to serve. */
export interface Route {
  file: string;
  pattern: string;
  urlPattern: URLPattern | null;
  component: AnyComponent | null;
  /** One function for every method, or one per method. */
  handler: HandlerFn | Partial<Record<Method, HandlerFn>> | null;
  /** The Allow header for this route (null when one function takes every method). */
  allow: string | null;
  middlewares: Middleware[];
  /** Outermost first. */
  layouts: AnyComponent[];
  app: AnyComponent | null;
}

/** A route match. */
export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

interface Folder {
  middlewares: Middleware[];
  layout: Layout | null;
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<
  string,
  string
>;

/** The routing table of one manifest. */
export class Router {
  readonly #static = new Map<string, Route>();
  readonly #dynamic: Route[] = [];
  /** Folder URL path (groups excluded) -> middleware chain, for unmatched paths. */
  readonly #chains = new Map<string, Middleware[]>();
  readonly app: AnyComponent | null;
  readonly notFoundPage: AnyComponent | null;
  readonly errorPage: AnyComponent | null;

  constructor(manifest: Manifest) {
    const files: RouteFile[] = [];
    for (const file of Object.keys(manifest.routes)) {
      const parsed = parseRouteFile(file);
      if (parsed) files.push(parsed);
    }
    const folders = new Map<string, Folder>();
    const folder = (dirs: string[]): Folder => {
      const key = dirs.join("/");
      let entry = folders.get(key);
      if (!entry) {
        entry = { middlewares: [], layout: null };
        folders.set(key, entry);
      }
      return entry;
    };
    let app: AnyComponent | null = null;
    let notFound: AnyComponent | null = null;
    let error: AnyComponent | null = null;
    for (const file of files) {
      const module = manifest.routes[file.file];
      switch (file.special) {
        case "_middleware":
          folder(file.dirs).middlewares.push(...middlewaresOf(file, module));
          break;
        case "_layout":
          folder(file.dirs).layout = {
            component: componentOf(file, module, true)!,
            config: (module.config ?? {}) as RouteConfig,
          };
          break;
        case "_app":
          if (file.dirs.length === 0) app = componentOf(file, module, true);
          break;
        case "_404":
          if (file.dirs.length === 0) {
            notFound = componentOf(file, module, true);
          }
          break;
        case "_500":
          if (file.dirs.length === 0) error = componentOf(file, module, true);
          break;
      }
    }
    this.app = app;
    this.notFoundPage = notFound;
    this.errorPage = error;

    const dynamic: { route: Route; pattern: RoutePattern }[] = [];
    for (const file of files) {
      if (file.special !== null) continue;
      const module = manifest.routes[file.file];
      const config = (module.config ?? {}) as RouteConfig;
      const derived = routePattern(file.dirs, file.name);
      const pattern = config.routeOverride ?? derived.pattern;
      const isStatic = config.routeOverride === undefined
        ? derived.isStatic
        : !isDynamicPattern(config.routeOverride);
      const route = createRoute(file, module, pattern);
      route.middlewares = chainFor(folders, file.dirs);
      const layouts = layoutsFor(folders, file.dirs, config);
      route.layouts = layouts.components;
      route.app = config.skipAppWrapper || layouts.skipApp ? null : app;
      if (isStatic) {
        if (this.#static.has(pattern)) {
          console.warn(
            `Routes ${
              this.#static.get(pattern)!.file
            } and ${file.file} both serve ${pattern}; the first one wins.`,
          );
          continue;
        }
        this.#static.set(pattern, route);
      } else {
        route.urlPattern = new URLPattern({ pathname: pattern });
        dynamic.push({ route, pattern: derived });
      }
    }
    dynamic.sort((a, b) => compareRoutePatterns(a.pattern, b.pattern));
    for (const { route } of dynamic) this.#dynamic.push(route);

    // Chains for paths that match no route: folders outside groups, by URL path.
    for (const key of folders.keys()) {
      const dirs = key === "" ? [] : key.split("/");
      if (dirs.some((dir) => dir.startsWith("("))) continue;
      this.#chains.set("/" + dirs.join("/"), chainFor(folders, dirs));
    }
  }

  /** The route for a pathname: static paths first, then dynamic ones in order. */
  match(pathname: string): RouteMatch | null {
    const exact = this.#static.get(pathname);
    if (exact !== undefined) return { route: exact, params: NO_PARAMS };
    if (pathname.length > 1 && pathname.endsWith("/")) {
      const trimmed = this.#static.get(pathname.slice(0, -1));
      if (trimmed !== undefined) return { route: trimmed, params: NO_PARAMS };
    }
    for (let i = 0; i < this.#dynamic.length; i++) {
      const route = this.#dynamic[i];
      const result = route.urlPattern!.exec({ pathname });
      if (result === null) continue;
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(result.pathname.groups)) {
        params[name] = value === undefined ? "" : safeDecode(value);
      }
      return { route, params };
    }
    return null;
  }

  /**
   * Middlewares for a path no route matched (static files, 404s): those of the
   * deepest folder whose URL path is a prefix of the pathname, root included.
   */
  middlewaresFor(pathname: string): Middleware[] {
    let path = pathname.length > 1 && pathname.endsWith("/")
      ? pathname.slice(0, -1)
      : pathname;
    while (true) {
      const chain = this.#chains.get(path === "" ? "/" : path);
      if (chain !== undefined) return chain;
      if (path === "" || path === "/") return [];
      path = path.slice(0, path.lastIndexOf("/"));
    }
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function chainFor(folders: Map<string, Folder>, dirs: string[]): Middleware[] {
  const chain: Middleware[] = [];
  for (let depth = 0; depth <= dirs.length; depth++) {
    const entry = folders.get(dirs.slice(0, depth).join("/"));
    if (entry) chain.push(...entry.middlewares);
  }
  return chain;
}

function layoutsFor(
  folders: Map<string, Folder>,
  dirs: string[],
  config: RouteConfig,
): { components: AnyComponent[]; skipApp: boolean } {
  let layouts: Layout[] = [];
  for (let depth = 0; depth <= dirs.length; depth++) {
    const layout = folders.get(dirs.slice(0, depth).join("/"))?.layout;
    if (!layout) continue;
    if (layout.config.skipInheritedLayouts) layouts = [];
    layouts.push(layout);
  }
  if (config.skipInheritedLayouts) {
    const own = folders.get(dirs.join("/"))?.layout;
    layouts = own ? [own] : [];
  }
  return {
    components: layouts.map((layout) => layout.component),
    skipApp: layouts.some((layout) => layout.config.skipAppWrapper),
  };
}

function createRoute(
  file: RouteFile,
  module: Record<string, unknown>,
  pattern: string,
): Route {
  const component = componentOf(file, module, false);
  const handler = handlerOf(file, module);
  if (handler === null && component === null) {
    throw new Error(
      `Route ${file.file} exports neither a handler nor a default component. Export \`handler\` or a default page component.`,
    );
  }
  let allow: string | null;
  if (typeof handler === "function") {
    allow = null;
  } else if (handler === null) {
    allow = "GET, HEAD, OPTIONS";
  } else {
    const methods = new Set(Object.keys(handler));
    if (methods.has("GET")) methods.add("HEAD");
    methods.add("OPTIONS");
    allow = [...METHODS].filter((method) => methods.has(method)).join(", ");
  }
  return {
    file: file.file,
    pattern,
    urlPattern: null,
    component,
    handler,
    allow,
    middlewares: [],
    layouts: [],
    app: null,
  };
}

function componentOf(
  file: RouteFile,
  module: Record<string, unknown>,
  required: boolean,
): AnyComponent | null {
  const component = module.default;
  if (typeof component === "function") return component as AnyComponent;
  if (required) {
    throw new Error(
      `${file.file} must export a default component.`,
    );
  }
  return null;
}

function handlerOf(
  file: RouteFile,
  module: Record<string, unknown>,
): HandlerFn | Partial<Record<Method, HandlerFn>> | null {
  const handler = module.handler ?? module.handlers;
  if (handler === undefined || handler === null) return null;
  if (typeof handler === "function") {
    checkArity(file, handler, "handler");
    return handler as HandlerFn;
  }
  if (typeof handler !== "object") {
    throw new Error(
      `The handler of ${file.file} must be a function or an object of methods.`,
    );
  }
  for (const [method, fn] of Object.entries(handler)) {
    if (!METHODS.has(method)) {
      throw new Error(
        `The handler of ${file.file} defines "${method}", which is not an HTTP method this server routes (use ${
          [...METHODS].join(", ")
        }).`,
      );
    }
    if (typeof fn !== "function") {
      throw new Error(
        `The ${method} handler of ${file.file} is not a function.`,
      );
    }
    checkArity(file, fn, `${method} handler`);
  }
  return handler as Partial<Record<Method, HandlerFn>>;
}

function middlewaresOf(
  file: RouteFile,
  module: Record<string, unknown>,
): Middleware[] {
  const handler = module.handler ?? module.handlers;
  const list = Array.isArray(handler) ? handler : [handler];
  for (const fn of list) {
    if (typeof fn !== "function") {
      throw new Error(
        `${file.file} must export \`handler\`: a middleware function or an array of them.`,
      );
    }
    checkArity(file, fn, "middleware");
  }
  return list as Middleware[];
}

function checkArity(file: RouteFile, fn: unknown, what: string): void {
  if ((fn as (...args: unknown[]) => unknown).length > 1) {
    throw new Error(
      `The ${what} of ${file.file} takes ${
        (fn as (...args: unknown[]) => unknown).length
      } arguments, but handlers here take one: (ctx). Read the request from ctx.req (Fresh 2 style).`,
    );
  }
}
