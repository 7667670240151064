/*
 * main_crmd.c - the crmd daemon: reads its settings (flags win over CRM_* environment
 * variables, which win over the config file, see config.h), migrates the database, serves HTTP until SIGTERM or SIGINT, then stops
 * accepting, lets running requests finish and closes the database.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crm/analytics.h"
#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/checkpointer.h"
#include "crm/client_address.h"
#include "crm/config.h"
#include "crm/db.h"
#include "crm/http.h"
#include "crm/log.h"
#include "crm/metrics.h"
#include "crm/router.h"
#include "crm/routes.h"
#include "crm/segment_watch.h"
#include "crm/ratelimit.h"
#include "crm/costly_pool.h"
#include "crm/request_cost.h"
#include "crm/version.h"
#include "crm/webhook_delivery.h"
#include "crm/write_batch.h"
#include "crm/banned.h"

static const char usage_text[] =
	"usage: crmd [--db PATH] [--listen HOST:PORT] [--threads N] [--log-format text|json]\n"
	"            [--log-level error|warn|info|debug] [--durable] [--secure-cookies]\n"
	"            [--tls-cert FILE --tls-key FILE] [--session-idle SECONDS]\n"
	"            [--session-lifetime SECONDS] [--metrics-auth none|key] [--config FILE]\n"
	"            [--webhook-retry-delays LIST] [--webhook-retry-for SECONDS]\n"
	"            [--segment-watch-interval SECONDS] [--rate-limit RATE] [--rate-burst N]\n"
	"            [--trusted-proxy ADDR[,ADDR...]] [--request-budget MS]\n"
	"            [--bulk-budget MS] [--costly-per-user N] [--costly-threads N]\n"
	"            [--routes] [--version] [--help]\n"
	"\n"
	"Serves the CRM's REST API under /api/v1 (described at /api/v1/openapi.json), the\n"
	"web UI at /, and /healthz, /readyz and /metrics (Prometheus) for operators.\n"
	"  --db PATH          database file (default ./crm.db, or $CRM_DB); created if missing\n"
	"  --listen HOST:PORT address to listen on (default 127.0.0.1:8080, or $CRM_LISTEN);\n"
	"                     port 0 picks a free port and prints it\n"
	"  --threads N        worker threads (default: number of cores)\n"
	"  --log-format F     text (default) or json, one line per request\n"
	"  --log-level L      error, warn, info (default) or debug\n"
	"  --durable          synchronous=FULL: committed writes survive a power loss\n"
	"                     (default NORMAL: they survive a crash of crmd, not of the machine)\n"
	"  --secure-cookies   mark the session cookie Secure (when served behind HTTPS)\n"
	"  --tls-cert FILE    serve HTTPS with this PEM certificate (chain) ...\n"
	"  --tls-key FILE     ... and this PEM private key; the session cookie is then\n"
	"                     Secure and named __Host-crm_session\n"
	"  --session-idle S   a browser session ends after S seconds without a request\n"
	"                     (default 1800)\n"
	"  --session-lifetime S  and S seconds after the login at the latest (default 43200)\n"
	"  --metrics-auth A   none (default): GET /metrics needs no credentials; key: it needs\n"
	"                     an API key or a session, like the API\n"
	"  --webhook-retry-delays LIST  seconds before each retry of a failed webhook delivery,\n"
	"                     the last one repeating (default " WEBHOOK_DELIVERY_DELAYS_DEFAULT ")\n"
	"  --webhook-retry-for S  give a webhook delivery up S seconds after it was queued\n"
	"                     (default 86400)\n"
	"  --segment-watch-interval S  compare the members of dynamic segments every S seconds\n"
	"                     and announce the changes (segment.member_added, .member_removed)\n"
	"                     when a webhook is subscribed to them (default 60)\n"
	"  --trusted-proxy LIST  addresses of reverse proxies (comma-separated IPv4/IPv6):\n"
	"                     only for requests from these is the client address taken from\n"
	"                     X-Forwarded-For (its right-most entry that is not one of them),\n"
	"                     for the login throttle and the log; others' header is ignored\n"
	"  --rate-limit RATE  requests per API key, and per signed-in user, for roles and\n"
	"                     keys without a limit of their own (crmctl role limit, key limit):\n"
	"                     N/min, N/s or N/h (default 60000/min)\n"
	"  --rate-burst N     ... of which up to N at once (default 10000)\n"
	"  --request-budget MS  the budget of database work of one request: a statement\n"
	"                     still running MS milliseconds after its handler started is\n"
	"                     stopped (default 5000), the request answered 503 with\n"
	"                     Retry-After and its writes rolled back; segment rules estimated\n"
	"                     to take longer are refused with 422\n"
	"  --bulk-budget MS   the same for imports, exports and refits (default 60000)\n"
	"  --costly-per-user N  costly requests (segment previews, members and exports,\n"
	"                     imports, refits) one user may have running at once; the next\n"
	"                     is answered 429 with Retry-After (default 2)\n"
	"  --costly-threads N  threads that run the costly requests, off the workers\n"
	"                     (default half the cores, at least 1)\n"
	"  --config FILE      settings file (default /etc/crmd.conf when it exists): lines\n"
	"                     key = value, keys being these flags' names; flags and the\n"
	"                     environment win over it\n"
	"  --routes           print the API's route table (METHOD PATTERN [public] [no-csrf])\n"
	"                     and exit\n";

struct crmd_options {
	const char *db_path;
	const char *listen;
	unsigned threads;
	enum log_format log_format;
	enum log_level log_level;
	bool durable;
	bool secure_cookies;
	const char *tls_cert;
	const char *tls_key;
	int session_idle;     /* 0: default */
	int session_lifetime; /* 0: default */
	bool print_routes;
	bool metrics_auth;
	struct webhook_delivery_options webhooks;
	int segment_watch_interval;
	struct client_address_proxies trusted_proxies;
	int rate_per_minute; /* 0: default */
	int rate_burst;      /* 0: default */
	struct request_cost_limits costs;
	int costly_threads; /* 0: half the cores */
};

