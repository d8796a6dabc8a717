/**
 * Runs Quota Monitor as a real process (`deno run main.ts`) for tests that
 * need one: kill -9, several processes on one database, start-up errors.
 *
 * @module
 */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const STARTUP_MS = 30_000;

// Only what Deno itself needs: no QUOTA_* setting of the test's own
// environment may leak into the server under test.
const INHERITED = ["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME", "TMPDIR"];

function inherited(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** A server process. */
export interface ServerProcess {
  url: string;
  pid: number;
  /** Sends a signal and waits for the process to end. */
  kill(signal?: Deno.Signal): Promise<void>;
}

/** Runs main.ts with the given environment and no other settings. */
export function runMain(
  env: Record<string, string>,
  permissions: string[] = ["-A"],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MAIN],
    env: { ...inherited(), NO_COLOR: "1", ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Starts a server process on a random port and waits until it listens. */
export async function startServerProcess(
  env: Record<string, string>,
): Promise<ServerProcess> {
  const child = runMain({ PORT: "0", HOST: "127.0.0.1", ...env });
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const timer = setTimeout(() => child.kill("SIGKILL"), STARTUP_MS);
  let url: string | null = null;
  while (url === null) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value;
    url = /listening on (http:\/\/[^/\s]+)/.exec(seen)?.[1] ?? null;
  }
  clearTimeout(timer);
  // Keep draining stdout so the child never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  const stderr = child.stderr.pipeThrough(new TextDecoderStream());
  const errors: string[] = [];
  stderr.pipeTo(
    new WritableStream({ write: (chunk) => void errors.push(chunk) }),
  ).catch(() => {});
  if (url === null) {
    await child.status;
    throw new Error(
      `The server did not start: ${seen}${errors.join("")}`.slice(0, 2000),
    );
  }
  return {
    url,
    pid: child.pid,
    async kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already gone.
      }
      await child.status;
    },
  };
}

/** A JSON request with an admin token: GET without a body, POST with one. */
export function adminRequest(
  url: string,
  token: string,
  path: string,
  body?: unknown,
): Promise<Response> {
  return fetch(`${url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}
