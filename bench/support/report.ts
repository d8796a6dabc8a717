/**
 * Turns the figures of one benchmark run into the console table and
 * docs/BENCHMARKS.md. Every number comes from the run; only the method and
 * the analysis around them are prose.
 *
 * @module
 */

import type { ProfileShare } from "./cpu_profile.ts";
import type { CpuShares } from "./cpu_usage.ts";
import type { KvProbe } from "./kv_probe.ts";
import type { Machine } from "./machine.ts";
import type { CommandStat, RedisAdmissionProbe } from "./redis_probe.ts";
import { fixed } from "./stats.ts";
import type { WrkResult } from "./wrk.ts";

/** The four ways of reaching the upstream. */
export type TargetName = "direct" | "bare" | "quota" | "portkey";

/** One target's wrk runs. */
export interface ProxyFigures {
  target: TargetName;
  one: WrkResult;
  at200: WrkResult;
  at500: WrkResult;
  saturated: WrkResult;
}

/** One target's streamed answers. */
export interface StreamFigures {
  target: TargetName;
  count: number;
  bytes: number;
  firstByte: { p50: number; p99: number };
  lastByte: { p50: number; p99: number };
}

/** One `deno bench` case of admission. */
export interface AdmissionFigures {
  name: string;
  group: string;
  batch: number;
  perDecisionUs: number;
  p99IterUs: number;
  decisionsPerSecond: number;
}

/** One fan-out size. */
export interface FanoutFigures {
  clients: number;
  events: number;
  connectMs: number;
  /** From the usage report to the last client. */
  last: { p50: number; p99: number };
  /** From the usage report to each client. */
  every: { p50: number; p99: number };
  bytesPerClient: number;
}

/** One saturated run of the scale-out rows: one wrk per instance, at once. */
export interface ScaleOutRun {
  /** Requests per second of all instances together. */
  rate: number;
  /** Requests answered by all instances together. */
  requests: number;
  /** Each instance's wrk figures, instance a first. */
  instances: WrkResult[];
  /** Cores each process used during the run. */
  cpu: CpuShares;
  /** What Redis ran during the run, busiest command first. */
  redisCommands: CommandStat[];
}

/** Scale-out through Redis: admission latency, and one instance against two. */
export interface ScaleOutFigures {
  redis: RedisAdmissionProbe;
  connectionsPerInstance: number;
  one: ScaleOutRun;
  two: ScaleOutRun;
}

/** Everything one run measured. */
export interface BenchReport {
  machine: Machine;
  quick: boolean;
  /** 1-minute load average before the run and at its end. */
  loadBefore: number;
  loadAfter: number;
  plan: {
    seconds: number;
    rounds: number;
    rateConnections: number;
    saturationConnections: number;
    streams: number;
    events: number;
    redisSamples: number;
  };
  kv: KvProbe;
  proxy: ProxyFigures[];
  /** Where a saturated Quota Monitor spends its time (CPU profile). */
  profile: { rate: number; shares: ProfileShare[] };
  portkeySkipped: string | null;
  streams: StreamFigures[];
  admission: AdmissionFigures[];
  scaleOut: ScaleOutFigures;
  fanout: FanoutFigures[];
  durationS: number;
}

const LABELS: Record<TargetName, string> = {
  direct: "(a) direct to the upstream",
  bare: "(b) bare Deno passthrough",
  quota: "(c) Quota Monitor",
  portkey: "(d) Portkey gateway 1.15.2",
};

type Scenario = "one" | "at200" | "at500" | "saturated";
const SCENARIOS: [Scenario, string][] = [
  ["one", "one at a time (1 connection)"],
  ["at200", "~200 req/s"],
  ["at500", "~500 req/s"],
  ["saturated", "saturated"],
];

interface Goal {
  goal: string;
  measured: string;
  met: boolean | null;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join(
    "\n",
  );
}

function find(report: BenchReport, target: TargetName) {
  return report.proxy.find((p) => p.target === target) ?? null;
}

/** Added latency of `target` over direct in one scenario, p50 and p99. */
function added(report: BenchReport, target: TargetName, scenario: Scenario) {
  const direct = find(report, "direct");
  const other = find(report, target);
  if (!direct || !other) return null;
  return {
    p50: other[scenario].latencyMs.p50 - direct[scenario].latencyMs.p50,
    p99: other[scenario].latencyMs.p99 - direct[scenario].latencyMs.p99,
  };
}

