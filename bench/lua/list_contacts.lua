-- list_contacts.lua - a page of 50 contacts with a filter (lifecycle), from a random cursor-free start.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local lifecycles = { "lead", "prospect", "customer", "churned" }

request = function()
	local lifecycle = lifecycles[math.random(1, #lifecycles)]
	return wrk.format("GET", "/api/v1/contacts?limit=50&lifecycle=" .. lifecycle, common.headers)
end
