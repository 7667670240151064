-- tiers.lua - GET analytics/tiers (cached scores; rebuilt when data changed).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

request = function()
	return wrk.format("GET", "/api/v1/analytics/tiers", common.headers)
end
