/**
 * The browser half of `serialize.ts`: rebuilds values from the flat array,
 * keeping shared references shared. Signals and slots are created by callbacks,
 * so this module does not depend on Preact.
 *
 * Browser compatible: no Deno APIs.
 *
 * @module
 */

import {
  HOLE,
  NAN,
  NEGATIVE_INFINITY,
  NEGATIVE_ZERO,
  NULL,
  POSITIVE_INFINITY,
  UNDEFINED,
} from "./sentinels.ts";

/** Creates the browser-side objects for tags that need a framework. */
export interface Revivers {
  /** A writable signal holding `value` (usually `@preact/signals`' `signal`). */
  Signal(value: unknown): { value: unknown };
  /** A read-only signal holding `value`. */
  Computed(value: unknown): unknown;
  /** Server JSX found in the DOM for slot `id` (prop `name`). */
  Slot(id: number, name: string): unknown;
}

/** Rebuilds the value serialized by `serialize()`; `data` is its parsed JSON. */
export function deserialize(data: unknown[], revivers: Revivers): unknown {
  const done = new Map<number, unknown>();

  const decode = (index: number): unknown => {
    if (index < 0) return sentinel(index);
    if (done.has(index)) return done.get(index);
    const raw = data[index];
    if (typeof raw !== "object" || raw === null) return raw;
    if (Array.isArray(raw)) {
      if (typeof raw[0] === "string") return decodeTagged(index, raw);
      const items: unknown[] = [];
      done.set(index, items);
      for (let i = 0; i < raw.length; i++) {
        if (raw[i] === HOLE) items.length = i + 1;
        else items[i] = decode(raw[i]);
      }
      return items;
    }
    const object: Record<string, unknown> = {};
    done.set(index, object);
    for (const [key, child] of Object.entries(raw)) {
      // defineProperty keeps a "__proto__" key an own property, never a prototype.
      Object.defineProperty(object, key, {
        value: decode(child as number),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return object;
  };

  const decodeTagged = (index: number, raw: unknown[]): unknown => {
    const tag = raw[0];
    let value: unknown;
    switch (tag) {
      case "Date":
        value = new Date(raw[1] === null ? NaN : raw[1] as number);
        break;
      case "URL":
        value = new URL(raw[1] as string);
        break;
      case "RegExp":
        value = new RegExp(raw[1] as string, raw[2] as string);
        break;
      case "BigInt":
        value = BigInt(raw[1] as string);
        break;
      case "Uint8Array": {
        const binary = atob(raw[1] as string);
        const bytes = new Uint8Array(binary.length);
        for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
        value = bytes;
        break;
      }
      case "Map": {
        const map = new Map();
        done.set(index, map);
        for (let i = 1; i < raw.length; i += 2) {
          map.set(decode(raw[i] as number), decode(raw[i + 1] as number));
        }
        return map;
      }
      case "Set": {
        const set = new Set();
        done.set(index, set);
        for (let i = 1; i < raw.length; i++) set.add(decode(raw[i] as number));
        return set;
      }
      case "Signal": {
        // Registered before its value is decoded, so a signal may hold itself.
        const signal = revivers.Signal(undefined);
        done.set(index, signal);
        signal.value = decode(raw[1] as number);
        return signal;
      }
      case "Computed":
        value = revivers.Computed(decode(raw[1] as number));
        break;
      case "Slot":
        value = revivers.Slot(raw[1] as number, raw[2] as string);
        break;
      default:
        throw new Error(`Unknown serialized tag "${String(tag)}".`);
    }
    done.set(index, value);
    return value;
  };

  return decode(0);
}

function sentinel(index: number): unknown {
  switch (index) {
    case UNDEFINED:
      return undefined;
    case NULL:
      return null;
    case NAN:
      return NaN;
    case POSITIVE_INFINITY:
      return Infinity;
    case NEGATIVE_INFINITY:
      return -Infinity;
    case NEGATIVE_ZERO:
      return -0;
    default:
      throw new Error(`Unknown serialized sentinel ${index}.`);
  }
}
