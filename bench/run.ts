/**
 * `deno task bench`: every benchmark of Quota Monitor on loopback, with
 * bounded load, in one run that stops by itself (about seven minutes on two
 * cores). Prints a table and regenerates docs/BENCHMARKS.md.
 *
 * 1. Proxy overhead: wrk against the same lean upstream reached directly,
 *    through a bare Deno passthrough, through Quota Monitor (limits active,
 *    usage recorded in a file-backed Deno KV) and through the Portkey gateway
 *    (npm, installed into a temporary folder).
 * 2. Streaming: time to first and last byte of a 200-chunk answer.
 * 3. Admission in-process (`deno bench bench/admission_bench.ts`).
 * 4. Scale-out through Redis: admission latency through the Redis store
 *    (in-process loop), and the throughput of two Quota Monitor instances
 *    on one Redis against one instance (wrk per instance).
 * 5. Live fan-out to 1,000 and 5,000 WebSocket clients.
 *
 * Flags: `--quick` (short runs, for trying the bench itself; the report
 * says so), `--no-write` (print only).
 *
 * @module
 */

import { describeMachine, loadAverage } from "./support/machine.ts";
import { freePort, rssBytes, spawn } from "./support/processes.ts";
import type { Child } from "./support/processes.ts";
import { hasWrk, runWrk } from "./support/wrk.ts";
import type { WrkResult } from "./support/wrk.ts";
import { percentile } from "./support/stats.ts";
import { BENCH_KEY, BENCH_MODEL, benchLimits } from "./support/bench_limits.ts";
import { probeKv } from "./support/kv_probe.ts";
import { summarizeProfileDir } from "./support/cpu_profile.ts";
import type { ProfileShare } from "./support/cpu_profile.ts";
import {
  probeRedisAdmission,
  watchRedisCommands,
} from "./support/redis_probe.ts";
import { cpuShares, cpuSnapshot } from "./support/cpu_usage.ts";
import { renderReport } from "./support/report.ts";
import type {
  AdmissionFigures,
  BenchReport,
  FanoutFigures,
  ProxyFigures,
  ScaleOutFigures,
  ScaleOutRun,
  StreamFigures,
  TargetName,
} from "./support/report.ts";
import { startRedisServer } from "../tests/support/redis_server.ts";
import type { RedisServer } from "../tests/support/redis_server.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const QUICK = Deno.args.includes("--quick");
const WRITE = !Deno.args.includes("--no-write");
const PORTKEY_PACKAGE = "@portkey-ai/gateway@1.15.2";

const PLAN = QUICK
  ? {
    seconds: 3,
    rounds: 1,
    warmupS: 1,
    streams: 60,
    streamWarmup: 10,
    events: 4,
    sizes: [1000],
    redisSamples: 1000,
    redisWarmup: 200,
  }
  : {
    seconds: 6,
    rounds: 3,
    warmupS: 3,
    streams: 400,
    streamWarmup: 50,
    events: 12,
    sizes: [1000, 5000],
    redisSamples: 5000,
    redisWarmup: 500,
  };
/** Connections that hold the fixed rates, and that saturate. */
const RATE_CONNECTIONS = 10;
const SATURATION_CONNECTIONS = 64;
const CLIENTS_PER_PROCESS = 2500;
const ADMIN_TOKEN = "bench-admin-token-0123456789abcdef";
const PROVIDER_KEY = "sk-bench-provider-key";

const REQUEST_BODY = JSON.stringify({
  model: BENCH_MODEL,
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "Why is the sky blue? Answer in one sentence." },
  ],
  max_tokens: 256,
});

const children: Child[] = [];
/** Redis servers still running, killed on an interrupt like the children. */
const redisServers = new Set<RedisServer>();
const log = (line: string) => console.log(`[bench] ${line}`);

export async function stopAll(): Promise<void> {
  for (const server of redisServers) server.killNow();
  redisServers.clear();
  await Promise.all(children.map((child) => child.stop()));
}

function deno(
  name: string,
  args: string[],
  env: Record<string, string> = {},
  stdin = false,
) {
  const child = spawn(name, Deno.execPath(), args, { cwd: ROOT, env, stdin });
  children.push(child);
  return child;
}