function ratio(report: BenchReport, a: TargetName, b: TargetName): number {
  const x = find(report, a);
  const y = find(report, b);
  return x && y ? x.saturated.rate / y.saturated.rate : NaN;
}

function verdict(met: boolean | null): string {
  return met === null ? "not measured" : met ? "met" : "**missed**";
}

/** The goals of issue 6 against this run's figures. */
export function goals(report: BenchReport): Goal[] {
  const one = added(report, "quota", "one");
  const at500 = added(report, "quota", "at500");
  const cb = ratio(report, "quota", "bare");
  const cd = ratio(report, "quota", "portkey");
  const quotaStream = report.streams.find((s) => s.target === "quota");
  const directStream = report.streams.find((s) => s.target === "direct");
  const ttfb = quotaStream && directStream
    ? quotaStream.firstByte.p50 - directStream.firstByte.p50
    : NaN;
  const fan = report.fanout.find((f) => f.clients === 1000);
  const ms = (n: number) => `${fixed(n, 3)} ms`;
  const redis = report.scaleOut.redis;
  const scale = scaleRatio(report.scaleOut);
  return [
    {
      goal: "added latency one at a time: p50 ≤ 0.5 ms",
      measured: one ? ms(one.p50) : "-",
      met: one ? one.p50 <= 0.5 : null,
    },
    {
      goal: "added latency one at a time: p99 ≤ 2 ms",
      measured: one ? ms(one.p99) : "-",
      met: one ? one.p99 <= 2 : null,
    },
    {
      goal: "added latency at 500 req/s: p50 ≤ 1 ms",
      measured: at500 ? ms(at500.p50) : "-",
      met: at500 ? at500.p50 <= 1 : null,
    },
    {
      goal: "added latency at 500 req/s: p99 ≤ 5 ms",
      measured: at500 ? ms(at500.p99) : "-",
      met: at500 ? at500.p99 <= 5 : null,
    },
    {
      goal: "throughput ≥ 80% of the bare passthrough (c/b)",
      measured: `${fixed(cb * 100, 0)}%`,
      met: Number.isFinite(cb) ? cb >= 0.8 : null,
    },
    {
      goal: "throughput ≥ 10× Portkey's (c/d)",
      measured: `${fixed(cd, 1)}×`,
      met: Number.isFinite(cd) ? cd >= 10 : null,
    },
    {
      goal: "added time to first byte (p50) ≤ 1 ms",
      measured: ms(ttfb),
      met: Number.isFinite(ttfb) ? ttfb <= 1 : null,
    },
    {
      goal: "fan-out to 1,000 clients: p99 ≤ 100 ms",
      measured: fan ? ms(fan.last.p99) : "-",
      met: fan ? fan.last.p99 <= 100 : null,
    },
    {
      goal: "admission through Redis on loopback (engine admit): p50 ≤ 0.3 ms",
      measured: `${ms(redis.admit.p50)} (p99 ${ms(redis.admit.p99)}; ` +
        `store.reserve p50 ${ms(redis.reserve.p50)})`,
      met: Number.isFinite(redis.admit.p50) ? redis.admit.p50 <= 0.3 : null,
    },
    {
      goal: "two instances on one Redis vs one, saturated: ≥ 1.6×",
      measured: `${fixed(scale, 2)}× (${
        fixed(report.scaleOut.two.rate, 0)
      } vs ${fixed(report.scaleOut.one.rate, 0)} req/s)`,
      met: Number.isFinite(scale) ? scale >= 1.6 : null,
    },
  ];
}

function scaleRatio(figures: ScaleOutFigures): number {
  return figures.two.rate / figures.one.rate;
}

/** Cores of Redis's one thread above which Redis, not the shared cores, limits the pair. */
const REDIS_BUSY_CORES = 0.8;

/** CPU ms the instances spent per proxied call in one scale-out run. */
function cpuMsPerCall(run: ScaleOutRun): number {
  const instances = (run.cpu.byName["instance a"] ?? 0) +
    (run.cpu.byName["instance b"] ?? 0);
  return (instances * 1000) / run.rate;
}

