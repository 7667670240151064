/*
 * metrics.c - request counters, the latency histogram, process and database figures in
 * the Prometheus text format (GET /metrics), and readiness (GET /readyz). See metrics.h.
 *
 * The counters live in one table built before serving: a row per distinct route label,
 * a column per method bucket, and per (route, method) the status counters, the latency
 * buckets and the sum of durations. Recording a request is a pointer lookup (binary
 * search over the router's pattern pointers) and three relaxed atomic additions.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/metrics.h"

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "crm/analytics.h"
#include "crm/app.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/ratelimit.h"
#include "crm/reply.h"
#include "crm/router.h"
#include "crm/segment_watch.h"
#include "crm/write_batch.h"
#include "crm/checkpointer.h"
#include "crm/timeutil.h"
#include "crm/version.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

const char METRICS_ROUTE_WEB[] = "(web)";
const char METRICS_ROUTE_UNMATCHED[] = "(unmatched)";

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* ================================================================ the counter table */

static const char *const method_names[] = { "GET",    "HEAD",    "POST",  "PUT",
					    "PATCH",  "DELETE",  "OPTIONS", "other" };
#define METHOD_COUNT (sizeof(method_names) / sizeof(method_names[0]))

static const int status_codes[] = { 200, 201, 204, 304, 400, 401, 403, 404, 405, 409,
				    412, 413, 415, 422, 429, 500, 503 };
#define STATUS_COUNT (sizeof(status_codes) / sizeof(status_codes[0]) + 1) /* + "other" */

static const double latency_bounds[] = METRICS_LATENCY_BUCKETS;
#define BUCKET_COUNT (sizeof(latency_bounds) / sizeof(latency_bounds[0]) + 1) /* + +Inf */

/* Labels that exist whatever the router holds; the first ones are found by text too. */
static const char *const fixed_labels[] = { "/healthz", "/readyz", "/metrics",
					    METRICS_ROUTE_WEB, METRICS_ROUTE_UNMATCHED };
#define FIXED_LABEL_COUNT (sizeof(fixed_labels) / sizeof(fixed_labels[0]))
#define UNMATCHED_INDEX (FIXED_LABEL_COUNT - 1)

struct pattern_index {
	uintptr_t pointer; /* a router pattern's address */
	size_t index;      /* its row */
};

struct metrics_table {
	const char **labels;             /* distinct route labels, borrowed */
	size_t label_count;
	struct pattern_index *patterns;  /* sorted by pointer */
	size_t pattern_count;
	_Atomic uint64_t *requests;      /* [label][method][status] */
	_Atomic uint64_t *buckets;       /* [label][method][bucket], not cumulative */
	_Atomic uint64_t *duration_us;   /* [label][method] */
};

static struct metrics_table *table;
static _Atomic int64_t in_flight;
static bool auth_required;
static int64_t started_monotonic_us;
static time_t started_wall;

/* Collects the router's patterns while the table is built. */
struct table_builder {
	struct metrics_table *table;
	size_t label_alloc;
	size_t pattern_alloc;
};

static size_t label_index_of_text(const struct metrics_table *t, const char *label)
{
	for (size_t i = 0; i < t->label_count; i++)
		if (strcmp(t->labels[i], label) == 0)
			return i;
	return SIZE_MAX;
}

static void add_route_pattern(void *context, const struct route *route)
{
	struct table_builder *builder = context;
	struct metrics_table *t = builder->table;
	size_t index = label_index_of_text(t, route->pattern);
	if (index == SIZE_MAX) {
		if (t->label_count == builder->label_alloc) {
			builder->label_alloc *= 2;
			t->labels = xrealloc(t->labels, builder->label_alloc * sizeof(*t->labels));
		}
		index = t->label_count++;
		t->labels[index] = route->pattern;
	}
	if (t->pattern_count == builder->pattern_alloc) {
		builder->pattern_alloc *= 2;
		t->patterns = xrealloc(t->patterns, builder->pattern_alloc * sizeof(*t->patterns));
	}
	t->patterns[t->pattern_count++] =
		(struct pattern_index){ (uintptr_t)(const void *)route->pattern, index };
}

