-- heartbeat.lua: wrk script, one heartbeat per request, rotating over pre-created peers.
--
-- SPDX-License-Identifier: GPL-3.0-or-later
--
-- Usage: wrk ... -s heartbeat.lua URL -- PEERS_FILE
-- PEERS_FILE has one "PATH TOKEN" line per peer, PATH being
-- /v1/parties/{party_id}/peers/{peer_id}/heartbeat.

local thread_count = 0

function setup(thread)
  thread:set("thread_id", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  peers = {}
  for line in io.lines(args[1]) do
    local path, token = line:match("^(%S+)%s+(%S+)$")
    if path ~= nil then
      peers[#peers + 1] = wrk.format("POST", path, { ["Authorization"] = "Bearer " .. token }, "")
    end
  end
  if #peers == 0 then
    error("no peers in " .. tostring(args[1]))
  end
  -- Threads start at different peers so that they do not move in step.
  index = (thread_id * 17) % #peers
end

function request()
  index = index % #peers + 1
  return peers[index]
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
