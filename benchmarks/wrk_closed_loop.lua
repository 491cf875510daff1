-- wrk script of benchmarks/wrkload.py: POST one JSON body per request, closed loop, until a
-- request count (then it stops wrk at once) or wrk's -d time, whichever comes first.
--
-- Configured by environment variables (wrkload.py sets them):
--   VIDMOCK_WRK_BODY       the request body (JSON text)
--   VIDMOCK_WRK_UUID_SLOT  a string in the body replaced by a fresh v4 UUID per request ("" = none)
--   VIDMOCK_WRK_TOKEN      sent as "Authorization: Bearer <token>" on every request
--   VIDMOCK_WRK_REQUESTS   answers to wait for before stopping
--   VIDMOCK_WRK_EXPECT     Lua pattern a 2xx body must match ("" = any)
--   VIDMOCK_WRK_REFUSE     Lua pattern a 2xx body must not match ("" = none)
--   VIDMOCK_WRK_OUT        file that done() writes its JSON report to
-- The report holds wrk's latency histogram as [microseconds, count] pairs; wrk has already added
-- its coordinated-omission samples to it, which wrkload.py takes out again.

local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } vidmock_timespec;
int clock_gettime(int clock, vidmock_timespec *now);
int kill(int pid, int sig);
int getpid(void);
]]
local CLOCK_MONOTONIC, SIGINT = 1, 2
local clock = ffi.new("vidmock_timespec")

local function now()
   ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
   return tonumber(clock.tv_sec) + tonumber(clock.tv_nsec) * 1e-9
end

local function setting(name)
   local value = os.getenv("VIDMOCK_WRK_" .. name)
   if value == nil then error("wrk_closed_loop.lua: VIDMOCK_WRK_" .. name .. " is not set") end
   return value
end

local body = setting("BODY")
local slot = setting("UUID_SLOT")
local target = tonumber(setting("REQUESTS"))
local expect = setting("EXPECT")
local refuse = setting("REFUSE")

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. setting("TOKEN")

-- per thread (wrkload.py runs one): counters read back by done() through thread:get()
answered, non_2xx, unexpected, first_bad, started, last = 0, 0, 0, "", 0, 0


local function uuid4()  -- version 4, variant 10xx: the taskUUID pattern of schemas/definitions.json
   return string.format("%08x-%04x-4%03x-%x%03x-%04x%08x", math.random(0, 0xffffffff),
      math.random(0, 0xffff), math.random(0, 0xfff), math.random(8, 11), math.random(0, 0xfff),
      math.random(0, 0xffff), math.random(0, 0xffffffff))
end

local before, after  -- the formatted request around the UUID slot

function init(args)
   started = now()
   math.randomseed(ffi.C.getpid() * 1e6 + (started % 1e6) * 1e3)
   if slot ~= "" then
      -- A UUID has the slot's length, so the request is formatted once (wrk adds the Host header
      -- just before init, Content-Length here) and only the UUID changes per request.
      local formatted = wrk.format()
      local at = formatted:find(slot, 1, true)
      if at == nil or #slot ~= 36 then error("wrk_closed_loop.lua: the UUID slot must be 36 characters of the body") end
      before, after = formatted:sub(1, at - 1), formatted:sub(at + #slot)
   end
end

if slot ~= "" then
   function request()
      return before .. uuid4() .. after
   end
end

function response(status, headers, reply)
   answered = answered + 1
   last = now()
   local bad = status < 200 or status > 299
   if bad then
      non_2xx = non_2xx + 1
   elseif (expect ~= "" and not reply:find(expect)) or (refuse ~= "" and reply:find(refuse)) then
      unexpected = unexpected + 1
      bad = true
   end
   if bad and first_bad == "" then first_bad = status .. " " .. reply:sub(1, 300) end
   if answered == target then
      wrk.thread:stop()
      ffi.C.kill(ffi.C.getpid(), SIGINT)  -- wakes wrk's main thread, which otherwise sleeps out -d
   end
end

local threads = {}

function setup(thread)
   table.insert(threads, thread)
end

local function quote(text)
   return '"' .. text:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

function done(summary, latency, requests)
   local parts = {}
   for _, t in ipairs(threads) do
      table.insert(parts, string.format(
         '{"answered": %d, "non_2xx": %d, "unexpected": %d, "first_bad": %s, "started": %.6f, "last": %.6f}',
         t:get("answered"), t:get("non_2xx"), t:get("unexpected"), quote(t:get("first_bad")),
         t:get("started"), t:get("last")))
   end
   local histogram = {}
   for i = 1, #latency do
      local micros, count = latency(i)
      table.insert(histogram, string.format("[%d, %d]", micros, count))
   end
   local e = summary.errors
   local out = assert(io.open(setting("OUT"), "w"))
   out:write(string.format(
      '{"duration_us": %d, "requests": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, '
      .. '"timeout": %d}, "threads": [%s], "latency_us": [%s]}\n',
      summary.duration, summary.requests, e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(parts, ", "), table.concat(histogram, ", ")))
   out:close()
end
