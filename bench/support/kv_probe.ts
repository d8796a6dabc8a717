/**
 * The cost the proxy cannot avoid: how long one Deno KV atomic commit and one
 * read take on a local database file on this machine. Every proxied call
 * commits at least twice (admission, then settlement), so these two numbers
 * bound the latency Quota Monitor adds one request at a time.
 *
 * @module
 */

import { percentile } from "./stats.ts";

/** Latencies of Deno KV operations on a local file, in ms. */
export interface KvProbe {
  commit: { p50: number; p99: number };
  get: { p50: number; p99: number };
}

const ROUNDS = 400;

/** Measures commits and reads one after another on a fresh database in `dir`. */
export async function probeKv(dir: string): Promise<KvProbe> {
  await Deno.mkdir(dir, { recursive: true });
  const kv = await Deno.openKv(`${dir}/probe.kv`);
  try {
    const commits: number[] = [];
    const gets: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = performance.now();
      const entry = await kv.get(["counter"]);
      gets.push(performance.now() - t);
      t = performance.now();
      await kv.atomic().check(entry).set(["counter"], i).sum(["seq"], 1n)
        .commit();
      commits.push(performance.now() - t);
    }
    const tail = (xs: number[]) => xs.slice(ROUNDS / 4);
    return {
      commit: {
        p50: percentile(tail(commits), 50),
        p99: percentile(tail(commits), 99),
      },
      get: { p50: percentile(tail(gets), 50), p99: percentile(tail(gets), 99) },
    };
  } finally {
    kv.close();
  }
}
