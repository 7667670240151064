/*
 * config.h - crmd's configuration file and the order in which its settings apply.
 *
 * The file (`crmd --config FILE`; without the flag /etc/crmd.conf when that exists) has
 * one setting a line:
 *
 *	# comment
 *	listen = 127.0.0.1:8080
 *	log-format = json          # a comment may follow a value after white space
 *	durable = true
 *	db = "/var/lib/crm #2/crm.db"
 *
 * Keys are the names of crmd's long flags. A flag that takes a value takes it here; a
 * flag without one (durable) takes true/yes/on/1 or false/no/off/0 (false leaves the
 * default). A value may be put in double quotes (kept as is, # included). Unknown keys,
 * repeated keys, lines without "=" and flags that are no settings (config, help,
 * version, routes) are errors naming the file and the line.
 *
 * Precedence: flags > environment (CRM_DB, CRM_LISTEN) > file > defaults. This module
 * gets it by building one argument vector - argv[0], the file's settings as
 * "--key=value", the environment's, then the real arguments - which crmd parses with its
 * usual getopt_long loop; a later occurrence of a flag overrides an earlier one, so a
 * new crmd flag is a configuration key without further work.
 */
#ifndef CRM_CONFIG_H
#define CRM_CONFIG_H

#include <getopt.h>
#include <stddef.h>

#include "crm/buf.h"

#define CONFIG_DEFAULT_PATH "/etc/crmd.conf"
#define CONFIG_MAX_BYTES (256 * 1024)

struct config_entry {
	char *key;
	char *value;
	int line;
};

/* A parsed file. Release with config_release(). */
struct config {
	char *path;                   /* NULL when no file was read */
	struct config_entry *entries;
	size_t count;
};

void config_init(struct config *config);
void config_release(struct config *config);

/*
 * Reads and parses the file at `path` into `config` (initialised). Returns 0, or -1 with
 * one line "PATH:LINE: what is wrong" (or "PATH: why it cannot be read") appended to
 * `error`. Checks the syntax only; config_arguments_build() checks the keys.
 */
int config_load(struct config *config, const char *path, struct buf *error);

/* true/yes/on/1 -> 1, false/no/off/0 -> 0 (ASCII case ignored), anything else -> -1. */
int config_parse_bool(const char *text);

/* An environment variable that stands for a long flag: { "CRM_DB", "db" }. */
struct config_env {
	const char *variable;
	const char *option;
};

/* The argument vector with the file's and the environment's settings in front. */
struct config_arguments {
	int argc;
	char **argv;          /* NULL-terminated; strings owned by `owned` or the caller's argv */
	int *lines;           /* per argument: the file's line it came from, 0 for others */
	char **owned;
	size_t owned_count;
	struct config config; /* the file read, if any */
};

/*
 * Builds `out` from the caller's `argc`/`argv` (borrowed; they must outlive `out`):
 * finds the file (--config FILE or --config=FILE in argv, else CONFIG_DEFAULT_PATH if it
 * exists; none at all when argv asks for --help or --version), reads it, checks every key
 * against `options` (getopt_long's table) minus the `refused` names (NULL-terminated),
 * and appends the settings of `env` ({NULL}-terminated) that are set. Returns 0, or -1
 * with a message in `error`. Release `out` with config_arguments_release() in both cases.
 */
int config_arguments_build(struct config_arguments *out, int argc, char **argv,
			   const struct option *options, const char *const *refused,
			   const struct config_env *env, struct buf *error);
void config_arguments_release(struct config_arguments *arguments);

/*
 * When argument `index` of `arguments` came from the file, returns the file's path and
 * sets *line; otherwise NULL.
 */
const char *config_arguments_origin(const struct config_arguments *arguments, int index,
				    int *line);

#endif
