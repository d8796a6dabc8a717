/**
 * A real redis-server (Debian's package) for tests and benches: started on a
 * free loopback port in a temporary folder, with persistence off unless
 * asked for, and stopped (or killed, and started again on the same port) on
 * demand.
 *
 * @example
 * const redis = await startRedisServer();
 * try { ... redis.url ... } finally { await redis.stop(); }
 *
 * @module
 */

/** How to start the server. */
export interface RedisServerOptions {
  /** Keep an append-only file in the temporary folder (false: nothing is written to disk). */
  appendOnly?: boolean;
}

/** A running (or stopped) test server. */
export interface RedisServer {
  /** redis://127.0.0.1:<port> */
  url: string;
  port: number;
  /** The server's temporary folder (its log and any AOF). */
  dir: string;
  /** True while the server process runs. */
  readonly running: boolean;
  /** Stops the server (SIGTERM) and waits for it to exit; the folder stays for `start`. */
  pause(): Promise<void>;
  /** Starts the server again on the same port (after `pause`). */
  start(): Promise<void>;
  /** Stops the server and removes its folder. */
  stop(): Promise<void>;
  /** Sends a signal to the server (SIGSTOP freezes it, SIGCONT thaws it). */
  signal(signal: Deno.Signal): void;
  /** Synchronous last-resort kill for `unload` handlers (benches). */
  killNow(): void;
}

const READY_TIMEOUT_MS = 10_000;
const PORT_ATTEMPTS = 5;

/**
 * Starts redis-server on a random free port of 127.0.0.1.
 *
 * @throws Error when redis-server is not installed (with the apt-get line to fix it).
 */
export async function startRedisServer(
  options: RedisServerOptions = {},
): Promise<RedisServer> {
  const dir = await Deno.makeTempDir({ prefix: "quota-redis-" });
  let lastError: unknown;
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = freePort();
    try {
      const child = await launch(dir, port, options);
      return handle(dir, port, options, child);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        await Deno.remove(dir, { recursive: true });
        throw new Error(
          "redis-server is not installed; install it with `apt-get install redis-server` to run the Redis tests.",
        );
      }
      lastError = error;
    }
  }
  await Deno.remove(dir, { recursive: true });
  throw lastError;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function launch(
  dir: string,
  port: number,
  options: RedisServerOptions,
): Promise<Deno.ChildProcess> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--logfile",
    "redis.log",
    "--save",
    "",
    "--appendonly",
    options.appendOnly ? "yes" : "no",
    "--daemonize",
    "no",
    "--protected-mode",
    "yes",
  ];
  const child = new Deno.Command("redis-server", {
    args,
    cwd: dir,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const exited = child.status.then(() => true);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (await Promise.race([exited, delay(20).then(() => false)])) break;
    if (await pings(port)) return child;
  }
  try {
    child.kill("SIGKILL");
  } catch { /* exited already */ }
  await child.status;
  const log = await Deno.readTextFile(`${dir}/redis.log`).catch(() => "");
  throw new Error(
    `redis-server did not start on port ${port}; its log says: ${
      log.trim().split("\n").slice(-3).join(" | ") || "(nothing)"
    }`,
  );
}

/** True when a PING on the port gets PONG (plain RESP, no client needed). */
async function pings(port: number): Promise<boolean> {
  let conn: Deno.TcpConn | undefined;
  try {
    conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode("PING\r\n"));
    const buffer = new Uint8Array(64);
    const n = await conn.read(buffer);
    return n !== null &&
      new TextDecoder().decode(buffer.subarray(0, n)).startsWith("+PONG");
  } catch {
    return false;
  } finally {
    conn?.close();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function handle(
  dir: string,
  port: number,
  options: RedisServerOptions,
  first: Deno.ChildProcess,
): RedisServer {
  let child: Deno.ChildProcess | null = first;
  const halt = async () => {
    if (!child) return;
    const current = child;
    child = null;
    try {
      current.kill("SIGTERM");
    } catch { /* exited already */ }
    await current.status;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get running() {
      return child !== null;
    },
    pause: halt,
    async start() {
      if (child) return;
      child = await launch(dir, port, options);
    },
    async stop() {
      await halt();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    signal(signal) {
      child?.kill(signal);
    },
    killNow() {
      try {
        child?.kill("SIGKILL");
      } catch { /* exited already */ }
      child = null;
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone already */ }
    },
  };
}
