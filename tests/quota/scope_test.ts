import assert from "node:assert/strict";
import { QuotaInputError } from "../../lib/quota/errors.ts";
import {
  compareScopes,
  describeScope,
  formatScope,
  parseScope,
  scopesForCall,
  scopeVisibleToKey,
} from "../../lib/quota/scope.ts";

Deno.test("scope - the four forms parse and print back unchanged", () => {
  for (
    const id of [
      "gateway",
      "key:team-a",
      "model:gpt-4o",
      "key:team-a/model:gpt-4o",
      "key:t.b_c/model:meta-llama/Llama-3:8b",
    ]
  ) {
    assert.equal(formatScope(parseScope(id)), id);
  }
  assert.deepEqual(parseScope("key:a/model:org/model"), {
    kind: "key_model",
    key: "a",
    model: "org/model",
  });
});

Deno.test("scope - anything else is refused with a sentence listing the forms", () => {
  for (
    const id of [
      "",
      "Gateway",
      "key:",
      "key:team a",
      "key:-x",
      "model:",
      "model:gpt 4o",
      "team-a",
      "key:a/model:",
      "key:a/gpt-4o",
    ]
  ) {
    assert.throws(() => parseScope(id), (error: unknown) => {
      assert.ok(error instanceof QuotaInputError, id);
      assert.match(
        error.message,
        /write "gateway", "key:<name>", "model:<model>" or "key:<name>\/model:<model>"/,
      );
      return true;
    });
  }
});

Deno.test("scope - a call for key K and model M is limited by four scopes", () => {
  assert.deepEqual(scopesForCall("team-a", "gpt-4o"), [
    "gateway",
    "key:team-a",
    "model:gpt-4o",
    "key:team-a/model:gpt-4o",
  ]);
});

Deno.test("scope - a key sees the gateway and its own scopes, not a key whose name starts the same", () => {
  assert.equal(scopeVisibleToKey("gateway", "team"), true);
  assert.equal(scopeVisibleToKey("key:team", "team"), true);
  assert.equal(scopeVisibleToKey("key:team/model:gpt-4o", "team"), true);
  assert.equal(scopeVisibleToKey("key:team-b", "team"), false);
  assert.equal(scopeVisibleToKey("key:team-b/model:gpt-4o", "team"), false);
  assert.equal(scopeVisibleToKey("model:gpt-4o", "team"), false);
});

Deno.test("scope - scopes are named in sentences and ordered gateway, keys, models, pairs", () => {
  assert.equal(
    describeScope("key:team-a/model:gpt-4o"),
    "key team-a on model gpt-4o",
  );
  assert.equal(describeScope("gateway"), "the gateway");
  const sorted = ["key:b/model:x", "model:a", "key:b", "gateway", "key:a"].sort(
    compareScopes,
  );
  assert.deepEqual(sorted, [
    "gateway",
    "key:a",
    "key:b",
    "model:a",
    "key:b/model:x",
  ]);
});
