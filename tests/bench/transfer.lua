-- wrk script for tests/bench/ledger.sh: POST /api/transactions/ transfers of 1.00 between
-- random pairs of seeded users; and for tests/bench/twin.sh (MODE "simulate"): POST
-- /api/simulate/ what-ifs of a random seeded user (a random scenario and amount).
--   wrk -s transfer.lua URL -- USERS_FILE KEY_PREFIX [MODE]
-- USERS_FILE: one "<user id> <access token>" per line (written by ledger.sh's seeding).
-- Each request: a random sender's token, a random other user's id as to_account, and an
-- Idempotency-Key unique in the run (KEY_PREFIX-<thread>-<counter>), so no request is a replay.
-- At the end prints "status <code>=<count> ..." and the first non-2xx body seen, if any.

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local ids, tokens, n = {}, {}, 0
local prefix, counter, mode = "", 0, "transfer"
local scenarios = {"withdrawal", "deposit", "rate_change", "recurring_expense",
                   "investment_growth", "emergency_fund"}
statuses = {}
sample = ""

function init(args)
  local path = args[1] or error("usage: -- USERS_FILE KEY_PREFIX")
  prefix = args[2] or error("usage: -- USERS_FILE KEY_PREFIX")
  mode = args[3] or "transfer"
  for line in io.lines(path) do
    local id, token = line:match("^(%S+)%s+(%S+)$")
    if id then
      n = n + 1
      ids[n], tokens[n] = id, token
    end
  end
  if n < 2 then error("need at least 2 users in " .. path) end
  math.randomseed(os.time() * 1000 + tid)
  for _ = 1, 10 do math.random() end
end

local function simulate()
  local who = math.random(n)
  local body = '{"scenario":"' .. scenarios[math.random(#scenarios)] .. '","amount":"' ..
               math.random(1, 90) .. "." .. string.format("%02d", math.random(0, 99)) .. '"}'
  return wrk.format("POST", "/api/simulate/", {
    ["Authorization"] = "Bearer " .. tokens[who],
    ["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter,
    ["Content-Type"] = "application/json",
  }, body)
end

function request()
  counter = counter + 1
  if mode == "simulate" then return simulate() end
  local from = math.random(n)
  local to = math.random(n - 1)
  if to >= from then to = to + 1 end
  local body = '{"type":"transfer","amount":"1.00","to_account":"' .. ids[to] .. '"}'
  return wrk.format("POST", "/api/transactions/", {
    ["Authorization"] = "Bearer " .. tokens[from],
    ["Idempotency-Key"] = prefix .. "-" .. tid .. "-" .. counter,
    ["Content-Type"] = "application/json",
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if (status < 200 or status > 299) and sample == "" then
    sample = status .. " " .. string.sub(body or "", 1, 200)
  end
end

function done(summary, latency, requests)
  local total, first = {}, ""
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + count end
    local s = t:get("sample")
    if first == "" and s ~= "" then first = s end
  end
  local codes = {}
  for code in pairs(total) do table.insert(codes, code) end
  table.sort(codes)
  local parts = {}
  for _, code in ipairs(codes) do table.insert(parts, code .. "=" .. total[code]) end
  io.write("status " .. table.concat(parts, " ") .. "\n")
  if first ~= "" then io.write("first_non2xx " .. first:gsub("[\r\n]", " ") .. "\n") end
end