static int compare_pattern_index(const void *a, const void *b)
{
	uintptr_t left = ((const struct pattern_index *)a)->pointer;
	uintptr_t right = ((const struct pattern_index *)b)->pointer;
	return left < right ? -1 : left > right;
}

static void table_free(struct metrics_table *t)
{
	if (!t)
		return;
	free(t->labels);
	free(t->patterns);
	free((void *)t->requests);
	free((void *)t->buckets);
	free((void *)t->duration_us);
	free(t);
}

void metrics_init(const struct router *router)
{
	struct metrics_table *t = xcalloc(1, sizeof(*t));
	struct table_builder builder = { t, 64, 64 };
	t->labels = xmalloc(builder.label_alloc * sizeof(*t->labels));
	t->patterns = xmalloc(builder.pattern_alloc * sizeof(*t->patterns));
	for (size_t i = 0; i < FIXED_LABEL_COUNT; i++)
		t->labels[t->label_count++] = fixed_labels[i];
	if (router)
		router_each(router, add_route_pattern, &builder);
	qsort(t->patterns, t->pattern_count, sizeof(*t->patterns), compare_pattern_index);
	/* calloc'd memory is a valid zero for lock-free atomic integers */
	t->requests = xcalloc(t->label_count * METHOD_COUNT * STATUS_COUNT, sizeof(*t->requests));
	t->buckets = xcalloc(t->label_count * METHOD_COUNT * BUCKET_COUNT, sizeof(*t->buckets));
	t->duration_us = xcalloc(t->label_count * METHOD_COUNT, sizeof(*t->duration_us));
	table_free(table);
	table = t;
	started_monotonic_us = time_monotonic_us();
	started_wall = time(NULL);
}

void metrics_free(void)
{
	table_free(table);
	table = NULL;
}

void metrics_set_auth_required(bool required)
{
	auth_required = required;
}

/* ================================================================ recording */

static size_t method_index(const char *method)
{
	for (size_t i = 0; i + 1 < METHOD_COUNT; i++)
		if (strcmp(method_names[i], method) == 0)
			return i;
	return METHOD_COUNT - 1;
}

static size_t status_index(int status)
{
	for (size_t i = 0; i + 1 < STATUS_COUNT; i++)
		if (status_codes[i] == status)
			return i;
	return STATUS_COUNT - 1;
}

static size_t label_index(const struct metrics_table *t, const char *route)
{
	if (!route)
		return UNMATCHED_INDEX;
	struct pattern_index key = { (uintptr_t)(const void *)route, 0 };
	const struct pattern_index *found = bsearch(&key, t->patterns, t->pattern_count,
						    sizeof(key), compare_pattern_index);
	if (found)
		return found->index;
	size_t index = label_index_of_text(t, route); /* the fixed labels come first */
	return index == SIZE_MAX ? UNMATCHED_INDEX : index;
}

void metrics_request_started(void)
{
	atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
}

void metrics_request_finished(const char *route, const char *method, int status,
			      int64_t duration_us)
{
	atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
	struct metrics_table *t = table;
	if (!t || status == 0)
		return;
	if (duration_us < 0)
		duration_us = 0;
	size_t cell = label_index(t, route) * METHOD_COUNT + method_index(method ? method : "");
	atomic_fetch_add_explicit(&t->requests[cell * STATUS_COUNT + status_index(status)], 1,
				  memory_order_relaxed);
	double seconds = (double)duration_us / 1e6;
	size_t bucket = 0;
	while (bucket + 1 < BUCKET_COUNT && seconds > latency_bounds[bucket])
		bucket++;
	atomic_fetch_add_explicit(&t->buckets[cell * BUCKET_COUNT + bucket], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&t->duration_us[cell], (uint64_t)duration_us,
				  memory_order_relaxed);
}

/* ================================================================ the exposition */

