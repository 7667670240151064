-- search.lua - full-text search (?q=) for common first and last names (percent-encoded:
-- wrk refuses a request line with raw UTF-8).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local common = require("common")
setup = common.setup
init = common.init
done = common.done

local words = { "anna", "schmidt", "john", "smith", "maria", "garcia", "li", "m%C3%BCller", "olsen",
	"jan", "nguyen", "sara", "rossi", "tom", "ahmed", "lopez" }

request = function()
	local word = words[math.random(1, #words)]
	return wrk.format("GET", "/api/v1/contacts?limit=20&q=" .. word, common.headers)
end
