/**
 * A reference-preserving serializer for island props, so that what the server
 * hands an island arrives in the browser with the same shape: shared objects stay
 * shared, cycles survive, and values plain JSON loses (undefined, NaN, ±Infinity,
 * -0, Date, Map, Set, URL, BigInt, RegExp, Uint8Array, signals) round-trip.
 *
 * The output is a flat JSON array. Slot 0 holds the root; every non-primitive
 * value lives in its own slot and is referenced by index. Negative numbers are
 * sentinels for values JSON cannot carry. A tagged value is an array whose first
 * item is a string (plain arrays hold only indices, so the two never collide).
 *
 * Browser compatible: no Deno APIs.
 *
 * @module
 */

import { Signal } from "@preact/signals";

import {
  HOLE,
  NAN,
  NEGATIVE_INFINITY,
  NEGATIVE_ZERO,
  NULL,
  POSITIVE_INFINITY,
  UNDEFINED,
} from "./sentinels.ts";

/** A reference to server-rendered JSX that the browser finds in the DOM. */
export class SlotRef {
  constructor(readonly id: number, readonly name: string) {}
}

/** Thrown for a value that cannot travel to the browser; `path` locates it. */
export class SerializeError extends Error {
  constructor(
    readonly path: ReadonlyArray<string | number>,
    readonly what: string,
  ) {
    super(`Cannot serialize ${what} at ${formatPath(path)}.`);
    this.name = "SerializeError";
  }
}

/** Formats a property path such as `[0, "config", "items", 2]` as `0.config.items[2]`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : out === "" ? key : `.${key}`;
  }
  return out === "" ? "(root)" : out;
}

/**
 * Serializes `root` to a JSON string; shared references are kept once.
 *
 * ```ts
 * const shared = { n: 1 };
 * serialize([shared, shared, new Date(0), undefined]);
 * ```
 */
export function serialize(root: unknown): string {
  const out: unknown[] = [];
  const seen = new Map<unknown, number>();
  const path: (string | number)[] = [];

  const push = (value: unknown): number => out.push(value) - 1;

  const encode = (value: unknown): number => {
    switch (typeof value) {
      case "undefined":
        return UNDEFINED;
      case "number":
        if (Number.isNaN(value)) return NAN;
        if (value === Infinity) return POSITIVE_INFINITY;
        if (value === -Infinity) return NEGATIVE_INFINITY;
        if (Object.is(value, -0)) return NEGATIVE_ZERO;
        return push(value);
      case "string":
      case "boolean":
        return push(value);
      case "bigint":
        return push(["BigInt", value.toString()]);
      case "function":
        throw new SerializeError([...path], "a function");
      case "symbol":
        throw new SerializeError([...path], "a symbol");
    }
    if (value === null) return NULL;
    const known = seen.get(value);
    if (known !== undefined) return known;
    const index = push(0);
    seen.set(value, index);
    out[index] = encodeObject(value as object);
    return index;
  };

  const child = (key: string | number, value: unknown): number => {
    path.push(key);
    const index = encode(value);
    path.pop();
    return index;
  };

  const encodeObject = (value: object): unknown => {
    if (Array.isArray(value)) {
      const items = new Array<number>(value.length);
      for (let i = 0; i < value.length; i++) {
        items[i] = i in value ? child(i, value[i]) : HOLE;
      }
      return items;
    }
    if (value instanceof Signal) {
      // A computed signal is a subclass; the browser gets a read-only copy.
      const tag = Object.getPrototypeOf(value) === Signal.prototype
        ? "Signal"
        : "Computed";
      return [tag, child("value", value.peek())];
    }
    if (value instanceof SlotRef) return ["Slot", value.id, value.name];
    if (value instanceof Date) {
      const time = value.getTime();
      return ["Date", Number.isNaN(time) ? null : time];
    }
    if (value instanceof URL) return ["URL", value.href];
    if (value instanceof RegExp) return ["RegExp", value.source, value.flags];
    if (value instanceof Map) {
      const entries: (string | number)[] = ["Map"];
      let i = 0;
      for (const [k, v] of value) {
        entries.push(child(`<key ${i}>`, k), child(`<value ${i}>`, v));
        i++;
      }
      return entries;
    }
    if (value instanceof Set) {
      const entries: (string | number)[] = ["Set"];
      let i = 0;
      for (const v of value) entries.push(child(`<item ${i++}>`, v));
      return entries;
    }
    if (value instanceof Uint8Array) {
      let binary = "";
      for (let i = 0; i < value.length; i++) {
        binary += String.fromCharCode(value[i]);
      }
      return ["Uint8Array", btoa(binary)];
    }
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = proto?.constructor?.name ?? "unknown";
      throw new SerializeError([...path], `an instance of class ${name}`);
    }
    const fields: Record<string, number> = {};
    for (const key of Object.keys(value)) {
      fields[key] = child(key, (value as Record<string, unknown>)[key]);
    }
    return fields;
  };

  encode(root);
  return escapeForScript(JSON.stringify(out));
}

/**
 * Makes JSON safe inside an HTML `<script>`: `<` only occurs inside JSON strings,
 * where `\u003c` means the same, so `</script>` and `<!--` can never appear.
 */
function escapeForScript(json: string): string {
  return json.replaceAll("<", "\\u003c").replaceAll("\u2028", "\\u2028")
    .replaceAll("\u2029", "\\u2029");
}
