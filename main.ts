/**
 * The production entry of Quota Monitor: builds the request handler from the
 * generated manifest and serves it. `_fresh/server.ts` (written by
 * `deno task build`) calls `main()` with the embedded build; tests call
 * `startServer()` in-process on port 0.
 *
 * @module
 */

import manifest from "./fresh.gen.ts";
import { ConfigError, loadConfig } from "./lib/config.ts";
import type { Config } from "./lib/config.ts";
import { createServices } from "./lib/services.ts";
import type { ServiceOptions, Services } from "./lib/services.ts";
import {
  type AppHandler,
  type Build,
  createApp,
  emptyBuild,
  loadBuild,
} from "./lib/fresh/mod.ts";

/** Options of {@linkcode createHandler}. */
export interface HandlerOptions {
  /** The client build; by default `_fresh/snapshot.ts` when it exists. */
  build?: Build;
  /** Called per request; its properties are copied into every `ctx.state`. */
  state?: () => Record<string, unknown>;
  /** Dev mode (live reload). */
  dev?: boolean;
}

/** Options of {@linkcode startServer}. */
export interface ServerOptions extends HandlerOptions {
  /** Default 127.0.0.1. */
  hostname?: string;
  /** Default 8000; 0 picks a free port. */
  port?: number;
  /** Aborting it shuts the server down. */
  signal?: AbortSignal;
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running server. */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`. */
  url: string;
  addr: Deno.NetAddr;
  /** Stops accepting connections and waits for open requests to finish. */
  shutdown(): Promise<void>;
}

let warnedNoBuild = false;

/** The app's request handler (routes, islands, static files). */
export async function createHandler(
  options: HandlerOptions = {},
): Promise<AppHandler> {
  let build = options.build ?? await loadBuild(import.meta.url);
  if (build === null) {
    if (!warnedNoBuild) {
      console.warn(
        "No build in _fresh/: pages render, but islands stay static and static/ is not served. Run `deno task build`.",
      );
      warnedNoBuild = true;
    }
    build = emptyBuild();
  }
  return createApp(manifest, {
    build,
    state: options.state,
    dev: options.dev,
  });
}

/**
 * Starts the HTTP server.
 *
 * ```ts
 * const server = await startServer({ port: 0 });
 * await fetch(`${server.url}/demo`);
 * await server.shutdown();
 * ```
 */
export async function startServer(
  options: ServerOptions = {},
): Promise<RunningServer> {
  const handler = await createHandler(options);
  const { promise: listening, resolve } = Promise.withResolvers<
    Deno.NetAddr
  >();
  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 8000,
    signal: options.signal,
    onListen: (addr) => {
      resolve(addr as Deno.NetAddr);
      options.onListen?.(addr as Deno.NetAddr);
    },
  }, handler);
  const addr = await listening;
  const host = addr.hostname.includes(":")
    ? `[${addr.hostname}]`
    : addr.hostname;
  return {
    url: `http://${host}:${addr.port}`,
    addr,
    shutdown: () => server.shutdown(),
  };
}

/** How long a shutdown waits for requests in flight (streams) to finish. */
const SHUTDOWN_GRACE_MS = 10_000;

/** A running instance. */
export interface RunningMonitor {
  url: string;
  services: Services;
  /** Stops the server, then the services, and closes the store. */
  shutdown(): Promise<void>;
}

/** Options of startMonitor. */
export interface MonitorOptions {
  build?: Build;
  dev?: boolean;
  services?: ServiceOptions;
  /** Prints where it listens and shuts down cleanly on SIGINT / SIGTERM. */
  announce?: boolean;
}

/** Starts an instance from a configuration. */
export async function startMonitor(
  config: Config,
  options: MonitorOptions = {},
): Promise<RunningMonitor> {
  const services = await createServices(config, options.services);
  let server;
  try {
    server = await startServer({
      hostname: config.hostname,
      port: config.port,
      build: options.build,
      dev: options.dev,
      state: () => ({ services }),
    });
  } catch (error) {
    await services.close();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `Port ${config.port} on ${config.hostname} is in use; stop the other program or set PORT to a free port.`,
      );
    }
    throw error;
  }
  let stopping: Promise<void> | null = null;
  const shutdown = () => {
    stopping ??= (async () => {
      // Dashboards hear "going away" at once and reconnect elsewhere; open
      // requests (streams) get a bounded grace period, then everything stops.
      services.hub.close();
      let grace: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        server.shutdown(),
        new Promise((resolve) =>
          grace = setTimeout(resolve, SHUTDOWN_GRACE_MS)
        ),
      ]);
      clearTimeout(grace);
      await services.close();
    })();
    return stopping;
  };
  if (options.announce) {
    console.log(
      `Quota Monitor listening on ${server.url}/ (store: ${services.storeKind}${
        config.dataDir === ":memory:" ? ", in memory" : `, ${config.dataDir}`
      })`,
    );
    const signals = Deno.build.os === "windows"
      ? ["SIGINT"] as const
      : ["SIGINT", "SIGTERM"] as const;
    for (const signal of signals) {
      Deno.addSignalListener(signal, () => {
        shutdown().finally(() => Deno.exit(0));
      });
    }
  }
  return { url: server.url, services, shutdown };
}

/**
 * Starts the service from the environment (and `.env`, loaded by the task's
 * `--env-file`); used by `_fresh/server.ts` and `dev.ts`. A bad setting
 * stops the start with one sentence naming it.
 */
export async function main(
  options: { build?: Build; dev?: boolean } = {},
): Promise<RunningMonitor> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    Deno.exit(1);
  }
  try {
    return await startMonitor(config, { ...options, announce: true });
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}

if (import.meta.main) await main();
