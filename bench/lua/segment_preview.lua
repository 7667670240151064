-- segment_preview.lua - POST segments/preview with a rule over own and computed fields.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local rules = {
	'{"rule":{"all":[{"field":"lifecycle","op":"eq","value":"customer"},' ..
		'{"field":"purchases_count","op":"gte","value":3}]}}',
	'{"rule":{"any":[{"field":"tier","op":"in","value":["gold","platinum"]},' ..
		'{"field":"last_purchase_at","op":"after","value":"-90d"}]}}',
}

request = function()
	return wrk.format("POST", "/api/v1/segments/preview", common.headers,
		rules[math.random(1, #rules)])
end
