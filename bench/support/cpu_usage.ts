/**
 * CPU time of the machine and of chosen processes over an interval, from
 * /proc/stat and /proc/<pid>/stat, so that a load test can say which process
 * used the cores (all threads of each process counted). Both files count in
 * the same clock ticks, so shares need no tick rate.
 *
 * @module
 */

/** A reading taken at one instant. */
export interface CpuSnapshot {
  /** Ticks of all CPUs together, busy and idle. */
  total: number;
  /** Ticks spent idle or waiting for I/O. */
  idle: number;
  /** User plus system ticks per pid (0 when the process is gone). */
  byPid: Map<number, number>;
}

/** Cores used on average over an interval (2.0 = both cores of a 2-core machine). */
export interface CpuShares {
  /** All work on the machine, ours and anything else. */
  busy: number;
  /** Per named process. */
  byName: Record<string, number>;
  /** Busy time no named process accounts for (the load generators, everything else). */
  rest: number;
}

async function processTicks(pid: number): Promise<number> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    // The command name may hold spaces and parentheses: fields start after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the line, 12th and 13th after the name.
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Reads the machine's and each pid's CPU ticks now. */
export async function cpuSnapshot(pids: number[]): Promise<CpuSnapshot> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0];
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is inside user).
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = ticks[3] + ticks[4];
  const byPid = new Map<number, number>();
  for (const pid of pids) byPid.set(pid, await processTicks(pid));
  return { total, idle, byPid };
}

/**
 * Cores used between two snapshots by the machine and by each named pid.
 *
 * @example
 * const a = await cpuSnapshot([pid]); ...; const b = await cpuSnapshot([pid]);
 * cpuShares(a, b, { instance: pid }, 2); // { busy: 1.9, byName: { instance: 0.98 }, rest: 0.92 }
 */
export function cpuShares(
  before: CpuSnapshot,
  after: CpuSnapshot,
  names: Record<string, number>,
  cores: number,
): CpuShares {
  const elapsed = after.total - before.total;
  const asCores = (ticks: number) =>
    elapsed > 0 ? (ticks / elapsed) * cores : 0;
  const busy = asCores(elapsed - (after.idle - before.idle));
  const byName: Record<string, number> = {};
  let named = 0;
  for (const [name, pid] of Object.entries(names)) {
    const used = asCores(
      (after.byPid.get(pid) ?? 0) - (before.byPid.get(pid) ?? 0),
    );
    byName[name] = used;
    named += used;
  }
  return { busy, byName, rest: Math.max(0, busy - named) };
}