/* Appends `value` as a label value: backslash, double quote and line feed escaped. */
static void add_label_value(struct buf *out, const char *value)
{
	for (const char *p = value; *p; p++) {
		if (*p == '\\')
			buf_adds(out, "\\\\");
		else if (*p == '"')
			buf_adds(out, "\\\"");
		else if (*p == '\n')
			buf_adds(out, "\\n");
		else
			buf_addch(out, *p);
	}
}

static void add_header(struct buf *out, const char *name, const char *type, const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void add_gauge(struct buf *out, const char *name, const char *help, double value)
{
	add_header(out, name, "gauge", help);
	buf_addf(out, "%s %.17g\n", name, value);
}

static void add_counter(struct buf *out, const char *name, const char *help, uint64_t value)
{
	add_header(out, name, "counter", help);
	buf_addf(out, "%s %llu\n", name, (unsigned long long)value);
}

/* The write path: group commit (write_batch.h; requests per batch = the ratio of the first
 * two counters), the checkpoint thread (checkpointer.h) and the segment watch's passes;
 * and the rate-limit buckets held (ratelimit.h). */
static void render_writes(struct buf *out)
{
	uint64_t batches, requests;
	write_batch_counts(&batches, &requests);
	add_counter(out, "crmd_write_batches_total",
		    "Transactions of the batch writer (group commit).", batches);
	add_counter(out, "crmd_write_batch_requests_total",
		    "Write requests run by the batch writer.", requests);
	add_counter(out, "crmd_wal_checkpoints_total",
		    "WAL checkpoints run by the checkpoint thread.", checkpointer_count());
	add_counter(out, "crmd_segment_watch_passes_total",
		    "Passes of the segment watch run to their end.", segment_watch_passes());
	long buckets = ratelimit_bucket_count();
	if (buckets >= 0)
		add_gauge(out, "crmd_rate_limit_buckets",
			  "Rate-limit buckets held in memory (API keys and users seen lately).",
			  (double)buckets);
}

static void render_requests(struct buf *out, const struct metrics_table *t)
{
	add_header(out, "crmd_http_requests_total", "counter",
		   "HTTP requests answered, by route pattern, method and status.");
	for (size_t label = 0; label < t->label_count; label++) {
		for (size_t method = 0; method < METHOD_COUNT; method++) {
			size_t cell = label * METHOD_COUNT + method;
			for (size_t status = 0; status < STATUS_COUNT; status++) {
				uint64_t count = atomic_load_explicit(
					&t->requests[cell * STATUS_COUNT + status], memory_order_relaxed);
				if (!count)
					continue;
				buf_adds(out, "crmd_http_requests_total{route=\"");
				add_label_value(out, t->labels[label]);
				buf_addf(out, "\",method=\"%s\",status=\"", method_names[method]);
				if (status + 1 < STATUS_COUNT)
					buf_addf(out, "%d", status_codes[status]);
				else
					buf_adds(out, "other");
				buf_addf(out, "\"} %llu\n", (unsigned long long)count);
			}
		}
	}
}

static void render_latency(struct buf *out, const struct metrics_table *t)
{
	add_header(out, "crmd_http_request_duration_seconds", "histogram",
		   "Time from the start of a request to the end of its answer.");
	for (size_t label = 0; label < t->label_count; label++) {
		for (size_t method = 0; method < METHOD_COUNT; method++) {
			size_t cell = label * METHOD_COUNT + method;
			uint64_t counts[BUCKET_COUNT], total = 0;
			for (size_t b = 0; b < BUCKET_COUNT; b++) {
				counts[b] = atomic_load_explicit(&t->buckets[cell * BUCKET_COUNT + b],
								 memory_order_relaxed);
				total += counts[b];
			}
			if (!total)
				continue;
			struct buf labels = BUF_INIT;
			buf_adds(&labels, "route=\"");
			add_label_value(&labels, t->labels[label]);
			buf_addf(&labels, "\",method=\"%s\"", method_names[method]);
			uint64_t cumulative = 0;
			for (size_t b = 0; b < BUCKET_COUNT; b++) {
				cumulative += counts[b];
				buf_addf(out, "crmd_http_request_duration_seconds_bucket{%s,le=\"",
					 labels.data);
				if (b + 1 < BUCKET_COUNT)
					buf_addf(out, "%g", latency_bounds[b]);
				else
					buf_adds(out, "+Inf");
				buf_addf(out, "\"} %llu\n", (unsigned long long)cumulative);
			}
			uint64_t sum_us = atomic_load_explicit(&t->duration_us[cell],
							       memory_order_relaxed);
			buf_addf(out, "crmd_http_request_duration_seconds_sum{%s} %.6f\n", labels.data,
				 (double)sum_us / 1e6);
			buf_addf(out, "crmd_http_request_duration_seconds_count{%s} %llu\n",
				 labels.data, (unsigned long long)total);
			buf_release(&labels);
		}
	}
}

/* Resident and virtual memory from /proc/self/statm; -1 when unavailable. */
static void process_memory(int64_t *resident, int64_t *virtual_size)
{
	*resident = *virtual_size = -1;
	FILE *file = fopen("/proc/self/statm", "r");
	if (!file)
		return;
	unsigned long long pages_total, pages_resident;
	long page = sysconf(_SC_PAGESIZE);
	if (fscanf(file, "%llu %llu", &pages_total, &pages_resident) == 2 && page > 0) {
		*virtual_size = (int64_t)(pages_total * (unsigned long long)page);
		*resident = (int64_t)(pages_resident * (unsigned long long)page);
	}
	fclose(file);
}

/* Open file descriptors (entries of /proc/self/fd, not counting the one reading it). */
static int64_t process_open_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	if (!dir)
		return -1;
	int64_t count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)))
		if (entry->d_name[0] != '.')
			count++;
	closedir(dir);
	return count - 1;
}