/* The arguments crmd parses: the config file's settings, the environment's, the flags. */
static struct config_arguments settings;
/* The index of the argument being parsed, to name the config line of a bad setting. */
static int parse_position;

/* Parses a number of seconds from 1 to 10 years for `flag`; -1 if malformed. */
static int parse_seconds(const char *flag, const char *text)
{
	char *end;
	long value = strtol(text, &end, 10);
	if (!*text || *end || value < 1 || value > 10L * 366 * 24 * 3600) {
		fprintf(stderr, "crmd: %s takes a number of seconds\n", flag);
		return -1;
	}
	return (int)value;
}

/* Parses a whole number from 1 to `max` for `flag`; -1 if malformed. */
static int parse_count(const char *flag, const char *text, long max)
{
	char *end;
	long value = strtol(text, &end, 10);
	if (!*text || *end || value < 1 || value > max) {
		fprintf(stderr, "crmd: %s takes a whole number from 1 to %ld\n", flag, max);
		return -1;
	}
	return (int)value;
}

/* The limits on a request's cost (request_cost.h). Returns 0, or 2 after printing why. */
static int apply_cost_option(int option, struct crmd_options *options)
{
	struct request_cost_limits *costs = &options->costs;
	switch (option) {
	case 'B':
		costs->budget_ms = parse_count("--request-budget", optarg, REQUEST_BUDGET_MS_MAX);
		return costs->budget_ms < 0 ? 2 : 0;
	case 'b':
		costs->bulk_budget_ms = parse_count("--bulk-budget", optarg, REQUEST_BUDGET_MS_MAX);
		return costs->bulk_budget_ms < 0 ? 2 : 0;
	case 'U':
		costs->costly_per_user = parse_count("--costly-per-user", optarg,
						     REQUEST_COSTLY_PER_USER_MAX);
		return costs->costly_per_user < 0 ? 2 : 0;
	case 'T':
		options->costly_threads = parse_count("--costly-threads", optarg,
						      COSTLY_POOL_MAX_THREADS);
		return options->costly_threads < 0 ? 2 : 0;
	}
	return 0;
}

