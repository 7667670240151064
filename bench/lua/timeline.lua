-- timeline.lua - the first page of a random contact's timeline.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

request = function()
	return wrk.format("GET", "/api/v1/contacts/" .. common.random_id() .. "/timeline?limit=20",
		common.headers)
end
