-- Pushes one exposition body to BENCH_GROUPS groups in turn: <prefix>/instance/i<n>.
-- BENCH_IDEMPOTENCY=1 adds a unique Idempotency-Key per push (aggregation mode); BENCH_CONTENT_TYPE sets the body's
-- type (text 0.0.4 unless given, e.g. delimited protobuf).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local body = file:read("*a")
file:close()
local groups = tonumber(os.getenv("BENCH_GROUPS") or "100")
local prefix = os.getenv("BENCH_PATH_PREFIX")
local method = os.getenv("BENCH_METHOD") or "PUT"
local idempotent = os.getenv("BENCH_IDEMPOTENCY") == "1"
local content_type = os.getenv("BENCH_CONTENT_TYPE") or "text/plain; version=0.0.4"
local run_id = tostring(os.time()) .. tostring(math.random(1, 1000000000))
local counter = 0

request = function()
  counter = counter + 1
  local headers = { ["Content-Type"] = content_type }
  if idempotent then headers["Idempotency-Key"] = run_id .. "-" .. counter end
  return wrk.format(method, prefix .. "/instance/i" .. (counter % groups), headers, body)
end

done = function(summary, latency, requests) bench_report(summary, latency) end
