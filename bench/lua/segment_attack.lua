-- segment_attack.lua - issue 16's finding: POST segments/preview with 99 `contains`
-- conditions of 999 characters each, from a viewer's key (CRM_BENCH_ATTACK_KEY), in a loop
-- per connection. run.py runs it beside other users' GETs; crmd refuses it (422, cost
-- model), limits it per user (429) or stops it at the request's budget (503).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local headers = {
	["Authorization"] = "Bearer " .. (os.getenv("CRM_BENCH_ATTACK_KEY") or common.key),
	["Content-Type"] = "application/json",
}

local conditions = {}
for i = 1, 99 do
	local pattern = {}
	for j = 1, 999 do
		pattern[j] = string.char(string.byte("a") + (i + j) % 26)
	end
	conditions[i] = '{"field":"first_name","op":"contains","value":"' ..
		table.concat(pattern) .. '"}'
end
local body = '{"rule":{"any":[' .. table.concat(conditions, ",") .. ']}}'

request = function()
	return wrk.format("POST", "/api/v1/segments/preview", headers, body)
end
