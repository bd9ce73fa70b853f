-- OTLP exports of one body template to BENCH_GROUPS groups in turn. The template carries markers the script
-- replaces per request: the service.instance.id "IIII" (the group, 4 digits) and each point's window — 8 bytes
-- "SSSSSSSS"/"EEEEEEEE" (fixed64 start/end) in protobuf, the decimal of those bytes in JSON — so every export
-- covers a new window [base + n, base + n + 1) of its streams and is applied, never taken for a retry.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
local template = file:read("*a")
file:close()
local groups = tonumber(os.getenv("BENCH_GROUPS") or "100")
local content_type = os.getenv("BENCH_CONTENT_TYPE")
local json = content_type == "application/json"
-- Microseconds of wall time: the windows of a later round start after those of an earlier one (exact in a double).
local base = os.time() * 1000000
local counter = 0

local function fixed64(value)
  local bytes = {}
  for i = 1, 8 do
    local byte = value % 256
    bytes[i] = string.char(byte)
    value = (value - byte) / 256
  end
  return table.concat(bytes)
end

local start_marker = json and "6004234345560363859" or "SSSSSSSS"
local end_marker = json and "4991471925827290437" or "EEEEEEEE"

request = function()
  counter = counter + 1
  local start = base + counter
  local start_text = json and string.format("%.0f", start) or fixed64(start)
  local end_text = json and string.format("%.0f", start + 1) or fixed64(start + 1)
  local instance = string.format("%04d", counter % groups)
  local body = template:gsub("IIII", function() return instance end)
  body = body:gsub(start_marker, function() return start_text end)
  body = body:gsub(end_marker, function() return end_text end)
  return wrk.format("POST", "/v1/metrics", { ["Content-Type"] = content_type }, body)
end

done = function(summary, latency, requests) bench_report(summary, latency) end
