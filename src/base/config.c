/*
 * config.c - crmd's configuration file (config.h): the "key = value" parser and the
 * argument vector that puts the file's and the environment's settings before the flags.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "crm/banned.h"

/* ================================================================ the file */

void config_init(struct config *config)
{
	memset(config, 0, sizeof(*config));
}

void config_release(struct config *config)
{
	for (size_t i = 0; i < config->count; i++) {
		free(config->entries[i].key);
		free(config->entries[i].value);
	}
	free(config->entries);
	free(config->path);
	config_init(config);
}

int config_parse_bool(const char *text)
{
	static const char *const truths[] = { "true", "yes", "on", "1" };
	static const char *const falsehoods[] = { "false", "no", "off", "0" };
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(text, truths[i]) == 0)
			return 1;
		if (strcasecmp(text, falsehoods[i]) == 0)
			return 0;
	}
	return -1;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool is_key_character(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Reads the whole file into `out`. Returns 0, or -1 with the reason in `error`. */
static int read_file(const char *path, struct buf *out, struct buf *error)
{
	FILE *file = fopen(path, "r");
	if (!file) {
		buf_addf(error, "%s: %s", path, strerror(errno));
		return -1;
	}
	char chunk[4096];
	size_t got;
	int result = 0;
	while ((got = fread(chunk, 1, sizeof(chunk), file)) > 0) {
		buf_add(out, chunk, got);
		if (out->len > CONFIG_MAX_BYTES) {
			buf_addf(error, "%s: larger than %d bytes", path, CONFIG_MAX_BYTES);
			result = -1;
			break;
		}
	}
	if (result == 0 && ferror(file)) {
		buf_addf(error, "%s: %s", path, strerror(errno));
		result = -1;
	}
	fclose(file);
	if (result == 0 && memchr(out->data, '\0', out->len)) {
		buf_addf(error, "%s: not a text file", path);
		result = -1;
	}
	return result;
}

/*
 * Parses one line (NUL-terminated, without its line feed) into *key and *value
 * (malloc'd; both NULL for a blank or comment line). Returns 0, or -1 with `problem`
 * pointing at a static description.
 */
static int parse_line(char *line, char **key, char **value, const char **problem)
{
	*key = *value = NULL;
	char *p = line;
	while (is_blank(*p))
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	char *key_start = p;
	while (is_key_character(*p))
		p++;
	char *key_end = p;
	while (is_blank(*p))
		p++;
	if (*p != '=') {
		*problem = "expected key = value (keys are crmd's flag names, such as listen)";
		return -1;
	}
	if (key_end == key_start) {
		*problem = "expected key = value, found no key";
		return -1;
	}
	p++;
	while (is_blank(*p))
		p++;
	char *value_start = p, *value_end;
	if (*p == '"') {
		value_start = ++p;
		char *quote = strchr(p, '"');
		if (!quote) {
			*problem = "missing closing quote";
			return -1;
		}
		value_end = quote;
		p = quote + 1;
		while (is_blank(*p))
			p++;
		if (*p && *p != '#') {
			*problem = "unexpected text after the quoted value";
			return -1;
		}
	} else {
		/* the value ends at a # that follows white space, or at the end of the line */
		value_end = p;
		for (; *p; p++) {
			if (*p == '#' && p > value_start && is_blank(p[-1]))
				break;
			if (!is_blank(*p))
				value_end = p + 1;
		}
	}
	for (const char *c = value_start; c < value_end; c++) {
		if ((unsigned char)*c < 0x20 && *c != '\t') {
			*problem = "control character in the value";
			return -1;
		}
	}
	*key = xstrndup(key_start, (size_t)(key_end - key_start));
	*value = xstrndup(value_start, (size_t)(value_end - value_start));
	return 0;
}

int config_load(struct config *config, const char *path, struct buf *error)
{
	struct buf text = BUF_INIT;
	int result = -1;
	size_t alloc = 0;
	if (read_file(path, &text, error) != 0)
		goto cleanup;
	config->path = xstrdup(path);
	int line_number = 0;
	char *line = text.data;
	while (line && (*line || line < text.data + text.len)) {
		line_number++;
		char *newline = strchr(line, '\n');
		if (newline)
			*newline = '\0';
		char *key, *value;
		const char *problem = NULL;
		if (parse_line(line, &key, &value, &problem) != 0) {
			buf_addf(error, "%s:%d: %s", path, line_number, problem);
			goto cleanup;
		}
		if (key) {
			for (size_t i = 0; i < config->count; i++) {
				if (strcmp(config->entries[i].key, key) == 0) {
					buf_addf(error, "%s:%d: %s is set already on line %d", path,
						 line_number, key, config->entries[i].line);
					free(key);
					free(value);
					goto cleanup;
				}
			}
			if (config->count == alloc) {
				alloc = alloc ? alloc * 2 : 16;
				config->entries = xrealloc(config->entries, alloc * sizeof(*config->entries));
			}
			config->entries[config->count++] = (struct config_entry){ key, value, line_number };
		}
		line = newline ? newline + 1 : NULL;
	}
	result = 0;
cleanup:
	buf_release(&text);
	return result;
}

/* ================================================================ the argument vector */

void config_arguments_release(struct config_arguments *arguments)
{
	for (size_t i = 0; i < arguments->owned_count; i++)
		free(arguments->owned[i]);
	free(arguments->owned);
	free(arguments->argv);
	free(arguments->lines);
	config_release(&arguments->config);
	memset(arguments, 0, sizeof(*arguments));
}

/* Appends `text` (owned when `owned`) with its file line (0: none). */
static void arguments_add(struct config_arguments *arguments, char *text, bool owned, int line)
{
	/* argv and lines grow together; argv keeps room for the final NULL */
	arguments->argv = xrealloc(arguments->argv, (size_t)(arguments->argc + 2) * sizeof(char *));
	arguments->lines = xrealloc(arguments->lines, (size_t)(arguments->argc + 1) * sizeof(int));
	arguments->argv[arguments->argc] = text;
	arguments->lines[arguments->argc] = line;
	arguments->argc++;
	arguments->argv[arguments->argc] = NULL;
	if (owned) {
		arguments->owned = xrealloc(arguments->owned,
					    (arguments->owned_count + 1) * sizeof(char *));
		arguments->owned[arguments->owned_count++] = text;
	}
}

static char *flag_text(const char *name, const char *value)
{
	struct buf text = BUF_INIT;
	buf_addf(&text, "--%s", name);
	if (value)
		buf_addf(&text, "=%s", value);
	return buf_detach(&text, NULL);
}

static const struct option *option_find(const struct option *options, const char *name)
{
	for (const struct option *option = options; option->name; option++)
		if (strcmp(option->name, name) == 0)
			return option;
	return NULL;
}

static bool name_listed(const char *const *names, const char *name)
{
	for (; names && *names; names++)
		if (strcmp(*names, name) == 0)
			return true;
	return false;
}

/*
 * The file argv names: --config FILE or --config=FILE (before a "--"). Sets *wants_info
 * when argv asks for --help or --version. Returns NULL when there is no --config.
 */
static const char *config_path_in(int argc, char **argv, bool *wants_info, bool *missing_value)
{
	const char *path = NULL;
	*wants_info = *missing_value = false;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0)
			break;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 ||
		    strcmp(arg, "--version") == 0)
			*wants_info = true;
		if (strcmp(arg, "--config") == 0) {
			if (i + 1 >= argc) {
				*missing_value = true;
				break;
			}
			path = argv[++i];
		} else if (strncmp(arg, "--config=", 9) == 0) {
			path = arg + 9;
		}
	}
	return path;
}

