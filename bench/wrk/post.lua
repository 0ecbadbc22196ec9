-- POST the JSON body in $WRK_BODY to every request (login, verify, refresh without rotation).
--   WRK_BODY='{"token":"..."}' wrk -s bench/wrk/post.lua http://127.0.0.1:8000/api/token/verify/
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("WRK_BODY") or error("WRK_BODY is not set")
