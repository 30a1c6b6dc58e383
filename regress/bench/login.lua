-- Form logins of distinct users: each thread walks the user names
-- BENCH_USER_PREFIX1 .. BENCH_USER_PREFIX<BENCH_USERS> from its own
-- starting point (BENCH_USER_START further on, so that the runs of one
-- scenario log in other users), with the one password they all share.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local prefix = os.getenv("BENCH_USER_PREFIX") or "u"
local nusers = tonumber(os.getenv("BENCH_USERS") or "10000")
local password = os.getenv("BENCH_PASSWORD")
local start = tonumber(os.getenv("BENCH_USER_START") or "0")
local n

-- application/x-www-form-urlencoded: everything but unreserved bytes
-- escaped.
local function urlencode(s)
	return (s:gsub("[^%w%-%._~]", function(c)
		return string.format("%%%02X", string.byte(c))
	end))
end

function init(args)
	-- Threads start far apart so that they do not log the same users
	-- in at the same moment.
	n = start + ((tid or 1) - 1) * 4099
end

function request()
	n = n + 1
	local body = "grant_type=password&username=" ..
	    urlencode(prefix .. tostring(n % nusers + 1)) ..
	    "&password=" .. urlencode(password)
	return wrk.format("POST", "/api/v1/auth/login", {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["X-Forwarded-For"] = bench_xff(),
	}, body)
end
