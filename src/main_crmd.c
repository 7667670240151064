/*
 * main_crmd.c - the crmd daemon: reads its settings (flags win over CRM_* environment
 * variables), migrates the database, serves HTTP until SIGTERM or SIGINT, then stops
 * accepting, lets running requests finish and closes the database.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/http.h"
#include "crm/log.h"
#include "crm/version.h"
#include "crm/banned.h"

static const char usage_text[] =
	"usage: crmd [--db PATH] [--listen HOST:PORT] [--threads N] [--log-format text|json]\n"
	"            [--log-level error|warn|info|debug] [--durable] [--secure-cookies]\n"
	"            [--version] [--help]\n"
	"\n"
	"Serves the CRM's REST API under /api/v1, the web UI at / and /healthz.\n"
	"  --db PATH          database file (default ./crm.db, or $CRM_DB); created if missing\n"
	"  --listen HOST:PORT address to listen on (default 127.0.0.1:8080, or $CRM_LISTEN);\n"
	"                     port 0 picks a free port and prints it\n"
	"  --threads N        worker threads (default: number of cores)\n"
	"  --log-format F     text (default) or json, one line per request\n"
	"  --log-level L      error, warn, info (default) or debug\n"
	"  --durable          synchronous=FULL: committed writes survive a power loss\n"
	"                     (default NORMAL: they survive a crash of crmd, not of the machine)\n"
	"  --secure-cookies   mark the session cookie Secure (when served behind HTTPS)\n";

struct crmd_options {
	const char *db_path;
	const char *listen;
	unsigned threads;
	enum log_format log_format;
	enum log_level log_level;
	bool durable;
	bool secure_cookies;
};

/* Returns 0 to go on, 1 to exit 0 (--help, --version), 2 on a usage error. */
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
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	options->db_path = getenv("CRM_DB") ? getenv("CRM_DB") : "./crm.db";
	options->listen = getenv("CRM_LISTEN") ? getenv("CRM_LISTEN") : "127.0.0.1:8080";
	options->threads = 0;
	options->log_format = LOG_FORMAT_TEXT;
	options->log_level = LOG_LEVEL_INFO;
	options->durable = false;
	options->secure_cookies = false;
	int option;
	while ((option = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
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
		case 'D':
			options->durable = true;
			break;
		case 'S':
			options->secure_cookies = true;
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
	}
	if (optind < argc) {
		fprintf(stderr, "crmd: unexpected argument '%s'\n", argv[optind]);
		fputs(usage_text, stderr);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct crmd_options options;
	int parsed = parse_options(argc, argv, &options);
	if (parsed)
		return parsed == 1 ? 0 : 2;
	log_configure(options.log_format, options.log_level);
	enum db_sync_mode sync = options.durable ? DB_SYNC_FULL : DB_SYNC_NORMAL;

	struct db *db = db_open(options.db_path, sync);
	if (!db)
		return 1;
	int applied;
	if (db_migrate(db, &applied) != 0) {
		db_close(db);
		return 1;
	}
	if (applied)
		log_info("applied %d migration(s) to %s", applied, options.db_path);
	db_close(db);

	/* Worker threads inherit this mask; only the main thread takes the signals. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	db_thread_setup(options.db_path, sync);
	auth_set_secure_cookies(options.secure_cookies);
	auth_init();
	app_init();
	struct http_server_options server_options = {
		.listen = options.listen,
		.threads = options.threads,
		.handler = app_handle,
	};
	struct http_server *server = http_server_start(&server_options);
	if (!server) {
		app_free();
		return 1;
	}
	char host[128];
	unsigned port;
	http_parse_listen(options.listen, host, sizeof(host), &port);
	log_info("crmd %s listening on http://%s:%u/ (database %s)", CRM_VERSION, host,
		 http_server_port(server), options.db_path);

	int signal_number = 0;
	sigwait(&stop_signals, &signal_number);
	log_info("received %s: finishing running requests", signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
	http_server_stop(server);
	app_free();
	db_thread_close();
	log_info("stopped");
	return 0;
}
