-- wrk script for the proxy benchmarks: POSTs one chat completion request,
-- optionally waits a random time between requests on each connection (to hold
-- a roughly fixed rate with a fixed number of connections), and prints the
-- figures as one JSON line that bench/support/wrk.ts reads.
--
-- Settings come from the environment:
--   WRK_BODY      the request body (JSON)
--   WRK_HEADERS   extra headers, "name: value" separated by newlines
--   WRK_DELAY_MS  mean pause between requests on one connection (0 = none)

local body = os.getenv("WRK_BODY") or "{}"
local extra = os.getenv("WRK_HEADERS") or ""
local delay_ms = tonumber(os.getenv("WRK_DELAY_MS") or "0")

wrk.method = "POST"
wrk.body = body
local has_type = false
for line in string.gmatch(extra, "[^\n]+") do
  local name, value = string.match(line, "^([^:]+):%s*(.*)$")
  if name then
    wrk.headers[name] = value
    if string.lower(name) == "content-type" then has_type = true end
  end
end
if not has_type then wrk.headers["Content-Type"] = "application/json" end

-- Formatted once per thread, in init: wrk adds the Host header only then.
local request_bytes = nil

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
  request_bytes = wrk.format()
end

function request()
  return request_bytes
end

-- Uniform on [0, 2 * mean]: the mean rate holds, and connections do not march in step.
if delay_ms > 0 then
  function delay()
    return math.floor(math.random() * 2 * delay_ms + 0.5)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"mean":%.1f,"min":%d,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.min, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