async function ensureWrk(): Promise<void> {
  if (await hasWrk()) return;
  log("wrk is missing; installing Debian's wrk package");
  try {
    const out = await new Deno.Command("apt-get", {
      args: ["install", "-y", "wrk"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.success && await hasWrk()) return;
  } catch {
    // Reported below.
  }
  throw new Error(
    "The benchmarks need wrk as the load generator; install it with `sudo apt-get install wrk` and run `deno task bench` again.",
  );
}

export async function startUpstream(): Promise<string> {
  return (await startUpstreamChild()).url;
}

/** Starts the lean upstream and returns its process too (for its CPU time). */
export async function startUpstreamChild(): Promise<
  { url: string; child: Child }
> {
  const port = freePort();
  const child = deno("upstream", [
    "run",
    "--allow-net",
    "bench/support/lean_upstream.ts",
    "--port",
    String(port),
    "--chunks",
    "200",
  ]);
  await child.waitFor(/^listening/, 20_000);
  return { url: `http://127.0.0.1:${port}`, child };
}

async function startBare(upstream: string): Promise<string> {
  const port = freePort();
  const child = deno("bare proxy", [
    "run",
    "--allow-net",
    "bench/support/bare_proxy.ts",
    "--port",
    String(port),
    "--upstream",
    upstream,
  ]);
  await child.waitFor(/^listening/, 20_000);
  return `http://127.0.0.1:${port}`;
}

/** Starts Quota Monitor from the environment, as an operator would, and makes a virtual key. */
async function startMonitor(
  name: string,
  upstream: string,
  dir: string,
  flags: string[] = [],
): Promise<{ url: string; secret: string; child: Child }> {
  await Deno.mkdir(dir, { recursive: true });
  const limitsFile = await writeLimitsFile(dir);
  const { url, child } = await launchMonitor(name, upstream, dir, {
    flags,
    limitsFile,
  });
  return { url, secret: await createBenchKey(url), child };
}

/** Writes the bench limits as a limits file in `dir` and returns its path. */
async function writeLimitsFile(dir: string): Promise<string> {
  const limitsFile = `${dir}/limits.json`;
  await Deno.writeTextFile(
    limitsFile,
    JSON.stringify({ limits: benchLimits() }, null, 2),
  );
  return limitsFile;
}

/** Starts Quota Monitor (`main.ts`) with its data folder in `dir`; `env` adds to its environment. */
async function launchMonitor(
  name: string,
  upstream: string,
  dir: string,
  options: {
    flags?: string[];
    limitsFile: string;
    env?: Record<string, string>;
  },
): Promise<{ url: string; child: Child }> {
  const port = freePort();
  await Deno.mkdir(dir, { recursive: true });
  const child = deno(name, ["run", "-A", ...options.flags ?? [], "main.ts"], {
    PORT: String(port),
    HOST: "127.0.0.1",
    QUOTA_DATA_DIR: `${dir}/data`,
    QUOTA_ADMIN_TOKEN: ADMIN_TOKEN,
    QUOTA_LIMITS_FILE: options.limitsFile,
    UPSTREAM_BASE_URL: `${upstream}/v1`,
    UPSTREAM_API_KEY: PROVIDER_KEY,
    ...options.env,
  });
  await child.waitFor(/listening on/, 60_000);
  return { url: `http://127.0.0.1:${port}`, child };
}

/** Creates the bench's virtual key through the admin API and returns its secret. */
async function createBenchKey(url: string): Promise<string> {
  const response = await fetch(`${url}/api/keys`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ name: BENCH_KEY }),
  });
  const created = await response.json();
  if (!response.ok || typeof created.secret !== "string") {
    throw new Error(
      `Quota Monitor did not create the bench key: ${JSON.stringify(created)}`,
    );
  }
  return created.secret;
}

