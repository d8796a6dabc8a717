/**
 * Reads a V8 CPU profile (`deno run --cpu-prof`) and splits its samples into
 * where a proxied call's time goes: waiting (idle), Deno KV, HTTP serving and
 * fetching, the app's routing and middleware, the proxy, the quota engine,
 * the tokenizer, hashing, garbage collection. Self time of the sampled
 * frame, so the shares add up to 100%.
 *
 * @module
 */

/** One share of the profile. */
export interface ProfileShare {
  part: string;
  percent: number;
}

interface CallFrame {
  functionName: string;
  url: string;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const PARTS: [string, (frame: CallFrame) => boolean][] = [
  [
    "idle (waiting for I/O: KV commits, the upstream, the client)",
    (f) => f.functionName === "(idle)",
  ],
  ["garbage collection", (f) => f.functionName === "(garbage collector)"],
  [
    "Deno KV (commits, serialization) and the group committer",
    (f) =>
      /^op_kv_/.test(f.functionName) ||
      /01_db\.ts|kv_[a-z_]+\.ts|counter_math\.ts/.test(f.url),
  ],
  [
    "hashing (SHA-256)",
    (f) => f.functionName === "digest" || /secrets\.ts/.test(f.url),
  ],
  [
    "input-token estimate (gpt-tokenizer)",
    (f) => /gpt-tokenizer|token_estimate\.ts/.test(f.url),
  ],
  [
    "HTTP server, fetch, headers, streams (Deno runtime)",
    (f) =>
      /^op_(http|fetch|read|write|set_response)/.test(f.functionName) ||
      /ext:deno_(http|fetch|web|url|webidl)|00_serve|26_fetch|23_request|23_response|22_body|20_headers|06_streams|01_urlpattern/
        .test(f.url) ||
      /^op_urlpattern/.test(f.functionName),
  ],
  [
    "app routing, middleware, CORS, security headers",
    (f) => /lib\/fresh\/|routes\/|lib\/http\//.test(f.url),
  ],
  [
    "proxy (request parsing, headers, usage)",
    (f) => /lib\/openai\//.test(f.url),
  ],
  [
    "quota engine (limits, windows, status)",
    (f) => /lib\/quota\/|key_registry\.ts|metrics\.ts/.test(f.url),
  ],
];

/** Shares of self time by part, largest first; "other" collects the rest. */
export function summarizeProfile(profile: CpuProfile): ProfileShare[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const frame = byNode.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!frame || delta <= 0) return;
    all += delta;
    const part = PARTS.find(([, test]) => test(frame))?.[0] ??
      "other (V8, runtime glue, timers)";
    totals.set(part, (totals.get(part) ?? 0) + delta);
  });
  return [...totals.entries()]
    .map(([part, time]) => ({ part, percent: (100 * time) / all }))
    .sort((a, b) => b.percent - a.percent);
}

/** Reads the newest `.cpuprofile` in `dir` and summarizes it. */
export async function summarizeProfileDir(
  dir: string,
): Promise<ProfileShare[]> {
  const files: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".cpuprofile")) files.push(entry.name);
  }
  if (files.length === 0) {
    throw new Error(`No CPU profile was written to ${dir}.`);
  }
  files.sort();
  const profile = JSON.parse(
    await Deno.readTextFile(`${dir}/${files[files.length - 1]}`),
  );
  return summarizeProfile(profile);
}
