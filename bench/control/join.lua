-- join.lua: wrk script, one join per request with a new WireGuard and disco key each time,
-- spread over pre-created parties (a party holds at most 250 peers).
--
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Usage: wrk ... -s join.lua URL -- INVITES_FILE [CLIENT]
-- INVITES_FILE has one invite code per line. CLIENT (0 by default) tells apart wrk processes
-- that run at once, so that their keys differ.

local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function symbol(value)
  return alphabet:sub(value + 1, value + 1)
end

-- Standard base64 (with padding), as wg prints keys.
local function base64(bytes)
  local out = {}
  for i = 1, #bytes, 3 do
    local a, b, c = bytes[i], bytes[i + 1], bytes[i + 2]
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = symbol(math.floor(n / 262144) % 64) .. symbol(math.floor(n / 4096) % 64)
                    .. (b and symbol(math.floor(n / 64) % 64) or "=")
                    .. (c and symbol(n % 64) or "=")
  end
  return table.concat(out)
end

-- 32 bytes: the client, the thread and a counter make it unique in the run, the rest is
-- random.
local function new_key(kind)
  local bytes = { client * 16 + thread_id + 1, kind, math.floor(counter / 16777216) % 256,
                  math.floor(counter / 65536) % 256, math.floor(counter / 256) % 256,
                  counter % 256 }
  for i = #bytes + 1, 32 do
    bytes[i] = math.random(0, 255)
  end
  return base64(bytes)
end

function init(args)
  invites = {}
  for line in io.lines(args[1]) do
    if line:match("^%S+$") then
      invites[#invites + 1] = line
    end
  end
  if #invites == 0 then
    error("no invite codes in " .. tostring(args[1]))
  end
  client = tonumber(args[2] or "0")
  math.randomseed(os.time() * 256 + client * 16 + thread_id)
  counter = 0
  headers = { ["Content-Type"] = "application/json" }
end

function request()
  counter = counter + 1
  -- Consecutive joins go to different parties, the way strangers would.
  local invite = invites[(counter * 4 + client * 2 + thread_id) % #invites + 1]
  local body = string.format('{"invite_code": "%s", "peer": {"name": "bench %d-%d", '
                             .. '"wg_public_key": "%s", "disco_public_key": "%s", '
                             .. '"endpoints": ["192.0.2.1:51820"]}}',
                             invite, thread_id, counter, new_key(1), new_key(2))
  return wrk.format("POST", "/v1/join", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  -- A read error is mostly the server closing a connection after its answer: wrk then
  -- reconnects. They are counted apart from connect, write and timeout errors.
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d "
                         .. "closed=%d errors=%d\n",
                         summary.requests, summary.duration, latency:percentile(50),
                         latency:percentile(99), e.status, e.read,
                         e.connect + e.write + e.timeout))
end