/** Installs and starts Portkey; null with the reason when it cannot. */
async function startPortkey(
  upstream: string,
  dir: string,
): Promise<{ url: string } | { skipped: string }> {
  log(`installing ${PORTKEY_PACKAGE} into ${dir} (npm)`);
  try {
    const out = await new Deno.Command("npm", {
      args: [
        "install",
        "--prefix",
        dir,
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        PORTKEY_PACKAGE,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(240_000),
    }).output();
    if (!out.success) {
      return {
        skipped: `npm install ${PORTKEY_PACKAGE} failed: ${
          new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3)
            .join(" ")
        }`,
      };
    }
  } catch (error) {
    return {
      skipped: `npm install ${PORTKEY_PACKAGE} could not run: ${
        (error as Error).message
      }`,
    };
  }
  const port = freePort();
  const child = spawn("portkey", "node", [
    `${dir}/node_modules/@portkey-ai/gateway/build/start-server.js`,
    `--port=${port}`,
    "--headless",
  ], { cwd: dir, env: { NODE_ENV: "production" } });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: portkeyHeaders(upstream),
        body: REQUEST_BODY,
      });
      const text = await response.text();
      if (response.ok) return { url };
      if (i > 20) {
        return {
          skipped: `Portkey answered ${response.status}: ${text.slice(0, 200)}`,
        };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { skipped: `Portkey did not start: ${child.output().slice(-300)}` };
}

function portkeyHeaders(upstream: string): Record<string, string> {
  return {
    "content-type": "application/json",
    authorization: `Bearer ${PROVIDER_KEY}`,
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": `${upstream}/v1`,
  };
}

interface Target {
  name: TargetName;
  url: string;
  headers: Record<string, string>;
}

