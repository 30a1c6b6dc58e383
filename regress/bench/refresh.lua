-- Refreshes with rotating refresh tokens.  Each thread owns a queue of
-- the tokens of its sessions (BENCH_TOKENS, one refresh token a line,
-- dealt out to the threads): a request takes the token at the head, and
-- the answer puts the new one at the tail, so a token is never sent
-- twice (which authd would treat as reuse) and every connection always
-- has one in hand while the queue holds more tokens than the thread has
-- connections.  A failed answer loses its session's token.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")

local queue, head, tail

function init(args)
	local all = bench_lines(os.getenv("BENCH_TOKENS"))
	local nth = tonumber(os.getenv("BENCH_THREADS") or "1")
	queue = {}
	head = 1
	tail = 0
	for i = tid or 1, #all, nth do
		tail = tail + 1
		queue[tail] = all[i]
	end
end

function request()
	local t = "empty-queue"
	if head <= tail then
		t = queue[head]
		queue[head] = nil
		head = head + 1
	end
	return wrk.format("POST", "/api/v1/auth/refresh", {
		["Content-Type"] = "application/json",
		["X-Forwarded-For"] = bench_xff(),
	}, "{\"refresh_token\": \"" .. t .. "\"}")
end

function response(status, headers, body)
	if bench_counting then
		bench_tally(status)
	end
	if status ~= 200 then
		return
	end
	local t = body:match("\"refresh_token\"%s*:%s*\"([^\"]+)\"")
	if t ~= nil then
		tail = tail + 1
		queue[tail] = t
	end
end