function scaleOutTables(figures: ScaleOutFigures) {
  const r = figures.redis;
  const admission = table(
    ["loop (one at a time)", "p50 ms", "p99 ms"],
    [
      ["PING through ioredis (the floor)", r.ping],
      [`store.reserve (${r.holds} holds, one Lua script)`, r.reserve],
      ["QuotaEngine.admit (6 limits, what a call waits for)", r.admit],
    ].map(([label, f]) => {
      const figures = f as { p50: number; p99: number };
      return [label as string, fixed(figures.p50, 3), fixed(figures.p99, 3)];
    }),
  );
  const cores = (run: ScaleOutRun, name: string) =>
    fixed(run.cpu.byName[name] ?? NaN, 2);
  const throughput = table(
    [
      "instances",
      "req/s (all)",
      "req/s per instance",
      "p50 ms",
      "p99 ms",
      "errors",
      "cores: instance a",
      "instance b",
      "upstream",
      "Redis",
      "rest (wrk, other)",
      "machine busy",
    ],
    ([["1", figures.one], ["2", figures.two]] as const).map((
      [label, run],
    ) => [
      label,
      fixed(run.rate, 0),
      run.instances.map((i) => fixed(i.rate, 0)).join(" + "),
      run.instances.map((i) => fixed(i.latencyMs.p50, 3)).join(" / "),
      run.instances.map((i) => fixed(i.latencyMs.p99, 3)).join(" / "),
      String(run.instances.reduce((n, i) => n + i.errors, 0)),
      cores(run, "instance a"),
      cores(run, "instance b"),
      cores(run, "upstream"),
      cores(run, "redis"),
      fixed(run.cpu.rest, 2),
      fixed(run.cpu.busy, 2),
    ]),
  );
  return { admission, throughput };
}

function proxyRows(report: BenchReport): string[][] {
  const rows: string[][] = [];
  for (const [scenario, label] of SCENARIOS) {
    for (const figures of report.proxy) {
      const run = figures[scenario];
      const extra = figures.target === "direct"
        ? null
        : added(report, figures.target, scenario);
      rows.push([
        label,
        LABELS[figures.target],
        fixed(run.rate, 0),
        fixed(run.latencyMs.p50, 3),
        fixed(run.latencyMs.p99, 3),
        extra ? fixed(extra.p50, 3) : "-",
        extra ? fixed(extra.p99, 3) : "-",
        String(run.errors),
      ]);
    }
  }
  return rows;
}

const PROXY_HEADER = [
  "load",
  "path",
  "req/s reached",
  "p50 ms",
  "p99 ms",
  "added p50 ms",
  "added p99 ms",
  "errors",
];

