-- Random bodies: wrk -s aleatoria.lua URL, one line of BENCH_BODIES_FILE per request, chosen at
-- random, so that the server sees many identities (its caches and the database's pages as users
-- would make them) instead of one repeated body. Every request is formatted once, in init.
--   BENCH_METHOD        POST by default
--   BENCH_BODIES_FILE   one request body per line
--   BENCH_CONTENT_TYPE  default application/json
--   BENCH_EXPECT        the status every answer should have (default 200)
-- Unexpected statuses are counted and printed by done() as in peticion.lua.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

function init(args)
  local method = os.getenv("BENCH_METHOD") or "POST"
  local headers = { ["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE") or "application/json" }
  expected = tonumber(os.getenv("BENCH_EXPECT") or "200")
  unexpected = 0
  statuses = {}
  requests = {}
  for line in io.lines(os.getenv("BENCH_BODIES_FILE")) do
    if line ~= "" then
      table.insert(requests, wrk.format(method, nil, headers, line))
    end
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
