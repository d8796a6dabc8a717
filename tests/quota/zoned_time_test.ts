import assert from "node:assert/strict";
import {
  calendarPeriod,
  canonicalTimeZone,
  periodIndex,
} from "../../lib/quota/zoned_time.ts";
import { ZONE_PROBE_CASES, zoneProbe } from "./support/zone_probe.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

Deno.test("zoned time - months of 28, 29, 30 and 31 days end at the right midnight", () => {
  const months: [number, number, number][] = [
    [2026, 1, 28], // February 2026
    [2028, 1, 29], // February 2028, a leap year
    [2026, 3, 30], // April
    [2026, 0, 31], // January
    [2026, 11, 31], // December, into the next year
  ];
  for (const [year, month0, days] of months) {
    const start = Date.UTC(year, month0, 1);
    const end = Date.UTC(year, month0 + 1, 1);
    const inside = calendarPeriod(start + 5 * DAY, "month", "UTC");
    assert.equal(inside.start, start);
    assert.equal(inside.end, end);
    assert.equal((inside.end - inside.start) / DAY, days);
    // One millisecond either side of the month's end.
    const lastMs = periodIndex(end - 1, "month", "UTC");
    const firstMs = periodIndex(end, "month", "UTC");
    assert.equal(lastMs, year * 12 + month0);
    assert.equal(firstMs, lastMs + 1);
  }
});

Deno.test("zoned time - a New York day lasts 23 hours on 2026-03-08 and 25 on 2026-11-01", () => {
  const spring = calendarPeriod(
    Date.UTC(2026, 2, 8, 12),
    "day",
    "America/New_York",
  );
  assert.equal(
    new Date(spring.start).toISOString(),
    "2026-03-08T05:00:00.000Z",
  );
  assert.equal(new Date(spring.end).toISOString(), "2026-03-09T04:00:00.000Z");
  assert.equal(spring.end - spring.start, 23 * HOUR);

  const autumn = calendarPeriod(
    Date.UTC(2026, 10, 1, 12),
    "day",
    "America/New_York",
  );
  assert.equal(
    new Date(autumn.start).toISOString(),
    "2026-11-01T04:00:00.000Z",
  );
  assert.equal(new Date(autumn.end).toISOString(), "2026-11-02T05:00:00.000Z");
  assert.equal(autumn.end - autumn.start, 25 * HOUR);
  // The repeated hour 01:00-02:00 is one day, not two.
  assert.equal(
    periodIndex(Date.UTC(2026, 10, 1, 5, 30), "day", "America/New_York"),
    periodIndex(Date.UTC(2026, 10, 1, 6, 30), "day", "America/New_York"),
  );
});

Deno.test("zoned time - one millisecond either side of a local midnight", () => {
  const midnight = Date.UTC(2026, 2, 9, 4); // 2026-03-09 00:00 in New York (EDT)
  const before = periodIndex(midnight - 1, "day", "America/New_York");
  const after = periodIndex(midnight, "day", "America/New_York");
  assert.equal(after, before + 1);
  assert.equal(before, Date.UTC(2026, 2, 8) / DAY);
});

Deno.test("zoned time - a zone with a 45-minute offset (Pacific/Chatham)", () => {
  // Chatham is UTC+13:45 in January (daylight time).
  const period = calendarPeriod(
    Date.UTC(2026, 0, 15, 0),
    "day",
    "Pacific/Chatham",
  );
  assert.equal(
    new Date(period.start).toISOString(),
    "2026-01-14T10:15:00.000Z",
  );
  assert.equal(period.end - period.start, DAY);
});

Deno.test("zoned time - unknown zones are told apart from known ones", () => {
  assert.equal(canonicalTimeZone("utc"), "UTC");
  assert.equal(canonicalTimeZone("Europe/Berlin"), "Europe/Berlin");
  assert.equal(canonicalTimeZone("Mars/Olympus"), null);
  assert.equal(canonicalTimeZone(""), null);
});

Deno.test("zoned time - the process's own TZ never changes a result", async () => {
  const here = JSON.stringify(zoneProbe());
  assert.ok(ZONE_PROBE_CASES.length > 10);
  // The offsets of 15 January 2026, as Date#getTimezoneOffset reports them, prove TZ took effect.
  const zones: [string, number][] = [
    ["Pacific/Chatham", -825],
    ["America/St_Johns", 210],
    ["Asia/Kathmandu", -345],
    ["UTC", 0],
  ];
  for (const [tz, offset] of zones) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        new URL("./support/zone_probe.ts", import.meta.url).pathname,
      ],
      env: { TZ: tz },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
    const probe = JSON.parse(new TextDecoder().decode(output.stdout));
    assert.equal(probe.processOffsetMinutes, offset, `TZ=${tz} took effect`);
    assert.deepEqual(probe.results, JSON.parse(here).results, `TZ=${tz}`);
  }
});