/** The console table and the Markdown document. */
export function renderReport(
  report: BenchReport,
): { table: string; markdown: string } {
  const goalRows = goals(report).map((
    g,
  ) => [g.goal, g.measured, verdict(g.met)]);
  const proxyTable = table(PROXY_HEADER, proxyRows(report));
  const directStream = report.streams.find((s) => s.target === "direct");
  const streamTable = table(
    [
      "path",
      "streams",
      "first byte p50 ms",
      "p99 ms",
      "added p50 ms",
      "last byte p50 ms",
      "p99 ms",
      "added p50 ms",
    ],
    report.streams.map((s) => [
      LABELS[s.target],
      String(s.count),
      fixed(s.firstByte.p50, 3),
      fixed(s.firstByte.p99, 3),
      directStream && s.target !== "direct"
        ? fixed(s.firstByte.p50 - directStream.firstByte.p50, 3)
        : "-",
      fixed(s.lastByte.p50, 3),
      fixed(s.lastByte.p99, 3),
      directStream && s.target !== "direct"
        ? fixed(s.lastByte.p50 - directStream.lastByte.p50, 3)
        : "-",
    ]),
  );
  const admissionTable = table(
    ["case", "decisions/s", "µs per decision", "p99 µs per iteration"],
    report.admission.map((a) => [
      a.name,
      fixed(a.decisionsPerSecond, 0),
      fixed(a.perDecisionUs, 2),
      fixed(a.p99IterUs, 1),
    ]),
  );
  const fanoutTable = table(
    [
      "clients",
      "events",
      "to last client p50 ms",
      "p99 ms",
      "to each client p50 ms",
      "p99 ms",
      "server RSS per connection",
      "time to connect all",
    ],
    report.fanout.map((f) => [
      f.clients.toLocaleString("en"),
      String(f.events),
      fixed(f.last.p50, 1),
      fixed(f.last.p99, 1),
      fixed(f.every.p50, 1),
      fixed(f.every.p99, 1),
      `${fixed(f.bytesPerClient / 1024, 1)} KiB`,
      `${fixed(f.connectMs / 1000, 1)} s`,
    ]),
  );
  const scaleOut = scaleOutTables(report.scaleOut);
  const ratios =
    `c/b (Quota Monitor / bare passthrough) = ${
      fixed(ratio(report, "quota", "bare"), 2)
    }; ` +
    `c/d (Quota Monitor / Portkey) = ${
      fixed(ratio(report, "quota", "portkey"), 1)
    }; ` +
    `b/d (bare / Portkey) = ${fixed(ratio(report, "bare", "portkey"), 1)}`;
  const console = [
    "Proxy overhead (wrk; added = target minus direct at the same load)",
    proxyTable,
    "",
    `Highest throughput: ${
      report.proxy.map((p) => `${p.target} ${fixed(p.saturated.rate, 0)} req/s`)
        .join(", ")
    }`,
    ratios,
    report.portkeySkipped ? `Portkey skipped: ${report.portkeySkipped}` : "",
    "",
    "Streaming, 200 chunks",
    streamTable,
    "",
    "Admission in-process (deno bench)",
    admissionTable,
    "",
    `Scale-out through Redis ${report.scaleOut.redis.redisVersion} on loopback`,
    scaleOut.admission,
    "",
    scaleOut.throughput,
    `two/one = ${fixed(scaleRatio(report.scaleOut), 2)}×`,
    "",
    "Live fan-out",
    fanoutTable,
    "",
    "Goals",
    table(["goal", "measured", "verdict"], goalRows),
  ].join("\n");

  const m = report.machine;
  const markdown = `# Benchmarks

Generated by \`deno task bench\` (bench/run.ts) on ${m.date}; the whole run took ${
    fixed(report.durationS / 60, 1)
  } minutes.
Every figure below comes from that run: run it again to regenerate this file.
${
    report.quick
      ? "\n> **This was a `--quick` run (short durations): use the figures only to try the bench itself.**\n"
      : ""
  }
## Machine

${
    table(["", ""], [
      ["CPU", m.cpu],
      ["cores", String(m.cores)],
      ["memory", m.memory],
      ["OS", `${m.os} (kernel ${m.kernel})`],
      ["Deno", m.deno],
      ["Node.js (for Portkey)", m.node],
      ["load generator", m.wrk],
      ["Redis (scale-out rows)", report.scaleOut.redis.redisVersion],
    ])
  }

Everything ran on this one machine over loopback: the load generator, the upstream, the proxy under test, Redis, and the clients, so they share its ${m.cores} cores. The 1-minute load average was ${
    fixed(report.loadBefore, 2)
  } when the run started and ${
    fixed(report.loadAfter, 2)
  } when it ended: anything else running on the machine (other builds and tests) competes for those cores and shows in the figures, mostly in the p99 columns.

## Goals

${table(["goal", "measured", "verdict"], goalRows)}

## Proxy overhead

The same lean OpenAI-compatible upstream (bench/support/lean_upstream.ts: every answer encoded once at start, with the provider's x-ratelimit headers) is reached four ways:

- **(a) directly**;
- **(b) through a bare Deno passthrough** (bench/support/bare_proxy.ts: \`fetch\` and return, nothing else): the platform's limit;
- **(c) through Quota Monitor**, started from the environment with \`deno run -A main.ts\`, a limits file with six limits on the gateway, the key, the model and the key with the model (none reachable), usage recorded in a file-backed Deno KV in a temporary folder, and a virtual key as the caller;
- **(d) through the Portkey AI gateway** (npm ${"`@portkey-ai/gateway@1.15.2`"}, installed by the bench into a temporary folder, run with Node.js in production mode, \`--headless\`, pointed at the same upstream with \`x-portkey-provider: openai\` and \`x-portkey-custom-host\`).${
    report.portkeySkipped
      ? ` **Skipped in this run:** ${report.portkeySkipped}`
      : ""
  }

Each request is a non-streamed chat completion (\`max_tokens\` 256). Load comes from wrk (Debian), in its own process, with one thread.
wrk holds a fixed number of connections and cannot itself hold a rate (wrk2, which can, is not packaged by Debian), so the fixed rates use ${report.plan.rateConnections} connections, each pausing a random time (uniform, mean chosen from the target's own one-at-a-time latency) between requests: the table shows the rate actually reached. Saturation uses ${report.plan.saturationConnections} connections with no pause. After a warm-up of every target, each figure is the median (by p50) of ${report.plan.rounds} round(s) of ${report.plan.seconds} s, the targets taking turns within each round, so that a passing burst of other work does not land on one target alone; the rate, p50 and p99 in a row all come from that one run. autocannon (npm) can hold a rate, but its percentiles are whole milliseconds, too coarse for sub-millisecond overheads; wrk records microseconds.
"Added" is the target's percentile minus the direct path's percentile at the same load (a difference of percentiles, not a percentile of differences).

${proxyTable}

Highest throughput (saturated): ${
    report.proxy.map((p) =>
      `${LABELS[p.target]} **${fixed(p.saturated.rate, 0)} req/s**`
    ).join("; ")
  }.

Ratios: ${ratios}.

## Streaming

A streamed chat answer of 200 chunks, each its own write by the upstream. A small Deno client in its own process (bench/support/stream_client.ts) sends ${report.plan.streams} streams one after another (after a warm-up) and times the first body byte and the last, from just before the request. The client does not ask for usage, so Quota Monitor asks the upstream for it (\`stream_options.include_usage\`), reads it from the extra chunk, removes that chunk, and commits the usage before the stream ends.

${streamTable}

## Admission in-process

\`deno bench bench/admission_bench.ts\`: one decision is \`QuotaEngine.admit\` followed by \`release\` on a \`:memory:\` Deno KV store, with the six limits above (four counters held, then freed: two atomic commits). Beside it, npm rate-limiter-flexible's \`RateLimiterMemory\` consumes one point of one limit, a plain in-memory counter with no durability and no reservation. The concurrent cases start 100 decisions at once; their time is divided by 100.

${admissionTable}

## Scale-out through Redis

${scaleOutSection(report, scaleOut)}

## Live fan-out

Quota Monitor (file-backed KV) with 1,000 and then 5,000 WebSocket clients on /api/quota/ws, opened by bench/support/ws_clients.ts in separate processes (at most 2,500 clients each; the bench raises the open-file limit to the hard limit). For each of ${report.plan.events} events the bench posts a usage report (\`POST /api/quota/usage\`) and every client notes when an update carrying that record arrives; clocks are \`performance.timeOrigin + performance.now()\` on the one machine. Events are 400 ms apart, past the hub's coalescing window, so each is a change after a quiet spell (under steady traffic an update waits up to one coalescing tick, 250 ms, by design). Memory per connection is the growth of the server's VmRSS (from /proc/<pid>/status) divided by the clients.

${fanoutTable}

## Where the time goes

${analysis(report)}
`;
  return { table: console, markdown };
}

