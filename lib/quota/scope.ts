/**
 * Scopes: what a limit applies to. `gateway` (every call), `key:<name>` (one
 * virtual key), `model:<model>` (one model) or `key:<name>/model:<model>`.
 *
 * @module
 */

import { QuotaInputError } from "./errors.ts";
import type { Scope, ScopeId } from "./types.ts";

/** Key names: a letter or digit, then letters, digits, dot, underscore or dash; 64 at most. */
const KEY_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Model names: 1 to 200 printable characters without spaces (slashes and colons allowed). */
const MODEL_NAME_PATTERN = /^[\x21-\x7e]{1,200}$/;
const MODEL_SEPARATOR = "/model:";

/** True when `name` can name a virtual key. */
export function isValidKeyName(name: string): boolean {
  return typeof name === "string" && KEY_NAME_PATTERN.test(name);
}

/** True when `name` can name a model. */
export function isValidModelName(name: string): boolean {
  return typeof name === "string" && MODEL_NAME_PATTERN.test(name);
}

/**
 * Parses a scope id. The model part may itself contain slashes
 * (`key:a/model:meta-llama/Llama-3`): the first "/model:" separates.
 *
 * @throws QuotaInputError with a sentence listing the accepted forms.
 */
export function parseScope(id: ScopeId): Scope {
  if (id === "gateway") return { kind: "gateway" };
  if (typeof id === "string" && id.startsWith("key:")) {
    const rest = id.slice(4);
    const cut = rest.indexOf(MODEL_SEPARATOR);
    if (cut === -1 && isValidKeyName(rest)) return { kind: "key", key: rest };
    if (cut !== -1) {
      const key = rest.slice(0, cut);
      const model = rest.slice(cut + MODEL_SEPARATOR.length);
      if (isValidKeyName(key) && isValidModelName(model)) {
        return { kind: "key_model", key, model };
      }
    }
  }
  if (typeof id === "string" && id.startsWith("model:")) {
    const model = id.slice(6);
    if (isValidModelName(model)) return { kind: "model", model };
  }
  throw new QuotaInputError(
    `The scope "${
      String(id).slice(0, 80)
    }" is not understood; write "gateway", "key:<name>", "model:<model>" or "key:<name>/model:<model>", where a key name uses letters, digits, ".", "_" or "-".`,
    "invalid_scope",
    "scope",
  );
}

/** Writes a scope back as its id. */
export function formatScope(scope: Scope): ScopeId {
  switch (scope.kind) {
    case "gateway":
      return "gateway";
    case "key":
      return `key:${scope.key}`;
    case "model":
      return `model:${scope.model}`;
    case "key_model":
      return `key:${scope.key}${MODEL_SEPARATOR}${scope.model}`;
  }
}

/** The scopes whose limits apply to a call for key `key` and model `model`. */
export function scopesForCall(key: string, model: string): ScopeId[] {
  return [
    "gateway",
    `key:${key}`,
    `model:${model}`,
    `key:${key}${MODEL_SEPARATOR}${model}`,
  ];
}

/** True when a scope belongs in a status filtered to one key: gateway, the key, or the key with a model. */
export function scopeVisibleToKey(id: ScopeId, key: string): boolean {
  return id === "gateway" || id === `key:${key}` ||
    id.startsWith(`key:${key}${MODEL_SEPARATOR}`);
}

/** Names a scope in a sentence: "the gateway", "key team-a", "key team-a on model gpt-4o". */
export function describeScope(id: ScopeId): string {
  const scope = parseScope(id);
  switch (scope.kind) {
    case "gateway":
      return "the gateway";
    case "key":
      return `key ${scope.key}`;
    case "model":
      return `model ${scope.model}`;
    case "key_model":
      return `key ${scope.key} on model ${scope.model}`;
  }
}

/** Orders scopes for display: gateway, keys, models, then key-and-model pairs. */
export function compareScopes(a: ScopeId, b: ScopeId): number {
  const rank = (id: ScopeId) =>
    id === "gateway"
      ? 0
      : id.startsWith("model:")
      ? 2
      : id.includes(MODEL_SEPARATOR)
      ? 3
      : 1;
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}
