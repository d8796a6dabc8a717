/**
 * A description of the machine the benchmarks ran on, for the report.
 *
 * @module
 */

/** What the report says about the machine. */
export interface Machine {
  cpu: string;
  cores: number;
  memory: string;
  os: string;
  kernel: string;
  deno: string;
  node: string;
  wrk: string;
  date: string;
}

async function read(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

async function version(cmd: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(cmd, {
      args,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    return text.split("\n")[0].trim() || "unknown";
  } catch {
    return "not installed";
  }
}

/** Reads the CPU model, core count, memory, OS and tool versions. */
export async function describeMachine(): Promise<Machine> {
  const cpuinfo = await read("/proc/cpuinfo");
  const meminfo = await read("/proc/meminfo");
  const osRelease = await read("/etc/os-release");
  const memKb = Number(meminfo.match(/^MemTotal:\s+(\d+)/m)?.[1] ?? NaN);
  return {
    cpu: cpuinfo.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memory: Number.isFinite(memKb)
      ? `${(memKb / 1024 / 1024).toFixed(1)} GiB`
      : "unknown",
    os: osRelease.match(/^PRETTY_NAME="?([^"\n]+)"?/m)?.[1] ?? Deno.build.os,
    kernel: Deno.osRelease(),
    deno: `${Deno.version.deno} (V8 ${Deno.version.v8})`,
    node: await version("node", ["--version"]),
    wrk: await version("wrk", ["-v"]),
    date: new Date().toISOString(),
  };
}

/**
 * The 1-minute load average (/proc/loadavg): other work on the machine
 * during a run shows up here, and in the figures.
 */
export async function loadAverage(): Promise<number> {
  return Number((await read("/proc/loadavg")).split(" ")[0]);
}