/** The profile-based explanation, with this run's numbers. */
function analysis(report: BenchReport): string {
  const kv = report.kv;
  const floor = 2 * kv.commit.p50;
  const one = added(report, "quota", "one");
  const bareOne = added(report, "bare", "one");
  const shares = table(
    ["part", "share of the profiled process's time"],
    report.profile.shares.map((s) => [s.part, `${fixed(s.percent, 1)}%`]),
  );
  return `### One call at a time: two durable commits

Every accounted call commits to Deno KV twice before its answer ends: the admission (the estimate held against every limit, checked by versionstamp so that processes sharing the file stay exact) before anything is forwarded, and the settlement (real usage, the usage record, the per-minute rollups) before the response ends, so that a 2xx answer is never lost. Neither can move off the path without giving up one of those two promises. On this machine one atomic commit to a local file takes ${
    fixed(kv.commit.p50, 3)
  } ms at p50 (${fixed(kv.commit.p99, 3)} ms at p99) and one read ${
    fixed(kv.get.p50, 3)
  } ms, measured by this run (bench/support/kv_probe.ts). Two commits alone are ${
    fixed(floor, 3)
  } ms; the bare passthrough's own hop added ${
    bareOne ? fixed(bareOne.p50, 3) : "-"
  } ms; Quota Monitor added ${
    one ? fixed(one.p50, 3) : "-"
  } ms at p50. A goal of 0.5 ms one at a time is therefore below what two fsync'd commits cost here, and cannot be met by tuning the code around them.

The same holds for a stream's first byte: the admission commit (${
    fixed(kv.commit.p50, 3)
  } ms) comes before anything is forwarded, so the added time to first byte cannot fall below one commit plus the extra hop; the settlement commit comes before the last byte.

### Under load: where the CPU goes

A second Quota Monitor, started with \`--cpu-prof\`, was saturated with ${report.plan.saturationConnections} connections and carried ${
    fixed(report.profile.rate, 0)
  } req/s while profiled (the profiler itself costs some throughput). Self time by part:

${shares}

"Idle" is time the JavaScript thread waited: for the KV thread to finish a commit (the group committer keeps one batch in flight, so a slow fsync leaves the thread waiting), for the upstream and for the clients. The Deno runtime's HTTP server and \`fetch\` are the same work the bare passthrough does; everything else is Quota Monitor's own.

Throughput follows from the same picture: the bare passthrough's CPU goes almost all to the runtime's HTTP server and \`fetch\`; Quota Monitor does that work too, and on top of it two KV commits per call (serialization on the JavaScript thread, then a wait for the file), the proxy's parsing and token estimate, and the engine. Against Portkey on Node.js, the ratio is bounded by the same commits: a Portkey call does no durable write at all.

### What was changed after profiling

- **No reads on the write path.** The group committer (lib/store/kv_group_commit.ts) used to read every key a batch needed (\`getMany\`) before deciding and committing it: four KV round trips per call. It now remembers each key's last committed value and versionstamp, and takes a key it has never seen as absent. The commit checks every such assumption by versionstamp exactly as it checks a fresh read, so another process's write only makes that commit fail, and the batch is re-read and re-decided at once. A call now costs two KV round trips (two commits, no reads); the two- and three-process exactness tests still pass.
- **Cheaper key ids in the committer.** \`JSON.stringify\` with a replacer ran several times per operation and was about 6% of a saturated profile; a plain tagged join replaced it.
- **No SHA-256 per call.** Resolving a virtual key hashed the bearer secret with \`crypto.subtle.digest\` on every call (about 7% of a saturated profile, an async op each time). A secret resolved within the key cache's 5 s is now looked up directly; rotation and revocation still take effect at once on this instance, because the secret's entry is honoured only while the hash's cache entry it was made with is still there.

### What would close the remaining gaps

- **Admission without a commit per call:** let each process take a slice of every limit in one commit (a local lease, say 1% of the limit or one second of traffic) and admit from that slice in memory, returning what is left when the lease ends. Limits stay exact across processes, since slices are committed, and one commit serves many calls; the cost is that status shows the unused part of a slice as reserved.
- **Settlement batched harder:** settlements are already group-committed; a short wait (a fraction of a millisecond) before committing a batch that is not yet full would trade a little single-call latency for fewer, larger commits under load.
- **Pipelined group commits:** decide batch N+1 on top of batch N's writes while N is committing, so the KV thread is never idle between batches; a failed N then fails N+1 too, and both are re-decided.
- **A fast path for /v1 in the app:** proxied calls still pass through the page router and the root middleware (security headers, CORS); answering /v1 before them would save that work on every call.
- **Redis for fleets:** with \`QUOTA_REDIS_URL\`, admission and settlement are one server-side script each, without a file fsync per commit: ${
    fixed(report.scaleOut.redis.admit.p50, 3)
  } ms per admission at p50 in this run, and ${
    fixed(report.scaleOut.one.rate, 0)
  } req/s for one saturated instance (see "Scale-out through Redis"; bench/redis_admission_bench.ts has the \`deno bench\` version).
`;
}

