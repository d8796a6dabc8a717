import assert from "node:assert/strict";
import { throttle } from "../../lib/dashboard/throttle.ts";

Deno.test("throttle - a burst of calls runs once at once and once more at the end", async () => {
  let runs = 0;
  const refresh = throttle(() => runs++, 40);
  refresh();
  refresh();
  refresh();
  assert.equal(runs, 1);
  await new Promise((resolve) => setTimeout(resolve, 80));
  assert.equal(runs, 2);
  refresh.cancel();
});

Deno.test("throttle - cancel drops the pending run", async () => {
  let runs = 0;
  const refresh = throttle(() => runs++, 30);
  refresh();
  refresh();
  refresh.cancel();
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(runs, 1);
});
