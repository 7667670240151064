-- get_contact.lua - GET one contact by a random id.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

request = function()
	return wrk.format("GET", "/api/v1/contacts/" .. common.random_id(), common.headers)
end