static void render_process(struct buf *out)
{
	int64_t resident, virtual_size;
	process_memory(&resident, &virtual_size);
	if (resident >= 0) {
		add_gauge(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
			  (double)resident);
		add_gauge(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
			  (double)virtual_size);
	}
	struct rusage usage;
	if (getrusage(RUSAGE_SELF, &usage) == 0) {
		double cpu = (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
			     (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
		add_header(out, "process_cpu_seconds_total", "counter",
			   "User and system CPU time spent in seconds.");
		buf_addf(out, "process_cpu_seconds_total %.6f\n", cpu);
	}
	int64_t fds = process_open_fds();
	if (fds >= 0)
		add_gauge(out, "process_open_fds", "Open file descriptors.", (double)fds);
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
		add_gauge(out, "process_max_fds", "Maximum number of open file descriptors.",
			  (double)limit.rlim_cur);
	add_gauge(out, "process_start_time_seconds",
		  "Start time of the process since the Unix epoch in seconds.", (double)started_wall);
	add_gauge(out, "crmd_uptime_seconds", "Seconds since crmd started.",
		  (double)(time_monotonic_us() - started_monotonic_us) / 1e6);
	add_header(out, "crmd_build_info", "gauge", "The version of crmd and of its SQLite (always 1).");
	buf_adds(out, "crmd_build_info{version=\"");
	add_label_value(out, CRM_VERSION);
	buf_adds(out, "\",sqlite_version=\"");
	add_label_value(out, metrics_store_engine_version());
	buf_adds(out, "\"} 1\n");
}

static void render_database(struct buf *out, struct db *db)
{
	int version = db ? db_schema_version(db) : -1;
	add_gauge(out, "crmd_database_up", "Whether the database answers (1) or not (0).",
		  version >= 0 ? 1 : 0);
	add_gauge(out, "crmd_database_schema_latest_version",
		  "The newest migration this crmd knows.", db_latest_migration());
	if (version < 0)
		return;
	add_gauge(out, "crmd_database_schema_version", "The newest migration the database has.",
		  version);
	int64_t database_bytes, wal_bytes;
	if (metrics_store_file_sizes(db, &database_bytes, &wal_bytes) == 0) {
		add_gauge(out, "crmd_database_size_bytes", "Size of the database file.",
			  (double)database_bytes);
		add_gauge(out, "crmd_database_wal_size_bytes",
			  "Size of the database's write-ahead log (0 when there is none).",
			  (double)wal_bytes);
	}
	char now[TIME_RFC3339_SIZE], idle_limit[TIME_RFC3339_SIZE];
	time_t current = time(NULL);
	time_format_rfc3339(current, now);
	time_format_rfc3339(current - auth_session_idle_limit(), idle_limit);
	int64_t sessions;
	if (metrics_store_active_sessions(db, now, idle_limit, &sessions) == DB_OK)
		add_gauge(out, "crmd_sessions_active",
			  "Browser sessions that are neither revoked, expired nor idle too long.",
			  (double)sessions);
	struct analytics_model model;
	time_t fitted;
	if (analytics_store_fit_get(db, "live", &model) == DB_OK &&
	    time_parse_rfc3339(model.fitted_at, false, &fitted))
		add_gauge(out, "crmd_analytics_fit_age_seconds",
			  "Seconds since the LTV models were last fitted on the live data (absent "
			  "before the first fit).",
			  (double)(current - fitted));
	int64_t webhook_queue;
	if (webhooks_store_queue_depth(db, &webhook_queue) == DB_OK)
		add_gauge(out, "crmd_webhook_queue_depth",
			  "Webhook deliveries not finished yet (pending or being sent).",
			  (double)webhook_queue);
}

void metrics_render(struct buf *out, struct db *db)
{
	struct metrics_table *t = table;
	add_gauge(out, "crmd_http_requests_in_flight",
		  "Requests received and not yet answered (this scrape included).",
		  (double)atomic_load_explicit(&in_flight, memory_order_relaxed));
	if (t) {
		render_requests(out, t);
		render_latency(out, t);
	}
	render_writes(out);
	render_database(out, db);
	render_process(out);
}

/* ================================================================ handlers */

static bool method_is_read(const struct request *req, struct response *res)
{
	if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
		return true;
	response_set_header(res, "Allow", "GET, HEAD");
	response_problemf(res, HTTP_METHOD_NOT_ALLOWED, "%s is not allowed here; use GET",
			  req->method);
	return false;
}

void metrics_handle(struct request *req, struct response *res)
{
	if (!method_is_read(req, res))
		return;
	if (auth_required) {
		struct db *db = app_db_or_reply(res);
		struct auth_context caller;
		if (!db || auth_authenticate_or_reply(db, req, res, false, &caller) != 0)
			return;
		req->log_user_id = caller.user_id;
	}
	struct buf out = BUF_INIT;
	metrics_render(&out, db_thread());
	size_t len;
	char *text = buf_detach(&out, &len);
	response_set_body(res, HTTP_OK, METRICS_CONTENT_TYPE, text, len);
	response_set_header(res, "Cache-Control", "no-store");
}

void metrics_handle_ready(struct request *req, struct response *res)
{
	if (!method_is_read(req, res))
		return;
	response_set_header(res, "Cache-Control", "no-store");
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int version = db_schema_version(db);
	int latest = db_latest_migration();
	if (version < 0) {
		response_problem(res, HTTP_SERVICE_UNAVAILABLE, "the database does not answer");
	} else if (version < latest) {
		response_problemf(res, HTTP_SERVICE_UNAVAILABLE,
				  "the database schema is at version %d; this crmd needs %d "
				  "(run crmctl migrate)",
				  version, latest);
	} else if (version > latest) {
		response_problemf(res, HTTP_SERVICE_UNAVAILABLE,
				  "the database schema (version %d) is newer than this crmd (%d)",
				  version, latest);
	} else {
		response_json(res, HTTP_OK,
			      json_pack("{s:s, s:i}", "status", "ready", "schema_version", version));
	}
}