/* Returns 0 to go on, 1 to exit 0 (--help, --version), 2 on a usage error. */
/* --log-format and --log-level. Returns 0, or 2 after printing why. */
static int apply_log_option(int option, struct crmd_options *options)
{
	switch (option) {
	case 'f':
		if (strcmp(optarg, "text") == 0) {
			options->log_format = LOG_FORMAT_TEXT;
		} else if (strcmp(optarg, "json") == 0) {
			options->log_format = LOG_FORMAT_JSON;
		} else {
			fprintf(stderr, "crmd: --log-format is text or json\n");
			return 2;
		}
		break;
	case 'L': {
		static const char *const levels[] = { "error", "warn", "info", "debug" };
		int found = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(optarg, levels[i]) == 0)
				found = i;
		if (found < 0) {
			fprintf(stderr, "crmd: --log-level is error, warn, info or debug\n");
			return 2;
		}
		options->log_level = (enum log_level)found;
		break;
	}
	}
	return 0;
}

/* The options of the background work and of proxies. Returns 0, or 2 after printing why. */
static int apply_background_option(int option, struct crmd_options *options)
{
	switch (option) {
	case 'W':
		if (webhook_delivery_parse_delays(optarg, &options->webhooks) != 0) {
			fprintf(stderr, "crmd: --webhook-retry-delays takes seconds separated by "
					"commas, such as 10,30,60 (1 to 86400 each, at most %d)\n",
				WEBHOOK_DELIVERY_MAX_DELAYS);
			return 2;
		}
		break;
	case 'F':
		if ((options->webhooks.retry_for_seconds =
			     parse_seconds("--webhook-retry-for", optarg)) < 0)
			return 2;
		break;
	case 'G':
		options->segment_watch_interval = parse_seconds("--segment-watch-interval",
								optarg);
		if (options->segment_watch_interval < 0)
			return 2;
		if (options->segment_watch_interval > SEGMENT_WATCH_INTERVAL_MAX) {
			fprintf(stderr, "crmd: --segment-watch-interval is at most %d seconds\n",
				SEGMENT_WATCH_INTERVAL_MAX);
			return 2;
		}
		break;
	case 'P': /* a later setting replaces an earlier one (flags win over the file) */
		memset(&options->trusted_proxies, 0, sizeof(options->trusted_proxies));
		if (client_address_proxies_add(&options->trusted_proxies, optarg) != 0) {
			fprintf(stderr, "crmd: --trusted-proxy takes IP addresses separated by "
					"commas, such as 127.0.0.1,::1 (at most %d)\n",
				CLIENT_ADDRESS_MAX_PROXIES);
			return 2;
		}
		break;
	}
	return 0;
}

/* --rate-limit and --rate-burst. Returns 0, or 2 after printing why. */
static int apply_rate_option(int option, struct crmd_options *options)
{
	if (option == 'Q' && ratelimit_parse_rate(optarg, &options->rate_per_minute) != 0) {
		fprintf(stderr, "crmd: --rate-limit takes N/min, N/s or N/h (N from 1, at most %d "
				"a minute)\n", RATELIMIT_MAX);
		return 2;
	}
	if (option == 'Y') {
		char *end;
		long burst = strtol(optarg, &end, 10);
		if (!*optarg || *end || burst < 1 || burst > RATELIMIT_MAX) {
			fprintf(stderr, "crmd: --rate-burst takes a number from 1 to %d\n",
				RATELIMIT_MAX);
			return 2;
		}
		options->rate_burst = (int)burst;
	}
	return 0;
}

/*
 * Applies one parsed option to `options`. Returns 0 to go on, 1 to exit successfully
 * (--version, --help) or 2 after printing why the option is wrong.
 */
