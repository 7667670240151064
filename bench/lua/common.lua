-- common.lua - shared by the wrk scenario scripts: reads the API key and the id range from
-- the environment (CRM_BENCH_KEY, CRM_BENCH_CONTACTS), and prints one JSON line with the
-- figures when wrk is done, which bench/run.py parses.
local common = {}

common.key = os.getenv("CRM_BENCH_KEY") or ""
common.contacts = tonumber(os.getenv("CRM_BENCH_CONTACTS") or "1000")
common.headers = {
	["Authorization"] = "Bearer " .. common.key,
	["Content-Type"] = "application/json",
}

local thread_counter = 0

-- Seeds each thread differently so that threads do not ask for the same ids in step.
function common.setup(thread)
	thread_counter = thread_counter + 1
	thread:set("thread_seed", thread_counter)
end

function common.init()
	math.randomseed(os.time() * 1000 + (thread_seed or 0))
end

function common.random_id()
	return math.random(1, common.contacts)
end

-- Called by wrk once at the end: latency in microseconds.
function common.done(summary, latency, requests)
	local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
		summary.errors.timeout + summary.errors.status
	io.write(string.format(
		'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
		'"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
		summary.requests, summary.duration, errors, summary.errors.status,
		latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

return common
