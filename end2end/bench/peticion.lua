-- One fixed request, repeated: wrk -s peticion.lua URL, configured through the environment
-- (wrk's own argument passing is awkward to get right from another program):
--   BENCH_METHOD        GET or POST (default GET)
--   BENCH_BODY          request body (optional)
--   BENCH_CONTENT_TYPE  its Content-Type (default application/json when there is a body)
--   BENCH_EXPECT        the status every answer should have (default 200)
-- wrk's own "Non-2xx or 3xx" count cannot tell an expected 404 from a failure, so every status
-- other than BENCH_EXPECT is counted here and printed by done() as `bench-unexpected N` plus one
-- `bench-status CODE N` line per unexpected code. (Defining response() costs wrk a little speed.)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "GET"
  local body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  local headers = {}
  if body then
    headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
  end
  expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
  unexpected = 0
  statuses = {}
  req = wrk.format(method, nil, headers, body)
end

function request()
  return req
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, codes = 0, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
  end
  io.write(string.format("bench-unexpected %d\n", total))
  for code, n in pairs(codes) do
    io.write(string.format("bench-status %d %d\n", code, n))
  end
end
