-- patch_contact.lua - PATCH a random contact with If-Match. wrk's response() does not say
-- which request it answers, so the script learns versions from the bodies it gets back
-- (every contact body carries "id" and "version"): a contact whose version is known is
-- PATCHed with If-Match: "<version>", an unknown one is read first. Both kinds of request
-- are counted; a 412 (the other thread changed it first) counts as an error.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local versions = {}
-- A small working set per thread so that versions are known most of the time.
local working_set = 200

request = function()
	local id = common.random_id()
	if common.contacts > working_set then
		id = ((thread_seed or 1) * 7919 + math.random(1, working_set)) % common.contacts + 1
	end
	local version = versions[id]
	if version then
		versions[id] = nil
		local headers = {
			["Authorization"] = common.headers["Authorization"],
			["Content-Type"] = "application/json",
			["If-Match"] = '"' .. version .. '"',
		}
		return wrk.format("PATCH", "/api/v1/contacts/" .. id, headers,
			string.format('{"title":"Buyer %d"}', math.random(1, 1000000)))
	end
	return wrk.format("GET", "/api/v1/contacts/" .. id, common.headers)
end

response = function(status, headers, body)
	if status == 200 and body then
		local id = tonumber(body:match('^{"id":(%d+)') or body:match('"id":(%d+)'))
		local version = body:match('"version":(%d+)')
		if id and version then
			versions[id] = version
		end
	end
end
