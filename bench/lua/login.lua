-- login.lua - POST /auth/login with the benchmark user's password (bounded by Argon2id).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local email = os.getenv("CRM_BENCH_EMAIL") or "bench@example.com"
local password = os.getenv("CRM_BENCH_PASSWORD") or "bench-password"

request = function()
	return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" },
		string.format('{"email":"%s","password":"%s"}', email, password))
end
