-- wrk script: HTTP/1.1 pipelining. Each write carries DEPTH copies of "GET /" (the Host
-- header comes from wrk's own table), and wrk waits for all DEPTH responses before it sends
-- the next batch. DEPTH is the first script argument (after "--"), 16 if absent.
local batch

function init(args)
  local depth = tonumber(args[1]) or 16
  batch = string.rep(wrk.format("GET", "/"), depth)
end

function request()
  return batch
end