/** The run whose p50 is the median of the rounds (all its figures are reported together). */
function medianRun(runs: WrkResult[]): WrkResult {
  const sorted = [...runs].sort((a, b) => a.latencyMs.p50 - b.latencyMs.p50);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Measures every target in every scenario. Targets take turns within each
 * round, and each figure is the median round, so that a passing burst of
 * other work on the machine does not land on one target alone.
 */
async function measureTargets(targets: Target[]): Promise<ProxyFigures[]> {
  const base = (target: Target) => ({
    url: `${target.url}/v1/chat/completions`,
    body: REQUEST_BODY,
    headers: target.headers,
    threads: 1,
  });
  for (const target of targets) {
    // Warm up the JIT, connection pools and caches before anything counts.
    const warm = await runWrk({
      ...base(target),
      connections: 8,
      durationS: PLAN.warmupS,
      delayMs: 0,
    });
    if (warm.errors > 0) {
      throw new Error(
        `${target.name}: ${warm.errors} of ${warm.requests} warm-up requests failed.`,
      );
    }
  }
  const rounds = async (
    label: string,
    connections: number,
    delayFor: (target: Target) => number,
  ): Promise<Map<Target, WrkResult>> => {
    const runs = new Map<Target, WrkResult[]>(targets.map((t) => [t, []]));
    for (let round = 0; round < PLAN.rounds; round++) {
      for (const target of targets) {
        runs.get(target)!.push(
          await runWrk({
            ...base(target),
            connections,
            durationS: PLAN.seconds,
            delayMs: delayFor(target),
          }),
        );
      }
    }
    const chosen = new Map<Target, WrkResult>();
    for (const [target, results] of runs) {
      const run = medianRun(results);
      chosen.set(target, run);
      log(
        `${target.name.padEnd(8)} ${label.padEnd(9)} ${
          run.rate.toFixed(0).padStart(6)
        } req/s  p50 ${run.latencyMs.p50.toFixed(3)} ms  p99 ${
          run.latencyMs.p99.toFixed(3)
        } ms  errors ${run.errors}  (median of ${results.length})`,
      );
    }
    return chosen;
  };
  const one = await rounds("one", 1, () => 0);
  // The pause per connection that holds the rate, less the time a request itself takes.
  const pause = (rate: number) => (target: Target) =>
    Math.max(
      1,
      (RATE_CONNECTIONS * 1000) / rate - one.get(target)!.latencyMs.mean - 0.1,
    );
  const at200 = await rounds("at200", RATE_CONNECTIONS, pause(200));
  const at500 = await rounds("at500", RATE_CONNECTIONS, pause(500));
  const saturated = await rounds("saturated", SATURATION_CONNECTIONS, () => 0);
  return targets.map((target) => ({
    target: target.name,
    one: one.get(target)!,
    at200: at200.get(target)!,
    at500: at500.get(target)!,
    saturated: saturated.get(target)!,
  }));
}

async function measureStream(target: Target): Promise<StreamFigures> {
  const headerArgs = Object.entries(target.headers).map(([k, v]) =>
    `${k}: ${v}`
  );
  const child = deno(`stream client (${target.name})`, [
    "run",
    "--allow-net",
    "bench/support/stream_client.ts",
    `${target.url}/v1/chat/completions`,
    String(PLAN.streams),
    String(PLAN.streamWarmup),
    ...headerArgs,
  ]);
  const [line] = await child.waitFor(/^BENCH_JSON .*/, 300_000);
  await child.exited;
  const raw = JSON.parse(line.slice("BENCH_JSON ".length));
  const figures: StreamFigures = {
    target: target.name,
    count: raw.firstByteMs.length,
    bytes: raw.bytes,
    firstByte: {
      p50: percentile(raw.firstByteMs, 50),
      p99: percentile(raw.firstByteMs, 99),
    },
    lastByte: {
      p50: percentile(raw.lastByteMs, 50),
      p99: percentile(raw.lastByteMs, 99),
    },
  };
  log(
    `stream ${target.name.padEnd(8)} first byte p50 ${
      figures.firstByte.p50.toFixed(3)
    } ms p99 ${figures.firstByte.p99.toFixed(3)} ms; last byte p50 ${
      figures.lastByte.p50.toFixed(3)
    } ms p99 ${figures.lastByte.p99.toFixed(3)} ms`,
  );
  return figures;
}

async function measureAdmission(): Promise<AdmissionFigures[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["bench", "-A", "--json", "bench/admission_bench.ts"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `deno bench failed: ${new TextDecoder().decode(out.stderr)}${text}`,
    );
  }
  const json = JSON.parse(text.slice(text.indexOf("{")));
  const figures: AdmissionFigures[] = [];
  for (const bench of json.benches) {
    const ok = bench.results?.[0]?.ok;
    if (!ok) continue;
    const batch = Number(bench.name.match(/x(\d+) concurrent/)?.[1] ?? 1);
    const perDecisionNs = ok.avg / batch;
    figures.push({
      name: bench.name,
      group: bench.group ?? "",
      batch,
      perDecisionUs: perDecisionNs / 1000,
      p99IterUs: ok.p99 / 1000,
      decisionsPerSecond: 1e9 / perDecisionNs,
    });
    log(
      `admission ${bench.name}: ${
        (perDecisionNs / 1000).toFixed(2)
      } µs/decision, ${(1e9 / perDecisionNs).toFixed(0)} decisions/s`,
    );
  }
  return figures;
}

