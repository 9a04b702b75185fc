-- wrk -s peticion.lua URL, configured through the environment (wrk's own argument passing is
-- awkward to get right from another program):
--   BENCH_METHOD        GET or POST (default GET)
--   BENCH_BODY          one request body, repeated (optional)
--   BENCH_BODIES_FILE   or one body per line of this file, a line at random per request, so that
--                       the server sees many identities as users would send them
--   BENCH_CONTENT_TYPE  their Content-Type (default application/json when there is a body)
--   BENCH_EXPECT        the status every answer should have (default 200)
-- Every request is formatted once, in init. wrk's own "Non-2xx or 3xx" count cannot tell an
-- expected 404 from a failure, so every status other than BENCH_EXPECT is counted here and
-- printed by done() as `bench-unexpected N` plus one `bench-status CODE N` line per unexpected
-- code. (Defining response() costs wrk a little speed.)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "GET"
  local file = os.getenv("BENCH_BODIES_FILE")
  local body = os.getenv("BENCH_BODY")
  if body == "" then body = nil end
  local headers = {}
  if body or file then
    headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json"
  end
  expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
  unexpected = 0
  statuses = {}
  requests = {}
  if file and file ~= "" then
    for line in io.lines(file) do
      if line ~= "" then
        table.insert(requests, wrk.format(method, nil, headers, line))
      end
    end
  else
    requests[1] = wrk.format(method, nil, headers, body)
  end
  math.randomseed(os.time() * 1000 + id)
end

function request()
  return requests[math.random(#requests)]
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
