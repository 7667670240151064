-- mixed.lua - 90 % reads (contact by id, list page, timeline) and 10 % writes (new
-- interaction, new contact).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local counter = 0

request = function()
	local dice = math.random(1, 100)
	if dice <= 60 then
		return wrk.format("GET", "/api/v1/contacts/" .. common.random_id(), common.headers)
	elseif dice <= 80 then
		return wrk.format("GET", "/api/v1/contacts?limit=50&lifecycle=customer",
			common.headers)
	elseif dice <= 90 then
		return wrk.format("GET", "/api/v1/contacts/" .. common.random_id() .. "/timeline?limit=20",
			common.headers)
	elseif dice <= 97 then
		return wrk.format("POST", "/api/v1/interactions", common.headers, string.format(
			'{"contact_id":%d,"kind":"note","subject":"Mixed load note"}', common.random_id()))
	else
		counter = counter + 1
		return wrk.format("POST", "/api/v1/contacts", common.headers, string.format(
			'{"first_name":"Mixed","email":"mixed-%d-%d-%d@example.com"}', thread_seed or 0,
			os.time(), counter))
	end
end