/* Turns the file's entries into arguments. Returns 0, or -1 with a message. */
static int add_file_settings(struct config_arguments *out, const struct option *options,
			     const char *const *refused, struct buf *error)
{
	const struct config *config = &out->config;
	for (size_t i = 0; i < config->count; i++) {
		const struct config_entry *entry = &config->entries[i];
		const struct option *option = option_find(options, entry->key);
		if (!option || name_listed(refused, entry->key)) {
			buf_addf(error, "%s:%d: unknown setting '%s'", config->path, entry->line,
				 entry->key);
			return -1;
		}
		if (option->has_arg == no_argument) {
			int truth = config_parse_bool(entry->value);
			if (truth < 0) {
				buf_addf(error, "%s:%d: %s takes true or false", config->path,
					 entry->line, entry->key);
				return -1;
			}
			if (truth)
				arguments_add(out, flag_text(entry->key, NULL), true, entry->line);
			continue;
		}
		if (option->has_arg == required_argument && entry->value[0] == '\0') {
			buf_addf(error, "%s:%d: %s needs a value", config->path, entry->line,
				 entry->key);
			return -1;
		}
		arguments_add(out, flag_text(entry->key, entry->value), true, entry->line);
	}
	return 0;
}

int config_arguments_build(struct config_arguments *out, int argc, char **argv,
			   const struct option *options, const char *const *refused,
			   const struct config_env *env, struct buf *error)
{
	memset(out, 0, sizeof(*out));
	config_init(&out->config);
	arguments_add(out, argc > 0 ? argv[0] : (char *)"crmd", false, 0);

	bool wants_info, missing_value;
	const char *path = config_path_in(argc, argv, &wants_info, &missing_value);
	if (missing_value) {
		buf_adds(error, "--config needs a file name");
		return -1;
	}
	if (!path && access(CONFIG_DEFAULT_PATH, F_OK) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path && !wants_info) {
		if (config_load(&out->config, path, error) != 0)
			return -1;
		if (add_file_settings(out, options, refused, error) != 0)
			return -1;
	}
	for (const struct config_env *variable = env; variable && variable->variable; variable++) {
		const char *value = getenv(variable->variable);
		if (value)
			arguments_add(out, flag_text(variable->option, value), true, 0);
	}
	for (int i = 1; i < argc; i++)
		arguments_add(out, argv[i], false, 0);
	return 0;
}

const char *config_arguments_origin(const struct config_arguments *arguments, int index,
				    int *line)
{
	if (index < 0 || index >= arguments->argc || !arguments->lines || !arguments->lines[index])
		return NULL;
	*line = arguments->lines[index];
	return arguments->config.path;
}
