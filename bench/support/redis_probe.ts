/**
 * Admission latency through the Redis store on loopback, measured in the
 * bench process itself: admissions one at a time after a warm-up, each timed
 * with `performance.now()`. Three loops on the same server:
 *
 * - a PING through the same npm client (ioredis): the floor of any command;
 * - `store.reserve` with the six holds a bench call takes (one Lua script,
 *   one round trip), with Redis's own time per script from INFO commandstats;
 * - `QuotaEngine.admit` under the bench limits (what a proxied call waits for
 *   before it is forwarded); its release runs outside the timed part.
 *
 * @module
 */

import { Redis } from "ioredis";
import { QuotaEngine } from "../../lib/quota/engine.ts";
import { compileLimit } from "../../lib/quota/limits.ts";
import { windowPosition } from "../../lib/quota/windows.ts";
import { openRedisStore } from "../../lib/store/redis_store.ts";
import type { CounterHold } from "../../lib/store/store.ts";
import { BENCH_KEY, BENCH_MODEL, benchLimits } from "./bench_limits.ts";
import { percentile } from "./stats.ts";

/** p50 and p99 of one loop, in ms. */
export interface LatencyFigures {
  p50: number;
  p99: number;
}

/** What the probe measured. */
export interface RedisAdmissionProbe {
  samples: number;
  warmup: number;
  /** Counters one admission holds. */
  holds: number;
  ping: LatencyFigures;
  reserve: LatencyFigures;
  /** Redis's own time per reserve script (INFO commandstats), in ms. */
  reserveServerMs: number;
  admit: LatencyFigures;
  /** The server's version, for the report. */
  redisVersion: string;
  /** The server's process id (INFO server), for its CPU time. */
  pid: number;
}

const PREFIX = "bench-probe:";
/** Reserves run alone to read Redis's own time per reserve script. */
const SERVER_TIME_CALLS = 500;
/** What a bench call estimates: the prompt's tokens, max_tokens, its dollars. */
const ESTIMATE = { inputTokens: 20, outputTokens: 256, costNanos: 160_000 };

async function timeLoop(
  warmup: number,
  samples: number,
  fn: (i: number) => Promise<void>,
  after?: () => Promise<void>,
): Promise<LatencyFigures> {
  for (let i = 0; i < warmup; i++) {
    await fn(i);
    await after?.();
  }
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const start = performance.now();
    await fn(warmup + i);
    times.push(performance.now() - start);
    // Outside the timed part: what the call does after admission.
    await after?.();
  }
  return { p50: percentile(times, 50), p99: percentile(times, 99) };
}

/** Redis's total time in EVALSHA so far, in µs, and how many calls. */
async function evalshaStats(
  client: Redis,
): Promise<{ calls: number; usec: number }> {
  const info = await client.info("commandstats");
  const line = info.split("\n").find((l) => l.startsWith("cmdstat_evalsha:"));
  return {
    calls: Number(line?.match(/calls=(\d+)/)?.[1] ?? 0),
    usec: Number(line?.match(/usec=(\d+)/)?.[1] ?? 0),
  };
}

/**
 * Measures admission through Redis at `url` one call at a time: `warmup`
 * untimed calls, then `samples` timed ones, for each of the three loops.
 */
export async function probeRedisAdmission(
  url: string,
  samples: number,
  warmup: number,
): Promise<RedisAdmissionProbe> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const store = await openRedisStore(url, { prefix: PREFIX });
  try {
    const limits = benchLimits().map((def) =>
      compileLimit({ ...def, source: "file" }, "UTC")
    );
    const holdsAt = (now: number): CounterHold[] =>
      limits.map((l) => ({
        counter: l.counter,
        ...windowPosition(l.spec, now),
        limitId: l.def.id,
        limit: l.ceiling,
        amount: 1,
      }));
    const server = await client.info("server");
    const redisVersion = server.match(/^redis_version:(\S+)/m)?.[1] ??
      "unknown";
    const pid = Number(server.match(/^process_id:(\d+)/m)?.[1] ?? NaN);

    const ping = await timeLoop(warmup, samples, async () => {
      await client.ping();
    });

    // Inputs are built before the clock starts: only the store call is timed.
    let input = holdsAt(Date.now());
    let next = 0;
    const reserve = await timeLoop(warmup, samples, async () => {
      const result = await store.reserve({
        reservationId: `probe-${next++}`,
        holds: input,
        leaseUntil: Date.now() + 60_000,
        meta: { key: BENCH_KEY, model: BENCH_MODEL },
      });
      if (!result.ok) throw new Error("The probe's limits refused a reserve.");
    }, async () => {
      await store.release(`probe-${next - 1}`);
      input = holdsAt(Date.now());
    });
    // The loop above ran a release after every reserve, so Redis's time per
    // reserve script comes from a short run of reserves alone.
    const released = await evalshaStats(client);
    for (let i = 0; i < SERVER_TIME_CALLS; i++) {
      await store.reserve({
        reservationId: `probe-r-${i}`,
        holds: input,
        leaseUntil: Date.now() + 60_000,
        meta: {},
      });
    }
    const reservedOnly = await evalshaStats(client);
    const reserveServerMs = (reservedOnly.usec - released.usec) /
      Math.max(1, reservedOnly.calls - released.calls) / 1000;

    const engine = new QuotaEngine({
      store,
      fileLimits: benchLimits().map((def) => ({
        ...def,
        source: "file" as const,
      })),
    });
    let last = "";
    const admit = await timeLoop(warmup, samples, async () => {
      const admission = await engine.admit({
        key: BENCH_KEY,
        model: BENCH_MODEL,
        estimate: ESTIMATE,
      });
      if (!admission.ok) {
        throw new Error(`The probe's limits refused: ${admission.message}`);
      }
      last = admission.reservationId;
    }, async () => {
      await engine.release(last);
    });

    return {
      samples,
      warmup,
      holds: limits.length,
      ping,
      reserve,
      reserveServerMs,
      admit,
      redisVersion,
      pid,
    };
  } finally {
    store.close();
    client.disconnect();
  }
}

/** Calls and server time of one Redis command over an interval. */
export interface CommandStat {
  command: string;
  calls: number;
  /** Redis's own time running it, in µs (INFO commandstats). */
  usec: number;
}

/** Reads INFO commandstats now: calls and µs per command, totals since the server started. */
async function commandStats(client: Redis): Promise<Map<string, CommandStat>> {
  const stats = new Map<string, CommandStat>();
  for (const line of (await client.info("commandstats")).split("\n")) {
    const match = line.match(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/);
    if (!match) continue;
    stats.set(match[1], {
      command: match[1],
      calls: Number(match[2]),
      usec: Number(match[3]),
    });
  }
  return stats;
}

/**
 * A side connection that reads which commands Redis ran between two
 * instants, for the "where the time goes" of a load test.
 */
export async function watchRedisCommands(url: string): Promise<{
  /** Starts an interval; the promise it returns ends it with each command's share, busiest first. */
  start(): Promise<() => Promise<CommandStat[]>>;
  close(): void;
}> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  return {
    async start() {
      const before = await commandStats(client);
      return async () => {
        const after = await commandStats(client);
        return [...after.values()].map((s) => ({
          command: s.command,
          calls: s.calls - (before.get(s.command)?.calls ?? 0),
          usec: s.usec - (before.get(s.command)?.usec ?? 0),
        })).filter((s) => s.calls > 0).sort((x, y) => y.usec - x.usec);
      };
    },
    close: () => client.disconnect(),
  };
}
