-- Refresh with rotation: every refresh token is sent exactly once.
--
-- $WRK_TOKENS names a file of refresh tokens, one a line, minted before the run. Each wrk
-- thread takes every N-th line (N = threads) as its queue. A request takes the next token from
-- the queue; a 200 answer carries the successor ("refresh" in the body), which goes back on
-- the queue, so each connection follows its own rotation chain as a client would, and no token
-- is ever sent twice. A non-200 answer (or a connection lost mid-request) uses up a token
-- without a successor, and the next request takes a spare from the file. The file must hold at
-- least one token per connection; spares cover failures. If the queue runs dry the request is
-- sent with an invalid token and counted as "starved" (it answers 401, so it shows in wrk's
-- error count as well).
--
-- At the end each thread prints "rotate: thread T sent S ok O failed F starved V", and, when F
-- is not 0, the statuses of the failures and the start of the first failure's body.

local threads = {}
local counter = 0

function setup(thread)
    thread:set("id", counter)
    counter = counter + 1
    table.insert(threads, thread)
end

function init(args)
    -- Each thread runs in its own Lua state; the thread count comes from the caller.
    local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
    queue, head, tail = {}, 1, 0
    sent, ok, failed, starved = 0, 0, 0, 0
    counts, statuses, first_failure = {}, "", ""
    local path = os.getenv("WRK_TOKENS") or error("WRK_TOKENS is not set")
    local i = 0
    for line in io.lines(path) do
        if line ~= "" then
            if i % nthreads == id then
                tail = tail + 1
                queue[tail] = line
            end
            i = i + 1
        end
    end
end

function request()
    local token
    if head <= tail then
        token = queue[head]
        queue[head] = nil
        head = head + 1
    else
        token = "starved"
        starved = starved + 1
    end
    sent = sent + 1
    return wrk.format("POST", nil, { ["Content-Type"] = "application/json" },
        '{"refresh":"' .. token .. '"}')
end

function response(status, headers, body)
    local successor = status == 200 and string.match(body, '"refresh"%s*:%s*"([^"]+)"')
    if successor then
        ok = ok + 1
        tail = tail + 1
        queue[tail] = successor
    else
        failed = failed + 1
        counts[status] = (counts[status] or 0) + 1
        statuses = ""
        for code, n in pairs(counts) do
            statuses = statuses .. string.format(" %d x%d", code, n)
        end
        if first_failure == "" then first_failure = string.sub(body, 1, 200) end
    end
end

function done(summary, latency, requests)
    for _, thread in ipairs(threads) do
        io.write(string.format("rotate: thread %d sent %d ok %d failed %d starved %d\n",
            thread:get("id"), thread:get("sent"), thread:get("ok"), thread:get("failed"),
            thread:get("starved")))
        if thread:get("failed") > 0 then
            io.write(string.format("rotate: thread %d failed statuses:%s; first failure body: %s\n",
                thread:get("id"), thread:get("statuses"), thread:get("first_failure")))
        end
    end
end