static int apply_option(int option, char **argv, struct crmd_options *options)
{
	switch (option) {
	case 'd':
		options->db_path = optarg;
		break;
	case 'l':
		options->listen = optarg;
		break;
	case 't': {
		char *end;
		long threads = strtol(optarg, &end, 10);
		if (*end || threads < 1 || threads > 256) {
			fprintf(stderr, "crmd: --threads takes a number from 1 to 256\n");
			return 2;
		}
		options->threads = (unsigned)threads;
		break;
	}
	case 'f':
	case 'L':
		return apply_log_option(option, options);
	case 'D':
		options->durable = true;
		break;
	case 'S':
		options->secure_cookies = true;
		break;
	case 'C':
		options->tls_cert = optarg;
		break;
	case 'K':
		options->tls_key = optarg;
		break;
	case 'I':
		if ((options->session_idle = parse_seconds("--session-idle", optarg)) < 0)
			return 2;
		break;
	case 'A':
		if ((options->session_lifetime = parse_seconds("--session-lifetime", optarg)) < 0)
			return 2;
		break;
	case 'R':
		options->print_routes = true;
		break;
	case 'M':
		if (strcmp(optarg, "none") != 0 && strcmp(optarg, "key") != 0) {
			fprintf(stderr, "crmd: --metrics-auth is none or key\n");
			return 2;
		}
		options->metrics_auth = strcmp(optarg, "key") == 0;
		break;
	case 'W':
	case 'F':
	case 'G':
	case 'P':
		return apply_background_option(option, options);
	case 'Q':
	case 'Y':
		return apply_rate_option(option, options);
	case 'B':
	case 'b':
	case 'U':
	case 'T':
		return apply_cost_option(option, options);
	case 'c': /* read before parsing (config_arguments_build) */
		if (strcmp(argv[parse_position], "--config") != 0 &&
		    strncmp(argv[parse_position], "--config=", 9) != 0) {
			fprintf(stderr, "crmd: write --config in full\n");
			return 2;
		}
		break;
	case 'V':
		printf("crmd %s\n", CRM_VERSION);
		return 1;
	case 'h':
		fputs(usage_text, stdout);
		return 1;
	default:
		fputs(usage_text, stderr);
		return 2;
	}
	return 0;
}

/* The defaults, before the config file, the environment and the flags. */
static void options_set_defaults(struct crmd_options *options)
{
	options->db_path = "./crm.db";
	options->listen = "127.0.0.1:8080";
	options->threads = 0;
	options->log_format = LOG_FORMAT_TEXT;
	options->log_level = LOG_LEVEL_INFO;
	options->durable = false;
	options->secure_cookies = false;
	options->tls_cert = NULL;
	options->tls_key = NULL;
	options->session_idle = 0;
	options->session_lifetime = 0;
	options->print_routes = false;
	options->metrics_auth = false;
	memset(&options->webhooks, 0, sizeof(options->webhooks));
	memset(&options->trusted_proxies, 0, sizeof(options->trusted_proxies));
	webhook_delivery_parse_delays(WEBHOOK_DELIVERY_DELAYS_DEFAULT, &options->webhooks);
	options->webhooks.retry_for_seconds = WEBHOOK_DELIVERY_RETRY_FOR_DEFAULT;
	options->segment_watch_interval = SEGMENT_WATCH_INTERVAL_DEFAULT;
	options->rate_per_minute = 0;
	options->rate_burst = 0;
	memset(&options->costs, 0, sizeof(options->costs));
	options->costly_threads = 0;
}

