-- One request over and over, with a client address of its own each time
-- and, when BENCH_TOKENS names a file of access tokens, a bearer token
-- taken in turn from it.  BENCH_METHOD (GET), BENCH_PATH, BENCH_BODY and
-- BENCH_CTYPE say which request.  Used for /users/me, /authz/check, the
-- JWKS and the bare evhttp server of the HTTP ceiling.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local method = os.getenv("BENCH_METHOD") or "GET"
local path = os.getenv("BENCH_PATH") or "/"
local body = os.getenv("BENCH_BODY")
local ctype = os.getenv("BENCH_CTYPE") or "application/json"
local tokens, ntokens, n

function init(args)
	tokens = bench_lines(os.getenv("BENCH_TOKENS"))
	ntokens = #tokens
	n = (tid or 0) * 7919
end

function request()
	local h = { ["X-Forwarded-For"] = bench_xff() }
	if ntokens > 0 then
		n = n + 1
		h["Authorization"] = "Bearer " .. tokens[n % ntokens + 1]
	end
	if body ~= nil and body ~= "" then
		h["Content-Type"] = ctype
	end
	return wrk.format(method, path, h, body)
end
