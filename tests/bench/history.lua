-- wrk script for tests/bench/ledger.sh: GET the URL with "Authorization: Bearer <token>",
-- the token read from TOKEN_FILE (kept out of argv).
--   wrk -s history.lua URL -- TOKEN_FILE
-- At the end prints "status <code>=<count> ..." and the first non-2xx body seen, if any.

local threads = {}
function setup(thread) table.insert(threads, thread) end

statuses = {}
sample = ""

function init(args)
  local f = assert(io.open(args[1] or error("usage: -- TOKEN_FILE"), "r"))
  local token = f:read("*l")
  f:close()
  wrk.headers["Authorization"] = "Bearer " .. token
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
  local parts = {}
  for code, count in pairs(total) do table.insert(parts, code .. "=" .. count) end
  table.sort(parts)
  io.write("status " .. table.concat(parts, " ") .. "\n")
  if first ~= "" then io.write("first_non2xx " .. first:gsub("[\r\n]", " ") .. "\n") end
end