static int parse_options(int argc, char **argv, struct crmd_options *options)
{
	static const struct option long_options[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 't' },
		{ "log-format", required_argument, NULL, 'f' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "durable", no_argument, NULL, 'D' },
		{ "secure-cookies", no_argument, NULL, 'S' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "session-idle", required_argument, NULL, 'I' },
		{ "session-lifetime", required_argument, NULL, 'A' },
		{ "routes", no_argument, NULL, 'R' },
		{ "metrics-auth", required_argument, NULL, 'M' },
		{ "config", required_argument, NULL, 'c' },
		{ "webhook-retry-delays", required_argument, NULL, 'W' },
		{ "webhook-retry-for", required_argument, NULL, 'F' },
		{ "segment-watch-interval", required_argument, NULL, 'G' },
		{ "trusted-proxy", required_argument, NULL, 'P' },
		{ "rate-limit", required_argument, NULL, 'Q' },
		{ "rate-burst", required_argument, NULL, 'Y' },
		{ "request-budget", required_argument, NULL, 'B' },
		{ "bulk-budget", required_argument, NULL, 'b' },
		{ "costly-per-user", required_argument, NULL, 'U' },
		{ "costly-threads", required_argument, NULL, 'T' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	options_set_defaults(options);
	/* Precedence by order: the file's settings, then CRM_DB/CRM_LISTEN, then the flags. */
	static const char *const not_settings[] = { "config", "help", "version", "routes", NULL };
	static const struct config_env environment[] = {
		{ "CRM_DB", "db" }, { "CRM_LISTEN", "listen" }, { NULL, NULL } };
	struct buf error = BUF_INIT;
	int built = config_arguments_build(&settings, argc, argv, long_options, not_settings,
					   environment, &error);
	if (built != 0)
		fprintf(stderr, "crmd: %s\n", error.data);
	buf_release(&error);
	if (built != 0)
		return 2;
	argc = settings.argc;
	argv = settings.argv;
	int option;
	while ((parse_position = optind,
		option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		int applied = apply_option(option, argv, options);
		if (applied != 0)
			return applied;
	}
	if (optind < argc) {
		fprintf(stderr, "crmd: unexpected argument '%s'\n", argv[optind]);
		fputs(usage_text, stderr);
		return 2;
	}
	if (!options->tls_cert != !options->tls_key) {
		fprintf(stderr, "crmd: --tls-cert and --tls-key go together\n");
		return 2;
	}
	return 0;
}

static void print_route(void *context, const struct route *route)
{
	(void)context;
	printf("%s %s%s%s\n", route->method, route->pattern,
	       route->flags & ROUTE_PUBLIC ? " public" : "",
	       route->flags & ROUTE_NO_CSRF ? " no-csrf" : "");
}

/* Reads a whole (small) file into `out`. Returns 0, or -1 after printing why. */
static int read_small_file(const char *path, struct buf *out)
{
	FILE *file = fopen(path, "rb");
	if (!file) {
		log_error("cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0 && out->len < 1024 * 1024)
		buf_add(out, chunk, got);
	bool failed = ferror(file) != 0;
	fclose(file);
	sodium_memzero(chunk, sizeof(chunk));
	if (failed || out->len == 0) {
		log_error("cannot read %s", path);
		return -1;
	}
	return 0;
}

/* Opens, locks and migrates the database once before serving. Returns 0, or -1 (said). */
static int prepare_database(const struct crmd_options *options, enum db_sync_mode sync)
{
	struct db *db = db_open(options->db_path, sync);
	if (!db)
		return -1;
	int applied;
	if (db_server_lock(options->db_path) != 0 || db_migrate(db, &applied) != 0) {
		db_close(db);
		return -1;
	}
	if (applied)
		log_info("applied %d migration(s) to %s", applied, options->db_path);
	db_close(db);
	return 0;
}

/* What main started, stopped in the reverse order by stop_running(). */
struct running {
	bool checkpointer, app, jobs, hashers, batch, warm_up, costly;
};

static void stop_running(const struct running *running)
{
	if (running->jobs)
		segment_watch_stop(); /* before the scores it may use are released */
	if (running->costly)
		costly_pool_stop(); /* after the last costly request; before the scores go */
	if (running->warm_up) {
		analytics_scores_warm_up_wait();
		analytics_scores_release_all();
	}
	if (running->batch)
		write_batch_stop(); /* after the last suspended write was answered */
	if (running->hashers)
		auth_hash_threads_stop(); /* after the last suspended login was answered */
	if (running->jobs)
		webhook_delivery_stop(); /* after the last request's events */
	if (running->app)
		app_free();
	if (running->checkpointer)
		checkpointer_stop();
}

/*
 * Starts everything but the server: connections, the checkpointer, authentication, the
 * route table, webhook delivery, segment watch, the login hash threads and the batch
 * writer. Returns 0, or -1 with what was started in `running`.
 */
static int start_running(struct crmd_options *options, enum db_sync_mode sync,
			 struct running *running)
{
	db_thread_setup(options->db_path, sync);
	/* WAL checkpoints (and their fsyncs) in a thread of their own, not in a request's commit */
	if (checkpointer_start(options->db_path, sync) != 0)
		return -1;
	running->checkpointer = true;
	auth_set_secure_cookies(options->secure_cookies);
	auth_set_tls(options->tls_cert != NULL);
	auth_set_session_limits(options->session_idle, options->session_lifetime);
	ratelimit_set_defaults(options->rate_per_minute, options->rate_burst);
	auth_init();
	metrics_set_auth_required(options->metrics_auth);
	request_cost_configure(&options->costs);
	app_init();
	running->app = true;
	options->webhooks.db_path = options->db_path;
	options->webhooks.sync = sync;
	/* membership events of dynamic segments: a periodic pass on a thread of its own */
	running->jobs = true;
	if (webhook_delivery_start(&options->webhooks) != 0 ||
	    segment_watch_start(options->db_path, sync, options->segment_watch_interval) != 0)
		return -1;
	/* Logins check passwords on the hash threads, their connections suspended: no worker
	 * waits. Writes of the generic resources run on the batch writer, many to a
	 * transaction (group commit). */
	running->hashers = true;
	if (auth_hash_threads_start() != 0)
		return -1;
	running->costly = true;
	if (costly_pool_start(options->costly_threads) != 0)
		return -1;
	running->batch = true;
	return write_batch_start();
}

/* Serves until SIGTERM or SIGINT (blocked in every thread: only sigwait takes them). */
static void serve_until_stopped(struct http_server *server, const struct crmd_options *options,
				const sigset_t *stop_signals)
{
	char host[128];
	unsigned port;
	http_parse_listen(options->listen, host, sizeof(host), &port);
	log_notice("crmd %s listening on %s://%s:%u/ (database %s)", CRM_VERSION,
		   options->tls_cert ? "https" : "http", host, http_server_port(server),
		   options->db_path);
	int signal_number = 0;
	sigwait(stop_signals, &signal_number);
	log_info("received %s: finishing running requests",
		 signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
	http_server_stop(server);
}

int main(int argc, char **argv)
{
	struct crmd_options options;
	int parsed = parse_options(argc, argv, &options);
	int config_line;
	const char *config_path = config_arguments_origin(&settings, parse_position, &config_line);
	if (parsed == 2 && config_path)
		fprintf(stderr, "crmd: %s:%d: the setting comes from this line\n", config_path,
			config_line);
	if (parsed) {
		config_arguments_release(&settings);
		return parsed == 1 ? 0 : 2;
	}
	log_configure(options.log_format, options.log_level);
	if (options.print_routes) {
		app_init();
		router_each(app_router(), print_route, NULL);
		app_free();
		return 0;
	}
	enum db_sync_mode sync = options.durable ? DB_SYNC_FULL : DB_SYNC_NORMAL;

	routes_register_resources(); /* before the migrations' commits index full-text rows */
	if (prepare_database(&options, sync) != 0)
		return 1;
	struct buf tls_cert = BUF_INIT, tls_key = BUF_INIT;
	if (options.tls_cert && (read_small_file(options.tls_cert, &tls_cert) != 0 ||
				 read_small_file(options.tls_key, &tls_key) != 0)) {
		buf_release(&tls_cert);
		buf_release(&tls_key);
		return 1;
	}
	/* Worker threads inherit this mask; only the main thread takes the signals. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct running running = { 0 };
	struct http_server *server = NULL;
	if (start_running(&options, sync, &running) == 0) {
		struct http_server_options server_options = {
			.listen = options.listen,
			.threads = options.threads,
			.handler = app_handle,
			.tls_cert_pem = options.tls_cert ? tls_cert.data : NULL,
			.tls_key_pem = options.tls_cert ? tls_key.data : NULL,
			.trusted_proxies = &options.trusted_proxies,
		};
		server = http_server_start(&server_options);
	}
	/* libmicrohttpd has parsed the key: the copy is wiped at once. */
	sodium_memzero(tls_key.data, tls_key.len);
	buf_release(&tls_key);
	buf_release(&tls_cert);
	if (!server) {
		stop_running(&running);
		return 1;
	}
	analytics_scores_warm_up_start(); /* builds the scores while crmd serves */
	running.warm_up = true;
	serve_until_stopped(server, &options, &stop_signals);
	stop_running(&running);
	db_thread_close();
	log_info("stopped");
	config_arguments_release(&settings);
	return 0;
}
