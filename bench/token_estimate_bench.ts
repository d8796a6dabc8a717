/**
 * How accurate and how fast the input-token estimates are.
 *
 * Run: `deno bench -A bench/token_estimate_bench.ts`
 *
 * Prints, before the timings:
 * - the tokenizer estimate against prompt_tokens the OpenAI API reported for
 *   the cookbook's published examples;
 * - the fast estimate (and a naive chars/4 rule) against the exact o200k and
 *   cl100k counts on a small corpus: prose, code, JSON and eight languages,
 *   all files shipped in this repo or in pinned npm packages.
 *
 * @module
 */

import {
  countTextTokens,
  estimateInputTokens,
  fastTokenCount,
} from "../lib/quota/token_estimate.ts";
import {
  COOKBOOK_MESSAGES,
  COOKBOOK_TOOL_REQUEST,
  inputOf,
} from "../tests/fixtures/token_cookbook.ts";

const ROOT = new URL("../", import.meta.url);

const CORPUS: Record<string, string[]> = {
  prose: [
    "tests/fixtures/openai/README.md",
    "node_modules/openai/README.md",
    "node_modules/gpt-tokenizer/README.md",
    "node_modules/zod/README.md",
  ],
  code: [
    "lib/openai/stream_usage.ts",
    "lib/openai/request_body.ts",
    "node_modules/openai/core/streaming.js",
    "node_modules/preact/src/diff/index.js",
  ],
  json: [
    "tests/fixtures/openai/responses.http",
    "tests/fixtures/openai/responses_stream.sse",
    "tests/fixtures/openai/chat_stream_tool_calls.sse",
    "node_modules/openai/package.json",
  ],
  multilingual: ["ja", "zh-CN", "ko", "ru", "ar", "he", "th", "de"].map((l) =>
    `node_modules/zod/v4/locales/${l}.js`
  ),
};

async function readCorpus(): Promise<
  { category: string; name: string; text: string }[]
> {
  const out = [];
  for (const [category, paths] of Object.entries(CORPUS)) {
    for (const path of paths) {
      try {
        out.push({
          category,
          name: path.split("/").slice(-2).join("/"),
          text: await Deno.readTextFile(new URL(path, ROOT)),
        });
      } catch {
        console.log(`(skipped ${path}: not found; run deno install)`);
      }
    }
  }
  return out;
}

function pct(ratio: number): string {
  const value = (ratio - 1) * 100;
  return `${value >= 0 ? "+" : ""}${value.toFixed(1)}%`;
}

const corpus = await readCorpus();

console.log(
  "\nTokenizer estimate vs prompt_tokens reported by the OpenAI API (cookbook examples)",
);
for (
  const [label, body, model, api] of [
    [
      "6 messages with names",
      { messages: COOKBOOK_MESSAGES },
      "gpt-4-0613",
      129,
    ],
    ["6 messages with names", { messages: COOKBOOK_MESSAGES }, "gpt-4o", 124],
    ["2 messages + 1 tool", COOKBOOK_TOOL_REQUEST, "gpt-4", 105],
    ["2 messages + 1 tool", COOKBOOK_TOOL_REQUEST, "gpt-4o-mini", 101],
  ] as const
) {
  const input = inputOf(body, model);
  const exact =
    estimateInputTokens(input, model, { method: "tokenizer" }).tokens;
  const fast = estimateInputTokens(input, model, { method: "fast" }).tokens;
  console.log(
    `  ${label.padEnd(22)} ${
      model.padEnd(12)
    } API ${api}  tokenizer ${exact} (${pct(exact / api)})  fast ${fast} (${
      pct(fast / api)
    })`,
  );
}

console.log(
  "\nFast estimate vs exact BPE counts (o200k_base / cl100k_base); + means over-estimate",
);
console.log(
  "  category      file                          chars   o200k  cl100k   fast vs o200k  vs cl100k   chars/4 vs o200k",
);
const ratios: Record<string, number[]> = {};
let worstUnder = Infinity;
let worstOver = 0;
for (const { category, name, text } of corpus) {
  const o = countTextTokens(text, "o200k_base");
  const c = countTextTokens(text, "cl100k_base");
  const fast = fastTokenCount(text);
  const naive = Math.ceil(text.length / 4);
  (ratios[category] ??= []).push(fast / o, fast / c);
  worstUnder = Math.min(worstUnder, fast / o, fast / c);
  worstOver = Math.max(worstOver, fast / o, fast / c);
  console.log(
    `  ${category.padEnd(13)} ${name.padEnd(28)} ${
      String(text.length).padStart(7)
    } ${String(o).padStart(7)} ${String(c).padStart(7)}   ${
      pct(fast / o).padStart(8)
    }  ${pct(fast / c).padStart(9)}   ${pct(naive / o).padStart(8)}`,
  );
}
for (const [category, list] of Object.entries(ratios)) {
  const mean = list.reduce((a, b) => a + b, 0) / list.length;
  console.log(
    `  mean ${category.padEnd(13)} fast ${pct(mean)}  (range ${
      pct(Math.min(...list))
    } .. ${pct(Math.max(...list))})`,
  );
}
console.log(
  `  overall: fast is between ${pct(worstUnder)} and ${
    pct(worstOver)
  } of the exact count`,
);

// Timing inputs: slices of the corpus at rotating offsets, so that the
// tokenizer's merge cache cannot make repeated text look cheap.
const all = corpus.filter((c) => c.category !== "multilingual").map((c) =>
  c.text
).join("\n");
const SLICE_4K = 4_000;
let offset = 0;
function nextSlice(size: number): string {
  offset = (offset + 7_919) % Math.max(1, all.length - size);
  return all.slice(offset, offset + size);
}
const big = all.slice(0, 100_000);
console.log(
  `\nTiming texts: ${SLICE_4K} chars ≈ ${
    countTextTokens(all.slice(0, SLICE_4K), "o200k_base")
  } tokens; 100,000 chars ≈ ${countTextTokens(big, "o200k_base")} tokens\n`,
);

const chatBody = {
  messages: [
    { role: "system", content: "You are a helpful assistant." },
    {
      role: "user",
      content: "Summarize the following text in three sentences.\n\n" +
        all.slice(0, 1_500),
    },
  ],
};
const chatInput = inputOf(chatBody, "gpt-4.1-mini");

Deno.bench("tokenizer o200k, 4,000 chars of fresh text", {
  group: "4k",
  baseline: true,
}, () => {
  countTextTokens(nextSlice(SLICE_4K), "o200k_base");
});
Deno.bench("fast estimate, 4,000 chars", { group: "4k" }, () => {
  fastTokenCount(nextSlice(SLICE_4K));
});
Deno.bench(
  "tokenizer o200k, 100,000 chars",
  { group: "100k", baseline: true },
  () => {
    countTextTokens(big, "o200k_base");
  },
);
Deno.bench("fast estimate, 100,000 chars", { group: "100k" }, () => {
  fastTokenCount(big);
});
Deno.bench("estimateInputTokens, typical chat (~400 tokens), auto", {
  group: "chat",
  baseline: true,
}, () => {
  estimateInputTokens(chatInput, "gpt-4.1-mini");
});
Deno.bench("estimateInputTokens, typical chat (~400 tokens), fast", {
  group: "chat",
}, () => {
  estimateInputTokens(chatInput, "gpt-4.1-mini", { method: "fast" });
});
