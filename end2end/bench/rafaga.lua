-- The "reset flood": every demo account in turn, alternating a reset request
-- (POST /api/solicitar_reinicio, which queues an e-mail whose sending costs an Argon2 hash) and a
-- successful sign-in (POST /ingreso, an Argon2 verification). Only correct passwords are sent, so
-- no ID is ever locked out. Expected answers: 200 with JSON for resets, 303 for sign-ins;
-- anything else is counted and printed by done() like peticion.lua does (`bench-unexpected`,
-- `bench-status`), and every answer's code is tallied in `bench-seen CODE N` lines.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("offset", #threads) -- threads start at different places in the cycle
end

-- usuario, identificación, correo of the approved demo registrations (server/src/seed.rs).
local cuentas = {
  { "MPerez", "1710034065", "maria.perez@example.com" },
  { "jsalazar.rl", "0926687856", "jorge.salazar@example.com" },
  { "jsalazar.emp", "0926687856", "jorge.salazar@example.com" },
  { "lmora.aux", "0601234560", "luis.mora@example.com" },
  { "cvera.ep", "1309876546", "carla.vera@example.com" },
  { "rcampos.fp", "0802468132", "rosa.campos@example.com" },
  { "aauditor", "ab123456", "ana.auditora@example.com" },
  { "pperito", "1101357927", "pablo.perito@example.com" },
  { "oint.onu", "XK9876543", "olga.int@example.com" },
  { "race.ec", "2008642023", "raul.race@example.com" },
}
-- "clave de demostración", form-encoded.
local clave = "clave%20de%20demostraci%C3%B3n"

function init(args)
  reqs = {}
  for _, c in ipairs(cuentas) do
    local json = string.format('{"usuario":"%s","identificacion":"%s","correo":"%s"}',
      c[1], c[2], c[3])
    table.insert(reqs, wrk.format("POST", "/api/solicitar_reinicio",
      { ["Content-Type"] = "application/json" }, json))
    table.insert(reqs, wrk.format("POST", "/ingreso",
      { ["Content-Type"] = "application/x-www-form-urlencoded" },
      "usuario=" .. c[1] .. "&clave=" .. clave))
  end
  i = ((offset or 1) - 1) * 7 % #reqs
  unexpected = 0
  statuses = {}
  seen = {}
end

function request()
  i = i % #reqs + 1
  return reqs[i]
end

-- Which request an answer belongs to is not known here, but the kinds differ: a reset answers
-- 200 with JSON, a sign-in 303; a refused sign-in would answer 200 with the HTML page again, so a
-- 200 that is not JSON counts as unexpected (tallied as "200-html").
local function is_json(headers)
  for name, value in pairs(headers) do
    if string.lower(name) == "content-type" then
      return string.find(value, "application/json", 1, true) ~= nil
    end
  end
  return false
end

function response(status, headers, body)
  local label = tostring(status)
  local ok = status == 303
  if status == 200 then
    ok = is_json(headers)
    if not ok then label = "200-html" end
  end
  seen[label] = (seen[label] or 0) + 1
  if not ok then
    unexpected = unexpected + 1
    statuses[label] = (statuses[label] or 0) + 1
  end
end

function done(summary, latency, requests)
  local total, codes, all = 0, {}, {}
  for _, thread in ipairs(threads) do
    total = total + thread:get("unexpected")
    for code, n in pairs(thread:get("statuses")) do
      codes[code] = (codes[code] or 0) + n
    end
    for code, n in pairs(thread:get("seen")) do
      all[code] = (all[code] or 0) + n
    end
  end
  io.write(string.format("bench-unexpected %d\n", total))
  for code, n in pairs(codes) do
    io.write(string.format("bench-status %s %d\n", code, n))
  end
  for code, n in pairs(all) do
    io.write(string.format("bench-seen %s %d\n", code, n))
  end
end