export async function measureFanout(
  upstream: string,
  dir: string,
): Promise<FanoutFigures[]> {
  const results: FanoutFigures[] = [];
  // A fresh server per size, so that its memory growth is this size's alone.
  for (const size of PLAN.sizes) {
    const monitor = await startMonitor(
      `quota monitor (fan-out ${size})`,
      upstream,
      `${dir}/${size}`,
    );
    const wsUrl = `${monitor.url.replace("http", "ws")}/api/quota/ws`;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const before = await rssBytes(monitor.child.pid);
      const groups: (Child & { send(line: string): Promise<void> })[] = [];
      const connectStarted = performance.now();
      for (let offset = 0; offset < size; offset += CLIENTS_PER_PROCESS) {
        const count = Math.min(CLIENTS_PER_PROCESS, size - offset);
        const child = spawn(`ws clients ${offset}+${count}`, Deno.execPath(), [
          "run",
          "--allow-net",
          "bench/support/ws_clients.ts",
          wsUrl,
          String(count),
          monitor.url,
          ADMIN_TOKEN,
        ], { cwd: ROOT, stdin: true });
        children.push(child);
        groups.push(child);
      }
      await Promise.all(groups.map((g) => g.waitFor(/^ready/, 180_000)));
      const connectMs = performance.now() - connectStarted;
      await new Promise((r) => setTimeout(r, 1500));
      const after = await rssBytes(monitor.child.pid);
      const lastMs: number[] = [];
      const everyMs: number[] = [];
      for (let e = 0; e < PLAN.events; e++) {
        const id = `bench-evt-${size}-${e}-${crypto.randomUUID().slice(0, 8)}`;
        const arrivals = groups.map((g) =>
          g.waitFor(new RegExp(`^BENCH_EVENT .*"${id}".*$`), 60_000)
        );
        await Promise.all(groups.map(async (g) => {
          const ready = g.waitFor(new RegExp(`^expecting ${id}`), 10_000);
          await g.send(`expect ${id}`);
          await ready;
        }));
        const t0 = performance.timeOrigin + performance.now();
        const response = await fetch(`${monitor.url}/api/quota/usage`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            "content-type": "application/json",
          },
          body: JSON.stringify({
            id,
            key: BENCH_KEY,
            model: BENCH_MODEL,
            input_tokens: 12,
            output_tokens: 30,
          }),
        });
        if (!response.ok) {
          throw new Error(`The usage report failed: ${await response.text()}`);
        }
        await response.body?.cancel();
        const times = (await Promise.all(arrivals)).flatMap(([line]) =>
          JSON.parse(line.slice("BENCH_EVENT ".length)).times as number[]
        );
        lastMs.push(Math.max(...times) - t0);
        for (const t of times) everyMs.push(t - t0);
        // Past the hub's coalescing window, so each event is a change after a quiet spell.
        await new Promise((r) => setTimeout(r, 400));
      }
      const figures: FanoutFigures = {
        clients: size,
        events: PLAN.events,
        connectMs,
        last: { p50: percentile(lastMs, 50), p99: percentile(lastMs, 99) },
        every: { p50: percentile(everyMs, 50), p99: percentile(everyMs, 99) },
        bytesPerClient: (after - before) / size,
      };
      log(
        `fan-out ${size} clients: last client p50 ${
          figures.last.p50.toFixed(1)
        } ms p99 ${figures.last.p99.toFixed(1)} ms; ${
          (figures.bytesPerClient / 1024).toFixed(1)
        } KiB per connection`,
      );
      results.push(figures);
      await Promise.all(groups.map((g) => g.send("quit").catch(() => {})));
      await Promise.all(groups.map((g) => g.stop()));
    } finally {
      await monitor.child.stop();
    }
  }
  return results;
}

/**
 * Scale-out through Redis: admission latency through the Redis store (an
 * in-process loop), then the throughput of one Quota Monitor instance and of
 * two, both on the same Redis, upstream and limits file, each saturated by
 * its own wrk. The rounds alternate one and two instances, and each figure is
 * the median round by total rate. Every process shares this machine's cores.
 */