/** The scale-out section: method, this run's tables, and where the time goes. */
function scaleOutSection(
  report: BenchReport,
  tables: { admission: string; throughput: string },
): string {
  const f = report.scaleOut;
  const r = f.redis;
  const ms = (n: number) => `${fixed(n, 3)} ms`;
  const clientMs = r.reserve.p50 - r.ping.p50 - r.reserveServerMs;
  const engineMs = r.admit.p50 - r.reserve.p50;
  const scale = scaleRatio(f);
  const one = f.one;
  const two = f.two;
  const a1 = one.cpu.byName["instance a"] ?? NaN;
  const instances2 = (two.cpu.byName["instance a"] ?? 0) +
    (two.cpu.byName["instance b"] ?? 0);
  const others2 = two.cpu.busy - instances2;
  const per1 = cpuMsPerCall(one);
  const per2 = cpuMsPerCall(two);
  const kvRate = find(report, "quota")?.saturated.rate ?? NaN;
  const cores = report.machine.cores;
  const perCallChange = (per2 / per1 - 1) * 100;
  const redisCores2 = two.cpu.byName["redis"] ?? NaN;
  const redisCpuMs = (redisCores2 / two.rate) * 1000;
  const scriptsPerCall =
    two.redisCommands.filter((c) => /^eval/.test(c.command)).reduce(
      (n, c) => n + c.calls,
      0,
    ) / two.requests;
  const limiter = scaleOutLimiter(f, cores);
  const redisTable = table(
    ["command", "calls per proxied call", "µs each (wall time in Redis)"],
    two.redisCommands.slice(0, 8).map((c) => [
      c.command,
      fixed(c.calls / two.requests, 2),
      fixed(c.usec / c.calls, 1),
    ]),
  );
  return `A redis-server (Redis ${r.redisVersion} from Debian, persistence off), started by tests/support/redis_server.ts on a free loopback port, serves both rows.

**Admission latency.** Measured in the bench process itself, through the npm client Quota Monitor uses (ioredis), one call at a time: ${r.warmup} untimed calls, then ${r.samples} timed with \`performance.now()\`, for each of three loops: a PING (the round trip every command pays); \`store.reserve\` with the ${r.holds} holds a bench call takes (one Lua script that checks every counter, holds on all or none, and records the lease); and \`QuotaEngine.admit\` under the six bench limits (limit lookup, holds, the reserve, and the limit statuses the proxy turns into x-ratelimit headers), which is what a proxied call waits for before it is forwarded. Each reservation is released after its timing, outside it.

${tables.admission}

Of the engine's ${
    ms(r.admit.p50)
  } at p50, the loopback round trip through ioredis is ${
    ms(r.ping.p50)
  } (a PING: a write and a read on each side and the client's reply parsing); Redis spends ${
    ms(r.reserveServerMs)
  } running the reserve script (INFO commandstats over 500 reserves run alone); encoding the script's arguments and reading the ${r.holds} counters it returns takes the client about ${
    ms(clientMs)
  } more; and the engine adds ${
    ms(engineMs)
  } on top of the store call. The goal of 0.3 ms at p50 is ${
    r.admit.p50 <= 0.3 ? "met" : "missed"
  }. For comparison, an admission on Deno KV is one fsync'd commit to the database file, ${
    ms(report.kv.commit.p50)
  } at p50 on this machine (bench/support/kv_probe.ts, in this run): Redis without persistence writes nothing to disk on the call's path. With \`appendfsync always\` (the setting that matches Deno KV's durability) every write would wait for an fsync as well.

**Throughput, two instances against one.** Two Quota Monitor processes (\`deno run -A main.ts\`), both with \`QUOTA_REDIS_URL\` pointing at this Redis, the same limits file and the same lean upstream (its own Deno process); one virtual key, created through instance a, serves both, since keys live in Redis. After a warm-up of each, the rounds alternate: one wrk (one thread, ${f.connectionsPerInstance} connections, no pause) saturates instance a alone for ${report.plan.seconds} s while instance b idles; then two wrk processes at once, one per instance with ${f.connectionsPerInstance} connections each, for ${report.plan.seconds} s, and their requests/s are added. Each row is the median of ${report.plan.rounds} round(s) by total rate. The CPU time of each process (all its threads) is read from /proc during each run and shown in cores (${cores}.00 = every core busy); "rest" is the machine's busy time that no named process accounts for: the wrk processes, mostly, and anything else running on the machine.

**Everything shares the same ${cores} cores:** the load generators, the upstream, Redis and both instances. "Two instances on two cores" here means two instances that have to leave room for all of that, not two instances with a core each.

${tables.throughput}

Two instances against one: **${fixed(scale, 2)}×** (${
    fixed(two.rate, 0)
  } against ${
    fixed(one.rate, 0)
  } req/s; the goal is 1.6×). For scale, one instance on Deno KV carried ${
    fixed(kvRate, 0)
  } req/s in the saturated proxy row above (earlier in the run, with 64 connections as here).

### Where the time goes, scale-out

Alone, instance a used ${fixed(a1, 2)} cores (${
    fixed(per1, 3)
  } ms of CPU per proxied call) while the machine was ${
    fixed(one.cpu.busy, 2)
  } cores busy: one instance cannot use much more than one core, since its JavaScript runs on one thread, and that is why a second instance can add anything on this machine at all. To run as fast as instance a alone, two instances would need about ${
    fixed(2 * a1, 2)
  } cores. With two instances the machine was ${
    fixed(two.cpu.busy, 2)
  } cores busy and the instances got ${fixed(instances2, 2)} of them (${
    fixed(per2, 3)
  } ms of CPU per call, ${
    signedPercent(perCallChange)
  } against instance a alone); the upstream (${
    fixed(two.cpu.byName["upstream"] ?? NaN, 2)
  }), Redis (${
    fixed(redisCores2, 2)
  }) and the two wrk processes with anything else (${
    fixed(two.cpu.rest, 2)
  }) took the other ${fixed(others2, 2)}.

What Redis ran per proxied call in the two-instance run (INFO commandstats, read through a side connection; the maintenance loops of both instances are included). Commands that a script runs are counted too, and their time is part of the script's; the times are wall time inside Redis, so they grow when Redis waits for a core:

${redisTable}

Each proxied call costs Redis ${
    fixed(scriptsPerCall, 2)
  } scripts (the reservation before forwarding, the settlement after) and, by the CPU accounting above, ${
    fixed(redisCpuMs, 3)
  } ms of CPU (${fixed(redisCores2, 2)} cores at ${
    fixed(two.rate, 0)
  } req/s), socket reads and writes included.

${limiter}${
    Math.abs(perCallChange) >= 10
      ? ` The instances' own CPU per call also changed by ${
        signedPercent(perCallChange)
      } with two of them running: more busy processes than cores (context switches, colder caches) is the likely cause.`
      : ""
  }

On a fleet, each instance and Redis have a core or a machine of their own and the load comes from elsewhere: there, each instance would have what instance a had alone here, and Redis would run its scripts without waiting for a core. That is an expectation from this accounting, not a measurement. Redis runs commands on one thread, so at the CPU cost measured here one Redis core serves about ${
    fixed(1000 / redisCpuMs, 0)
  } proxied calls a second across the whole fleet before Redis itself becomes the limit: a ceiling to keep in mind when sizing a fleet.

What would cut Redis's share: the scripts read whole counter hashes. The reservation reads each counter's hash twice (\`HGETALL\` to check it, again to return the readings) and lists its fields once more (\`HKEYS\`, to drop expired buckets), and the settlement lists them again; a rolling window keeps up to 60 bucket fields, so Redis walks hundreds of fields per call. A running sum per counter, returning the window's sums instead of the hashes, and pruning once per bucket rather than on every call would make a script's work independent of the window's length.`;
}

