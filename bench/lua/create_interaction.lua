-- create_interaction.lua - POST a call logged on a random contact (updates its summary row).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

request = function()
	local body = string.format(
		'{"contact_id":%d,"kind":"call","direction":"outbound","subject":"Follow-up",' ..
		'"body":"Talked about the renewal.","outcome":"reached"}', common.random_id())
	return wrk.format("POST", "/api/v1/interactions", common.headers, body)
end
