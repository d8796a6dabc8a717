import assert from "node:assert/strict";
import { computed, type Signal, signal } from "@preact/signals";
import { deserialize } from "../../../lib/fresh/shared/deserialize.ts";
import { serialize, SlotRef } from "../../../lib/fresh/shared/serialize.ts";

const revivers = {
  Signal: (value: unknown) => signal(value),
  Computed: (value: unknown) => computed(() => value),
  Slot: (id: number, name: string) => ({ slot: id, name }),
};

const roundTrip = (value: unknown) =>
  deserialize(JSON.parse(serialize(value)), revivers);

Deno.test("serialize - JSON values and the values JSON loses survive a round trip", () => {
  const value = {
    text: "hi",
    number: 1.5,
    yes: true,
    nothing: null,
    missing: undefined,
    nan: NaN,
    up: Infinity,
    down: -Infinity,
    negativeZero: -0,
    big: 12345678901234567890n,
    date: new Date("2026-03-01T12:00:00.000Z"),
    invalidDate: new Date(NaN),
    url: new URL("https://example.com/a?b=c#d"),
    regexp: /a+b/gi,
    map: new Map<unknown, unknown>([["k", 1], [2, { deep: [1, 2] }]]),
    set: new Set(["a", 3]),
    bytes: new Uint8Array([0, 1, 254, 255]),
    sparse: [1, , 3],
    nested: { list: [{ a: 1 }, [2, [3]]] },
  };
  const back = roundTrip(value) as typeof value;
  assert.deepEqual(back, value);
  assert.ok(Object.is(back.negativeZero, -0));
  assert.ok(back.date instanceof Date);
  assert.ok(Number.isNaN(back.invalidDate.getTime()));
  assert.ok(back.url instanceof URL);
  assert.equal(back.sparse.length, 3);
  assert.ok(!(1 in back.sparse));
  assert.ok("missing" in back);
});

Deno.test("serialize - shared references and cycles stay shared", () => {
  const shared = { n: 1 };
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const back = roundTrip([shared, shared, cyclic]) as [
    typeof shared,
    typeof shared,
    Record<string, unknown>,
  ];
  assert.equal(back[0], back[1]);
  assert.equal(back[2].self, back[2]);
});

Deno.test("serialize - signals arrive as signals, and one signal passed twice arrives as one", () => {
  const count = signal(4);
  const doubled = computed(() => count.value * 2);
  const back = roundTrip([{ count, doubled }, { again: count }]) as [
    { count: Signal<number>; doubled: Signal<number> },
    { again: Signal<number> },
  ];
  assert.equal(back[0].count.value, 4);
  assert.equal(back[0].count, back[1].again);
  back[1].again.value = 9;
  assert.equal(back[0].count.value, 9);
  assert.equal(back[0].doubled.value, 8);
});

Deno.test("serialize - slots become references, `<` is escaped", () => {
  const json = serialize({
    children: new SlotRef(3, "children"),
    html: "</script><!--",
  });
  assert.doesNotMatch(json, /</);
  const back = deserialize(JSON.parse(json), revivers) as Record<
    string,
    unknown
  >;
  assert.deepEqual(back.children, { slot: 3, name: "children" });
  assert.equal(back.html, "</script><!--");
});

Deno.test("serialize - functions, symbols and class instances fail with their path", () => {
  class Money {
    constructor(readonly cents: number) {}
  }
  assert.throws(
    () => serialize({ a: { b: [() => 1] } }),
    /a function at a\.b\[0\]/,
  );
  assert.throws(() => serialize({ s: Symbol("x") }), /a symbol at s/);
  assert.throws(
    () => serialize({ price: new Money(5) }),
    /class Money at price/,
  );
});

Deno.test("serialize - a __proto__ key stays an own property", () => {
  const value = JSON.parse('{"__proto__": {"polluted": true}}');
  const back = roundTrip(value) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(back), Object.prototype);
  assert.deepEqual(Object.keys(back), ["__proto__"]);
});
