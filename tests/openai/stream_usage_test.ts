import assert from "node:assert/strict";
import { createStreamUsageTap } from "../../lib/openai/stream_usage.ts";
import type {
  StreamUsageOptions,
  StreamUsageResult,
} from "../../lib/openai/stream_usage.ts";
import { readFixture, sseEvents } from "../support/fake_upstream.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

async function run(
  chunks: Uint8Array[],
  options: StreamUsageOptions = {},
): Promise<{ output: string; result: StreamUsageResult }> {
  const tap = createStreamUsageTap(options);
  const out: Uint8Array[] = [];
  for await (
    const chunk of ReadableStream.from(chunks).pipeThrough(tap.stream)
  ) out.push(chunk);
  return { output: decoder.decode(concat(out)), result: await tap.done };
}

function splitAt(bytes: Uint8Array, ...cuts: number[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let from = 0;
  for (const cut of cuts) {
    parts.push(bytes.slice(from, cut));
    from = cut;
  }
  parts.push(bytes.slice(from));
  return parts;
}

const withUsage = (await readFixture("chat_stream_with_usage.sse")).body;
const noUsage = (await readFixture("chat_stream_no_usage.sse")).body;
const toolCalls = (await readFixture("chat_stream_tool_calls.sse")).body;
const legacy = (await readFixture("completions_legacy_stream.sse")).body;
const responses = (await readFixture("responses_stream.sse")).body;
const usageEvent = sseEvents(withUsage).find((e) =>
  e.includes('"choices":[]')
)!;

const CHAT_USAGE = {
  inputTokens: 1180,
  cachedTokens: 1152,
  outputTokens: 5,
  reasoningTokens: 0,
};

Deno.test("stream usage - a client that asked for usage gets the stream byte for byte, and the usage is read", async () => {
  const { output, result } = await run([encoder.encode(withUsage)]);
  assert.equal(output, withUsage);
  assert.deepEqual(result.usage, CHAT_USAGE);
  assert.equal(result.deliveredText, "The sky is blue.");
  assert.equal(result.sawDone, true);
  assert.equal(result.model, "gpt-4.1-mini-2025-04-14");
  assert.equal(result.ending, "flushed");
});

Deno.test("stream usage - the injected usage-only chunk is removed and everything else is unchanged", async () => {
  const { output, result } = await run([encoder.encode(withUsage)], {
    dropInjectedUsage: true,
  });
  assert.equal(output, withUsage.replace(usageEvent, ""));
  assert.ok(!output.includes('"usage":{'));
  assert.ok(output.endsWith("data: [DONE]\n\n"));
  assert.deepEqual(result.usage, CHAT_USAGE);
});

for (
  const [name, body] of [
    ["chat with usage", withUsage],
    ["tool calls", toolCalls],
    ["legacy completions", legacy],
    ["responses", responses],
  ] as const
) {
  for (const drop of [false, true]) {
    Deno.test(`stream usage - ${name} split at every byte boundary gives the same bytes and usage (drop=${drop})`, async () => {
      const bytes = encoder.encode(body);
      const whole = await run([bytes], { dropInjectedUsage: drop });
      assert.ok(whole.result.usage !== null);
      for (let cut = 1; cut < bytes.length; cut++) {
        const split = await run(splitAt(bytes, cut), {
          dropInjectedUsage: drop,
        });
        if (split.output !== whole.output) {
          assert.fail(`output differs when split at byte ${cut}`);
        }
        assert.deepEqual(
          split.result,
          whole.result,
          `result differs when split at byte ${cut}`,
        );
      }
      const bytewise = await run(Array.from(bytes, (b) => Uint8Array.of(b)), {
        dropInjectedUsage: drop,
      });
      assert.equal(bytewise.output, whole.output);
      assert.deepEqual(bytewise.result, whole.result);
    });
  }
}

Deno.test("stream usage - CRLF line ends split at every boundary are parsed, and the usage chunk is still removed", async () => {
  const crlf = withUsage.replaceAll("\n", "\r\n");
  const bytes = encoder.encode(crlf);
  const expected = crlf.replace(usageEvent.replaceAll("\n", "\r\n"), "");
  for (let cut = 1; cut < bytes.length; cut++) {
    const { output, result } = await run(splitAt(bytes, cut), {
      dropInjectedUsage: true,
    });
    assert.deepEqual(
      result.usage,
      CHAT_USAGE,
      `usage lost when split at byte ${cut}`,
    );
    assert.equal(result.sawDone, true);
    if (output !== expected) {
      assert.equal(
        output,
        expected,
        `output differs when split at byte ${cut}`,
      );
    }
  }
  const bytewise = await run(Array.from(bytes, (b) => Uint8Array.of(b)), {
    dropInjectedUsage: true,
  });
  assert.equal(bytewise.output, expected);
  assert.deepEqual(bytewise.result.usage, CHAT_USAGE);
});

Deno.test("stream usage - multi-byte characters split across chunks are read whole", async () => {
  const event = `data: ${
    JSON.stringify({
      choices: [{ index: 0, delta: { content: "Blå himmel, 空は青い 🌤" } }],
    })
  }\n\ndata: [DONE]\n\n`;
  const bytes = encoder.encode(event);
  for (let cut = 1; cut < bytes.length; cut++) {
    const { output, result } = await run(splitAt(bytes, cut));
    assert.equal(output, event);
    assert.equal(result.deliveredText, "Blå himmel, 空は青い 🌤");
  }
});

Deno.test("stream usage - without include_usage there is no usage, but the delivered text is kept", async () => {
  const { output, result } = await run([encoder.encode(noUsage)]);
  assert.equal(output, noUsage);
  assert.equal(result.usage, null);
  assert.equal(result.deliveredText, "The sky is blue.");
  assert.equal(result.sawDone, true);
});

Deno.test("stream usage - tool-call names and argument fragments count as delivered text", async () => {
  const { result } = await run([encoder.encode(toolCalls)], {
    dropInjectedUsage: true,
  });
  assert.equal(result.deliveredText, 'get_weather{"location":"Paris"}');
  assert.deepEqual(result.usage, {
    inputTokens: 68,
    cachedTokens: 0,
    outputTokens: 15,
    reasoningTokens: 0,
  });
});

Deno.test("stream usage - legacy completions text and usage are read, and the injected usage chunk removed", async () => {
  const { output, result } = await run([encoder.encode(legacy)], {
    dropInjectedUsage: true,
  });
  assert.equal(result.deliveredText, " blue during the day.");
  assert.deepEqual(result.usage, {
    inputTokens: 7,
    cachedTokens: 0,
    outputTokens: 5,
    reasoningTokens: 0,
  });
  assert.equal(result.model, "gpt-3.5-turbo-instruct:20230824-v2");
  assert.ok(!output.includes('"usage":{'));
  assert.ok(output.includes('"text":"."'));
});

Deno.test("stream usage - a Responses stream gives its usage from response.completed and passes untouched", async () => {
  const { output, result } = await run([encoder.encode(responses)], {
    dropInjectedUsage: true,
  });
  assert.equal(output, responses);
  assert.deepEqual(result.usage, {
    inputTokens: 22,
    cachedTokens: 0,
    outputTokens: 9,
    reasoningTokens: 0,
  });
  assert.equal(result.deliveredText, "The sky is blue.");
  assert.equal(result.sawDone, true);
  assert.equal(result.model, "gpt-5.1-2025-11-13");
});

Deno.test("stream usage - usage on a final chunk that still has choices is read and never dropped", async () => {
  const chunk = `data: ${
    JSON.stringify({
      id: "x",
      choices: [{ index: 0, delta: { content: "end" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13 },
    })
  }\n\n`;
  const body = `${chunk}data: [DONE]\n\n`;
  const { output, result } = await run([encoder.encode(body)], {
    dropInjectedUsage: true,
  });
  assert.equal(output, body);
  assert.deepEqual(result.usage, {
    inputTokens: 10,
    cachedTokens: 0,
    outputTokens: 3,
    reasoningTokens: 0,
  });
  assert.equal(result.deliveredText, "end");
});

Deno.test("stream usage - a Responses stream that ends incomplete still reports its usage", async () => {
  const event = {
    type: "response.incomplete",
    response: {
      model: "gpt-5-mini",
      usage: {
        input_tokens: 50,
        input_tokens_details: { cached_tokens: 10 },
        output_tokens: 100,
        output_tokens_details: { reasoning_tokens: 90 },
      },
    },
  };
  const { result } = await run([
    encoder.encode(
      `event: response.incomplete\ndata: ${JSON.stringify(event)}\n\n`,
    ),
  ]);
  assert.deepEqual(result.usage, {
    inputTokens: 50,
    cachedTokens: 10,
    outputTokens: 100,
    reasoningTokens: 90,
  });
  assert.equal(result.sawDone, true);
});

Deno.test("stream usage - each chunk reaches the reader before the next one is written", async () => {
  const events = sseEvents(withUsage);
  for (const drop of [false, true]) {
    const tap = createStreamUsageTap({ dropInjectedUsage: drop });
    const writer = tap.stream.writable.getWriter();
    const reader = tap.stream.readable.getReader();
    // Half of an event: without drop mode it is forwarded at once.
    const firstHalf = events[1].slice(0, 40);
    if (!drop) {
      writer.write(encoder.encode(firstHalf));
      const { value } = await reader.read();
      assert.equal(decoder.decode(value), firstHalf);
      writer.write(encoder.encode(events[1].slice(40)));
      const rest = await reader.read();
      assert.equal(decoder.decode(rest.value), events[1].slice(40));
    } else {
      // In drop mode a complete event is forwarded at once.
      writer.write(encoder.encode(events[1]));
      const { value } = await reader.read();
      assert.equal(decoder.decode(value), events[1]);
    }
    await writer.close();
    await reader.cancel();
  }
});

Deno.test("stream usage - a stream the client cancels resolves with what was delivered and no usage", async () => {
  const events = sseEvents(withUsage);
  const tap = createStreamUsageTap({ dropInjectedUsage: true });
  const writer = tap.stream.writable.getWriter();
  const reader = tap.stream.readable.getReader();
  for (const e of events.slice(0, 3)) {
    writer.write(encoder.encode(e));
    await reader.read();
  }
  await reader.cancel("client went away");
  const result = await tap.done;
  assert.equal(result.ending, "cancelled");
  assert.equal(result.usage, null);
  assert.equal(result.sawDone, false);
  assert.equal(result.deliveredText, "The sky");
});

Deno.test("stream usage - impossible usage numbers are refused with a reason", async () => {
  const body = `data: ${
    JSON.stringify({
      choices: [],
      usage: {
        prompt_tokens: 10,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: 11 },
      },
    })
  }\n\ndata: [DONE]\n\n`;
  const { result } = await run([encoder.encode(body)]);
  assert.equal(result.usage, null);
  assert.match(
    result.usageError ?? "",
    /cached_tokens \(11\) is larger than the input tokens \(10\)/,
  );
});

Deno.test("stream usage - an error event inside a stream is reported", async () => {
  const body = `event: error\ndata: ${
    JSON.stringify({
      type: "error",
      error: {
        message: "Something broke.",
        type: "server_error",
        code: "server_error",
      },
    })
  }\n\n`;
  const { result } = await run([encoder.encode(body)]);
  assert.deepEqual(result.error, {
    message: "Something broke.",
    type: "server_error",
    code: "server_error",
  });
  assert.equal(result.sawDone, false);
});

Deno.test("stream usage - comments and malformed data pass through and change nothing", async () => {
  const body = `: keep-alive\n\ndata: {not json\n\n${withUsage}`;
  const { output, result } = await run([encoder.encode(body)], {
    dropInjectedUsage: true,
  });
  assert.equal(output, body.replace(usageEvent, ""));
  assert.deepEqual(result.usage, CHAT_USAGE);
});

Deno.test("stream usage - piped between a real upstream and a client that leaves, it cancels the upstream", async () => {
  const { startFakeUpstream } = await import("../support/fake_upstream.ts");
  const upstream = await startFakeUpstream();
  try {
    upstream.script({ kind: "slow_stream", chunks: 50, delayMs: 5 });
    const res = await fetch(`${upstream.url}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "Hi" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const tap = createStreamUsageTap({ dropInjectedUsage: true });
    const reader = res.body!.pipeThrough(tap.stream).getReader();
    let seen = "";
    while (!seen.includes("tok3")) {
      seen += decoder.decode((await reader.read()).value);
    }
    await reader.cancel("client went away");
    const result = await tap.done;
    assert.equal(result.ending, "cancelled");
    assert.equal(result.usage, null);
    assert.match(result.deliveredText, /^ tok0 tok1 tok2 tok3/);
    for (let i = 0; i < 400 && !upstream.requests[0].aborted; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(upstream.requests[0].aborted, true);
    assert.equal(upstream.requests[0].completed, false);
  } finally {
    await upstream.close();
  }
});
