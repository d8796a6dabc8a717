import assert from "node:assert/strict";
import { gaugeModel } from "../../lib/dashboard/gauge.ts";

Deno.test("gauge - used and reserved are drawn side by side and announced together", () => {
  const model = gaugeModel({
    limit: 200,
    used: 60,
    reserved: 40,
    metric: "requests",
    percent: 50,
  });
  assert.equal(model.usedPct, 30);
  assert.equal(model.reservedPct, 20);
  assert.equal(model.valueNow, 100);
  assert.equal(model.valueMax, 200);
  assert.equal(model.over, false);
  assert.equal(
    model.valueText,
    "60 requests used of 200 requests (50%), 40 requests reserved",
  );
});

Deno.test("gauge - over the limit the bar is full, the meter stays in range, and the words say so", () => {
  const model = gaugeModel({
    limit: 100,
    used: 90,
    reserved: 30,
    metric: "tokens",
    percent: 120,
  });
  assert.equal(model.usedPct, 90);
  assert.equal(model.reservedPct, 10);
  assert.equal(model.valueNow, 100);
  assert.equal(model.over, true);
  assert.match(model.valueText, /over the limit$/);
});

Deno.test("gauge - money is written in dollars and a zero limit fills as soon as anything is used", () => {
  const money = gaugeModel({
    limit: 5,
    used: 1.25,
    reserved: 0,
    metric: "cost_usd",
    percent: 25,
  });
  assert.equal(money.valueText, "$1.25 used of $5.00 (25%)");
  const zero = gaugeModel({
    limit: 0,
    used: 1,
    reserved: 0,
    metric: "requests",
    percent: Number.POSITIVE_INFINITY,
  });
  assert.equal(zero.usedPct, 100);
  assert.equal(zero.valueNow, 0);
  assert.equal(zero.over, true);
});
