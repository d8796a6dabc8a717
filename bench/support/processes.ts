/**
 * Child processes for the benchmarks: each server runs in its own process,
 * started through `sh` so that its open-file limit can be raised to the hard
 * limit (thousands of sockets), and announces itself with a line on stdout.
 *
 * @module
 */

/** A started child process. */
export interface Child {
  name: string;
  pid: number;
  /** Everything it printed so far (stdout and stderr), for error messages. */
  output(): string;
  /** Resolves with the first stdout line that matches, or rejects when it exits or times out. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Stops it (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  /** Resolves when it exits. */
  exited: Promise<Deno.CommandStatus>;
}

/** Options of {@linkcode spawn}. */
export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Lines to write to its stdin are sent through `send`. */
  stdin?: boolean;
}

const RAISE_FILE_LIMIT =
  'ulimit -n "$(ulimit -Hn)" 2>/dev/null || true; exec "$@"';
const DECODER = new TextDecoder();

/** Starts `cmd args...` with its open-file limit raised to the hard limit. */
export function spawn(
  name: string,
  cmd: string,
  args: string[],
  options: SpawnOptions = {},
): Child & { send(line: string): Promise<void> } {
  const process = new Deno.Command("sh", {
    args: ["-c", RAISE_FILE_LIMIT, "sh", cmd, ...args],
    cwd: options.cwd,
    env: options.env,
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const waiters: { pattern: RegExp; resolve(m: RegExpMatchArray): void }[] = [];
  const lines: string[] = [];
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    isStdout: boolean,
  ) => {
    let partial = "";
    for await (const chunk of stream) {
      const text = DECODER.decode(chunk, { stream: true });
      log = (log + text).slice(-20_000);
      if (!isStdout) continue;
      partial += text;
      let newline;
      while ((newline = partial.indexOf("\n")) >= 0) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        lines.push(line);
        for (const waiter of [...waiters]) {
          const match = line.match(waiter.pattern);
          if (match) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(match);
          }
        }
      }
    }
  };
  const pumps = Promise.all([
    pump(process.stdout, true),
    pump(process.stderr, false),
  ]);
  const exited = process.status.then(async (status) => {
    await pumps.catch(() => {});
    return status;
  });
  const writer = options.stdin ? process.stdin.getWriter() : null;
  let stopping: Promise<void> | null = null;
  return {
    name,
    pid: process.pid,
    exited,
    output: () => log,
    waitFor(pattern, timeoutMs) {
      const seen = lines.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen.match(pattern)!);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `${name} did not print ${pattern} within ${timeoutMs} ms. Its output:\n${log}`,
            ),
          );
        }, timeoutMs);
        waiters.push({
          pattern,
          resolve: (match) => {
            clearTimeout(timer);
            resolve(match);
          },
        });
        exited.then((status) => {
          clearTimeout(timer);
          reject(
            new Error(
              `${name} exited with code ${status.code}. Its output:\n${log}`,
            ),
          );
        });
      });
    },
    async send(line: string) {
      if (!writer) throw new Error(`${name} was started without stdin.`);
      await writer.write(new TextEncoder().encode(line + "\n"));
    },
    stop() {
      stopping ??= (async () => {
        try {
          process.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            process.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, 3000);
        await exited;
        clearTimeout(timer);
        await writer?.close().catch(() => {});
      })();
      return stopping;
    },
  };
}

/** A free loopback TCP port (the OS picks it; it is released at once for the child to take). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** The resident memory of a process in bytes, from /proc/<pid>/status (VmRSS). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`/proc/${pid}/status has no VmRSS line.`);
  return Number(match[1]) * 1024;
}
