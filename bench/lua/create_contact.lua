-- create_contact.lua - POST a new contact (a unique e-mail per request).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local counter = 0

request = function()
	counter = counter + 1
	local body = string.format(
		'{"first_name":"Bench","last_name":"User %d","email":"bench-%d-%d-%d@example.com",' ..
		'"lifecycle":"lead","tags":["bench"]}', counter, thread_seed or 0, os.time(), counter)
	return wrk.format("POST", "/api/v1/contacts", common.headers, body)
end
