-- Shared by the wrk scripts of regress/bench/bench.sh (loaded with
-- dofile from BENCH_DIR, in wrk's main state and in every thread's).
--
-- Every request carries its own X-Forwarded-For (authd trusts 127.0.0.1
-- as a proxy in the bench): authd limits requests per client address,
-- and one address could not make more than "rate" (at most 100000) a
-- minute.  Real traffic comes from many addresses.

local threads = {}
local nthreads = 0

-- Main state: numbers the threads, so that each one starts elsewhere in
-- the lists and makes its own addresses.
function setup(thread)
	nthreads = nthreads + 1
	thread:set("tid", nthreads)
	table.insert(threads, thread)
end

-- Thread state: the lines of a file (tokens), or an empty list.
function bench_lines(path)
	local t = {}
	if path == nil or path == "" then
		return t
	end
	local f = assert(io.open(path, "r"))
	for line in f:lines() do
		if line ~= "" then
			table.insert(t, line)
		end
	end
	f:close()
	return t
end

local xff_n = 0

-- Thread state: the next client address of this thread (65536 each).
function bench_xff()
	xff_n = (xff_n + 1) % 65536
	return string.format("10.%d.%d.%d", tid or 0,
	    math.floor(xff_n / 256), xff_n % 256)
end

-- Thread state: with BENCH_STATUSES set (make soak), every answer is
-- counted by its status, and done() prints the counts.  Off by default:
-- a response() function makes wrk parse every answer for Lua, which
-- would lower the figures of the bench.
bench_counting = (os.getenv("BENCH_STATUSES") or "") ~= ""
statuses = {}

function bench_tally(status)
	local k = tostring(status)
	statuses[k] = (statuses[k] or 0) + 1
end

if bench_counting then
	function response(status, headers, body)
		bench_tally(status)
	end
end

-- Main state: the statuses counted by every thread, as JSON.
local function bench_statuses()
	local all, keys, out = {}, {}, {}
	for _, t in ipairs(threads) do
		local s = t:get("statuses")
		if s ~= nil then
			for k, v in pairs(s) do
				if all[k] == nil then
					table.insert(keys, k)
				end
				all[k] = (all[k] or 0) + v
			end
		end
	end
	table.sort(keys)
	for _, k in ipairs(keys) do
		table.insert(out, string.format("\"%s\": %d", k, all[k]))
	end
	return "{" .. table.concat(out, ", ") .. "}"
end

-- Main state: one line the shell parses.  Latencies are in
-- microseconds; status errors are answers of 400 and above (wrk's
-- count), socket errors those of connect, read and write.
function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("BENCH {\"requests\": %d, \"duration_us\": %d, " ..
	    "\"status_errors\": %d, \"socket_errors\": %d, " ..
	    "\"timeouts\": %d, \"p50_us\": %d, \"p99_us\": %d, " ..
	    "\"statuses\": %s}\n",
	    summary.requests, summary.duration, e.status,
	    e.connect + e.read + e.write, e.timeout,
	    latency:percentile(50.0), latency:percentile(99.0),
	    bench_counting and bench_statuses() or "{}"))
end
