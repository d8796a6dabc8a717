import assert from "node:assert/strict";
import {
  baseModelName,
  costNanos,
  createPriceTable,
  PRICE_DATA_SOURCE,
} from "../../lib/quota/pricing.ts";
import type { ModelPrice } from "../../lib/quota/pricing.ts";

Deno.test("pricing - dated snapshots resolve to their model and exact names win", () => {
  const table = createPriceTable();
  const dated = table.lookup("gpt-4.1-mini-2025-04-14");
  const alias = table.lookup("gpt-4.1-mini");
  assert.ok(dated && alias);
  assert.deepEqual(dated.price, alias.price);
  assert.equal(dated.matched, "gpt-4.1-mini");
  assert.equal(dated.fallback, false);
  // gpt-4o-2024-05-13 has its own, higher price than gpt-4o.
  const old = table.lookup("gpt-4o-2024-05-13")!;
  const current = table.lookup("gpt-4o")!;
  assert.ok(old.price.input > current.price.input);
  assert.equal(
    table.lookup("gpt-3.5-turbo-instruct:20230824-v2")?.matched,
    "gpt-3.5-turbo-instruct",
  );
});

Deno.test("pricing - package prices have input, cached input and output; embeddings have no output price", () => {
  const table = createPriceTable();
  const mini = table.lookup("gpt-5-mini")!;
  assert.ok(mini.price.cachedInput < mini.price.input);
  assert.ok(mini.price.output > mini.price.input);
  const embedding = table.lookup("text-embedding-3-small")!;
  assert.equal(embedding.price.output, 0);
  assert.equal(embedding.price.cachedInput, embedding.price.input);
  assert.equal(PRICE_DATA_SOURCE.package, "@pydantic/genai-prices");
});

Deno.test("pricing - overrides from configuration win, also for dated snapshots", () => {
  const own: ModelPrice = { input: 1, cachedInput: 0.5, output: 2 };
  const table = createPriceTable({
    overrides: { "gpt-4.1-mini": own, "our-finetune": own },
  });
  assert.deepEqual(table.lookup("gpt-4.1-mini-2025-04-14"), {
    price: own,
    fallback: false,
    matched: "gpt-4.1-mini",
    source: "override",
  });
  assert.equal(table.lookup("our-finetune")?.source, "override");
  assert.throws(
    () =>
      createPriceTable({
        overrides: { bad: { input: -1, cachedInput: 0, output: 0 } },
      }),
    /invalid 'input'/,
  );
});

Deno.test("pricing - an unknown model is null without a fallback, and flagged with one", () => {
  assert.equal(createPriceTable().lookup("no-such-model-xyz"), null);
  const fallback: ModelPrice = { input: 10, cachedInput: 10, output: 30 };
  const found = createPriceTable({ fallback }).lookup("no-such-model-xyz");
  assert.deepEqual(found, {
    price: fallback,
    fallback: true,
    matched: "fallback",
    source: "fallback",
  });
});

Deno.test("pricing - cost bills uncached input, cached input and output once each, in whole nano-dollars", () => {
  const price: ModelPrice = { input: 0.25, cachedInput: 0.025, output: 2 };
  // The chat fixture: 1536 input of which 1280 cached, 212 output of which 192 reasoning.
  const nanos = costNanos(price, {
    inputTokens: 1536,
    cachedTokens: 1280,
    outputTokens: 212,
    reasoningTokens: 192,
  });
  assert.equal(nanos, 256 * 250 + 1280 * 25 + 212 * 2000);
  assert.ok(
    Number.isInteger(
      costNanos({ input: 0.075, cachedInput: 0.0375, output: 0.3 }, {
        inputTokens: 333,
        cachedTokens: 111,
        outputTokens: 77,
        reasoningTokens: 0,
      }),
    ),
  );
  assert.equal(
    costNanos(price, {
      inputTokens: 1_000_000,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    }),
    250_000_000,
  );
  assert.equal(
    costNanos(price, {
      inputTokens: 0,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    }),
    0,
  );
});

Deno.test("pricing - long-context tiers price the whole call above their threshold", () => {
  const table = createPriceTable();
  const tiered = table.lookup("gpt-5.4");
  assert.ok(tiered?.price.tiers && tiered.price.tiers.length > 0);
  const tier = tiered.price.tiers[0];
  const at = (input: number) =>
    costNanos(tiered.price, {
      inputTokens: input,
      cachedTokens: 0,
      outputTokens: 0,
      reasoningTokens: 0,
    });
  assert.equal(
    at(tier.aboveInputTokens),
    Math.round(tier.aboveInputTokens * tiered.price.input * 1000),
  );
  assert.equal(
    at(tier.aboveInputTokens + 1),
    Math.round((tier.aboveInputTokens + 1) * tier.input * 1000),
  );
});

Deno.test("pricing - undated names strip only snapshot suffixes", () => {
  assert.equal(baseModelName("gpt-4.1-mini-2025-04-14"), "gpt-4.1-mini");
  assert.equal(baseModelName("gpt-4-0613"), "gpt-4");
  assert.equal(
    baseModelName("gpt-3.5-turbo-instruct:20230824-v2"),
    "gpt-3.5-turbo-instruct",
  );
  assert.equal(baseModelName("gpt-4o-mini"), "gpt-4o-mini");
  assert.equal(baseModelName("o3"), "o3");
});