export async function measureScaleOut(
  upstream: { url: string; child: Child },
  dir: string,
  cores: number,
): Promise<ScaleOutFigures> {
  const redis = await startRedisServer();
  redisServers.add(redis);
  const monitors: Child[] = [];
  let commands: Awaited<ReturnType<typeof watchRedisCommands>> | null = null;
  try {
    const probe = await probeRedisAdmission(
      redis.url,
      PLAN.redisSamples,
      PLAN.redisWarmup,
    );
    log(
      `redis ${probe.redisVersion}: PING p50 ${
        probe.ping.p50.toFixed(3)
      } ms; store.reserve p50 ${probe.reserve.p50.toFixed(3)} ms p99 ${
        probe.reserve.p99.toFixed(3)
      } ms (script ${probe.reserveServerMs.toFixed(3)} ms in Redis); ` +
        `engine admit p50 ${probe.admit.p50.toFixed(3)} ms p99 ${
          probe.admit.p99.toFixed(3)
        } ms (${probe.samples} one at a time)`,
    );
    await Deno.mkdir(dir, { recursive: true });
    const limitsFile = await writeLimitsFile(dir);
    const env = { QUOTA_REDIS_URL: redis.url };
    const a = await launchMonitor(
      "quota monitor (redis, a)",
      upstream.url,
      `${dir}/a`,
      { limitsFile, env },
    );
    monitors.push(a.child);
    // One key, made through one instance: the other finds it in Redis.
    const secret = await createBenchKey(a.url);
    const b = await launchMonitor(
      "quota monitor (redis, b)",
      upstream.url,
      `${dir}/b`,
      { limitsFile, env },
    );
    monitors.push(b.child);
    const load = (url: string, connections: number, durationS: number) =>
      runWrk({
        url: `${url}/v1/chat/completions`,
        body: REQUEST_BODY,
        headers: { authorization: `Bearer ${secret}` },
        threads: 1,
        connections,
        durationS,
        delayMs: 0,
      });
    for (const url of [a.url, b.url]) {
      const warm = await load(url, 8, PLAN.warmupS);
      if (warm.errors > 0) {
        throw new Error(
          `Quota Monitor on Redis: ${warm.errors} of ${warm.requests} warm-up requests failed.`,
        );
      }
    }
    const pids = {
      "instance a": a.child.pid,
      "instance b": b.child.pid,
      upstream: upstream.child.pid,
      redis: probe.pid,
    };
    const watcher = await watchRedisCommands(redis.url);
    commands = watcher;
    const measure = async (urls: string[]): Promise<ScaleOutRun> => {
      const stop = await watcher.start();
      const before = await cpuSnapshot(Object.values(pids));
      const instances = await Promise.all(
        urls.map((url) => load(url, SATURATION_CONNECTIONS, PLAN.seconds)),
      );
      const after = await cpuSnapshot(Object.values(pids));
      return {
        rate: instances.reduce((sum, run) => sum + run.rate, 0),
        requests: instances.reduce((sum, run) => sum + run.requests, 0),
        instances,
        cpu: cpuShares(before, after, pids, cores),
        redisCommands: await stop(),
      };
    };
    const ones: ScaleOutRun[] = [];
    const twos: ScaleOutRun[] = [];
    for (let round = 0; round < PLAN.rounds; round++) {
      ones.push(await measure([a.url]));
      twos.push(await measure([a.url, b.url]));
    }
    const median = (runs: ScaleOutRun[]) =>
      [...runs].sort((x, y) => x.rate - y.rate)[
        Math.floor((runs.length - 1) / 2)
      ];
    const one = median(ones);
    const two = median(twos);
    for (const [label, run] of [["one", one], ["two", two]] as const) {
      log(
        `redis scale-out, ${label} instance(s): ${run.rate.toFixed(0)} req/s (${
          run.instances.map((r) => r.rate.toFixed(0)).join(" + ")
        }), errors ${
          run.instances.reduce((n, r) => n + r.errors, 0)
        }; cores busy ${run.cpu.busy.toFixed(2)}: ${
          Object.entries(run.cpu.byName).map(([name, used]) =>
            `${name} ${used.toFixed(2)}`
          ).join(", ")
        }, rest ${run.cpu.rest.toFixed(2)}`,
      );
    }
    log(`redis scale-out ratio two/one: ${(two.rate / one.rate).toFixed(2)}×`);
    return {
      redis: probe,
      connectionsPerInstance: SATURATION_CONNECTIONS,
      one,
      two,
    };
  } finally {
    commands?.close();
    await Promise.all(monitors.map((child) => child.stop()));
    await redis.stop();
    redisServers.delete(redis);
  }
}

/** Saturates a second Quota Monitor started with --cpu-prof and splits its CPU time. */
async function profileMonitor(
  upstream: string,
  dir: string,
): Promise<{ rate: number; shares: ProfileShare[] }> {
  const profileDir = `${dir}/profile`;
  const monitor = await startMonitor(
    "quota monitor (profiled)",
    upstream,
    dir,
    [
      "--cpu-prof",
      `--cpu-prof-dir=${profileDir}`,
    ],
  );
  const base = {
    url: `${monitor.url}/v1/chat/completions`,
    body: REQUEST_BODY,
    headers: { authorization: `Bearer ${monitor.secret}` },
    threads: 1,
    delayMs: 0,
  };
  await runWrk({ ...base, connections: 8, durationS: PLAN.warmupS });
  const run = await runWrk({
    ...base,
    connections: SATURATION_CONNECTIONS,
    durationS: PLAN.seconds,
  });
  await monitor.child.stop();
  const shares = await summarizeProfileDir(profileDir);
  log(
    `profile at ${run.rate.toFixed(0)} req/s: ${
      shares.map((s) => `${s.part.split(" (")[0]} ${s.percent.toFixed(1)}%`)
        .join(", ")
    }`,
  );
  return { rate: run.rate, shares };
}

