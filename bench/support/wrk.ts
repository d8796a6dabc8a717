/**
 * Runs wrk (Debian's package) with bench/support/wrk_post.lua and reads the
 * figures it prints. wrk holds a fixed number of connections; a mean pause
 * between requests on each connection sets a roughly fixed rate, and the
 * rate actually reached is reported beside the latencies.
 *
 * @module
 */

/** What one wrk run measured. */
export interface WrkResult {
  requests: number;
  /** Requests per second actually reached. */
  rate: number;
  /** Non-2xx answers plus connect, read, write and timeout errors. */
  errors: number;
  latencyMs: {
    mean: number;
    p50: number;
    p90: number;
    p99: number;
    p999: number;
    max: number;
  };
}

/** One load scenario. */
export interface WrkRun {
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  threads: number;
  durationS: number;
  /** Mean pause between requests per connection, in ms; 0 runs flat out. */
  delayMs: number;
}

const SCRIPT = new URL("./wrk_post.lua", import.meta.url).pathname;

/** True when `wrk` can be run. */
export async function hasWrk(): Promise<boolean> {
  try {
    const { code } = await new Deno.Command("wrk", {
      args: ["-v"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return code === 0 || code === 1;
  } catch {
    return false;
  }
}

/** Runs wrk once and returns its figures. */
export async function runWrk(run: WrkRun): Promise<WrkResult> {
  const output = await new Deno.Command("wrk", {
    args: [
      `-t${run.threads}`,
      `-c${run.connections}`,
      `-d${run.durationS}s`,
      "--timeout",
      "10s",
      "-s",
      SCRIPT,
      run.url,
    ],
    env: {
      WRK_BODY: run.body,
      WRK_HEADERS: Object.entries(run.headers).map(([k, v]) => `${k}: ${v}`)
        .join("\n"),
      WRK_DELAY_MS: String(run.delayMs),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  const line = text.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (!output.success || !line) {
    throw new Error(
      `wrk failed against ${run.url}: ${
        new TextDecoder().decode(output.stderr)
      }${text}`,
    );
  }
  const raw = JSON.parse(line.slice("BENCH_JSON ".length));
  const e = raw.errors;
  const ms = (us: number) => us / 1000;
  return {
    requests: raw.requests,
    rate: raw.requests / (raw.duration_us / 1e6),
    errors: e.connect + e.read + e.write + e.status + e.timeout,
    latencyMs: {
      mean: ms(raw.latency_us.mean),
      p50: ms(raw.latency_us.p50),
      p90: ms(raw.latency_us.p90),
      p99: ms(raw.latency_us.p99),
      p999: ms(raw.latency_us.p999),
      max: ms(raw.latency_us.max),
    },
  };
}