/** Which of the shared cores or Redis's one thread held the two instances back, in this run's numbers. */
function scaleOutLimiter(
  figures: ScaleOutFigures,
  cores: number,
): string {
  const two = figures.two;
  const redisCores = two.cpu.byName["redis"] ?? NaN;
  const evals = two.redisCommands.filter((c) => /^eval/.test(c.command));
  const scriptCalls = evals.reduce((n, c) => n + c.calls, 0);
  const scriptUsec = evals.reduce((n, c) => n + c.usec, 0);
  const scriptWallMs = scriptUsec / scriptCalls / 1000;
  // Redis's whole CPU time per script, socket I/O included.
  const scriptCpuMs = (redisCores / two.rate) * 1000 /
    (scriptCalls / two.requests);
  const inScripts = (scriptUsec / two.requests) * two.rate / 1e6;
  if (redisCores >= REDIS_BUSY_CORES) {
    return `Redis's one thread was close to a whole core (${
      fixed(redisCores, 2)
    }): it limits the pair as much as the shared cores do.`;
  }
  if (scriptWallMs > scriptCpuMs) {
    return `Redis used only ${
      fixed(redisCores, 2)
    } cores, yet it is what every call waits on, twice. During the two-instance run it spent ${
      fixed(inScripts, 2)
    } s of every second inside scripts (${
      fixed(scriptWallMs, 3)
    } ms each, wall time), while all its CPU time, socket I/O included, came to about ${
      fixed(scriptCpuMs, 2)
    } ms per script: a script was often waiting for a core in the middle of its run. On ${cores} cores shared by more busy processes than that, Redis is preempted like any other process, and while it waits, the calls of both instances wait behind it. On the quiet server before the load, a reserve script took ${
      fixed(figures.redis.reserveServerMs, 3)
    } ms.`;
  }
  return `The pair is short of cores, not of Redis: the ratio measured here is what ${cores} shared cores allow.`;
}

function signedPercent(value: number): string {
  if (!Number.isFinite(value)) return "-";
  return `${value >= 0 ? "+" : ""}${fixed(value, 0)}%`;
}