async function main(): Promise<void> {
  const started = performance.now();
  const machine = await describeMachine();
  const loadBefore = await loadAverage();
  await ensureWrk();
  const tmp = await Deno.makeTempDir({ prefix: "quota-bench-" });
  const stopOnSignal = () => {
    stopAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", stopOnSignal);
  Deno.addSignalListener("SIGTERM", stopOnSignal);
  try {
    log(
      `machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memory}, ${machine.os}, Deno ${machine.deno}`,
    );
    const kv = await probeKv(`${tmp}/probe`);
    log(
      `Deno KV file: commit p50 ${kv.commit.p50.toFixed(3)} ms, get p50 ${
        kv.get.p50.toFixed(3)
      } ms`,
    );
    const upstream = await startUpstream();
    const bare = await startBare(upstream);
    const monitor = await startMonitor(
      "quota monitor",
      upstream,
      `${tmp}/monitor`,
    );
    const portkey = await startPortkey(upstream, `${tmp}/portkey`);
    if ("skipped" in portkey) log(`Portkey skipped: ${portkey.skipped}`);
    const auth = { authorization: `Bearer ${PROVIDER_KEY}` };
    const targets: Target[] = [
      { name: "direct", url: upstream, headers: auth },
      { name: "bare", url: bare, headers: auth },
      {
        name: "quota",
        url: monitor.url,
        headers: { authorization: `Bearer ${monitor.secret}` },
      },
    ];
    if ("url" in portkey) {
      targets.push({
        name: "portkey",
        url: portkey.url,
        headers: portkeyHeaders(upstream),
      });
    }
    const proxy = await measureTargets(targets);
    const profile = await profileMonitor(upstream, `${tmp}/profiled`);
    const streams: StreamFigures[] = [];
    for (const target of targets.filter((t) => t.name !== "portkey")) {
      streams.push(await measureStream(target));
    }
    await stopAll();
    children.length = 0;
    const admission = await measureAdmission();
    const upstream2 = await startUpstreamChild();
    const scaleOut = await measureScaleOut(
      upstream2,
      `${tmp}/scale-out`,
      machine.cores,
    );
    const fanout = await measureFanout(upstream2.url, `${tmp}/fanout`);
    const report: BenchReport = {
      machine,
      quick: QUICK,
      loadBefore,
      loadAfter: await loadAverage(),
      plan: {
        seconds: PLAN.seconds,
        rounds: PLAN.rounds,
        rateConnections: RATE_CONNECTIONS,
        saturationConnections: SATURATION_CONNECTIONS,
        streams: PLAN.streams,
        events: PLAN.events,
        redisSamples: PLAN.redisSamples,
      },
      kv,
      proxy,
      profile,
      portkeySkipped: "skipped" in portkey ? portkey.skipped : null,
      streams,
      admission,
      scaleOut,
      fanout,
      durationS: (performance.now() - started) / 1000,
    };
    const { table, markdown } = renderReport(report);
    console.log("\n" + table);
    if (WRITE) {
      await Deno.writeTextFile(`${ROOT}docs/BENCHMARKS.md`, markdown);
      // The repository's format check covers docs/ too.
      await new Deno.Command(Deno.execPath(), {
        args: ["fmt", "--quiet", "docs/BENCHMARKS.md"],
        cwd: ROOT,
      }).output();
      log("wrote docs/BENCHMARKS.md");
    }
  } finally {
    await stopAll();
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  try {
    await main();
  } catch (error) {
    console.error(`The benchmark run failed: ${(error as Error).message}`);
    await stopAll();
    Deno.exit(1);
  }
}
