/* test_config.c - crmd's configuration file: the key = value syntax, errors naming the
 * line, and the argument vector that puts file < environment < flags. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "crm/config.h"

static char directory[] = "/tmp/crm-test-config-XXXXXX";

/* Writes `text` to a file in the test directory; returns its path (static buffer). */
static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", directory, name);
	FILE *file = fopen(path, "w");
	fputs(text, file);
	fclose(file);
	return path;
}

static void test_parse(void)
{
	const char *path = write_file("ok.conf", "# comment\n"
						 "\n"
						 "  listen = 127.0.0.1:0   # trailing comment\n"
						 "db=\"/var/lib/crm #1/crm.db\"  # quoted\n"
						 "log-format = json\r\n"
						 "tag = a#b\n"
						 "durable = yes");
	struct config config;
	config_init(&config);
	struct buf error = BUF_INIT;
	CHECK_INT(0, config_load(&config, path, &error));
	CHECK_STR("", error.data);
	CHECK_INT(5, config.count);
	CHECK_STR("listen", config.entries[0].key);
	CHECK_STR("127.0.0.1:0", config.entries[0].value);
	CHECK_INT(3, config.entries[0].line);
	CHECK_STR("/var/lib/crm #1/crm.db", config.entries[1].value);
	CHECK_STR("json", config.entries[2].value);
	CHECK_STR("a#b", config.entries[3].value);
	CHECK_STR("yes", config.entries[4].value);
	CHECK_INT(7, config.entries[4].line);
	config_release(&config);
	buf_release(&error);
}

/* Loads `text` and expects an error containing `message`. */
static void expect_error(const char *text, const char *message)
{
	const char *path = write_file("bad.conf", text);
	struct config config;
	config_init(&config);
	struct buf error = BUF_INIT;
	CHECK_INT(-1, config_load(&config, path, &error));
	if (!strstr(error.data, message)) {
		check_failures++;
		fprintf(stderr, "%s:%d: error \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,
			error.data, message);
	}
	config_release(&config);
	buf_release(&error);
}

static void test_errors(void)
{
	expect_error("listen\n", "bad.conf:1: expected key = value");
	expect_error("\n\nListen = x\n", "bad.conf:3: expected key = value");
	expect_error("= x\n", "bad.conf:1: expected key = value, found no key");
	expect_error("db = \"x\n", "missing closing quote");
	expect_error("db = \"x\" y\n", "unexpected text after the quoted value");
	expect_error("a = 1\nb = 2\na = 3\n", "bad.conf:3: a is set already on line 1");
	expect_error("a = x\001y\n", "control character");

	struct config config;
	config_init(&config);
	struct buf error = BUF_INIT;
	CHECK_INT(-1, config_load(&config, "/nonexistent/crmd.conf", &error));
	CHECK(strstr(error.data, "/nonexistent/crmd.conf: No such file") != NULL);
	config_release(&config);
	buf_release(&error);
}

static void test_parse_bool(void)
{
	CHECK_INT(1, config_parse_bool("true"));
	CHECK_INT(1, config_parse_bool("YES"));
	CHECK_INT(1, config_parse_bool("on"));
	CHECK_INT(1, config_parse_bool("1"));
	CHECK_INT(0, config_parse_bool("False"));
	CHECK_INT(0, config_parse_bool("off"));
	CHECK_INT(0, config_parse_bool("0"));
	CHECK_INT(-1, config_parse_bool("maybe"));
	CHECK_INT(-1, config_parse_bool(""));
}

static const struct option options[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "durable", no_argument, NULL, 'D' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
static const char *const refused[] = { "config", "help", NULL };
static const struct config_env env[] = { { "CRM_TEST_DB", "db" }, { NULL, NULL } };

static void test_arguments_order(void)
{
	const char *path = write_file("args.conf", "db = /file.db\ndurable = on\n");
	char config_flag[300];
	snprintf(config_flag, sizeof(config_flag), "--config=%s", path);
	char *argv[] = { (char *)"crmd", config_flag, (char *)"--db", (char *)"/flag.db", NULL };
	setenv("CRM_TEST_DB", "/env.db", 1);
	struct config_arguments arguments;
	struct buf error = BUF_INIT;
	CHECK_INT(0, config_arguments_build(&arguments, 4, argv, options, refused, env, &error));
	CHECK_INT(7, arguments.argc);
	CHECK_STR("crmd", arguments.argv[0]);
	CHECK_STR("--db=/file.db", arguments.argv[1]);
	CHECK_STR("--durable", arguments.argv[2]);
	CHECK_STR("--db=/env.db", arguments.argv[3]);
	CHECK_STR(config_flag, arguments.argv[4]);
	CHECK_STR("--db", arguments.argv[5]);
	CHECK_STR("/flag.db", arguments.argv[6]);
	CHECK(arguments.argv[7] == NULL);
	int line = 0;
	CHECK_STR(path, config_arguments_origin(&arguments, 2, &line));
	CHECK_INT(2, line);
	CHECK(config_arguments_origin(&arguments, 3, &line) == NULL);
	CHECK(config_arguments_origin(&arguments, 99, &line) == NULL);
	config_arguments_release(&arguments);
	unsetenv("CRM_TEST_DB");
	buf_release(&error);
}

static void expect_build_error(const char *text, const char *message)
{
	const char *path = write_file("keys.conf", text);
	char *argv[] = { (char *)"crmd", (char *)"--config", (char *)path, NULL };
	struct config_arguments arguments;
	struct buf error = BUF_INIT;
	CHECK_INT(-1, config_arguments_build(&arguments, 3, argv, options, refused, env, &error));
	if (!strstr(error.data, message)) {
		check_failures++;
		fprintf(stderr, "%s:%d: error \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,
			error.data, message);
	}
	config_arguments_release(&arguments);
	buf_release(&error);
}

static void test_arguments_errors(void)
{
	expect_build_error("db = x\ncolour = blue\n", "keys.conf:2: unknown setting 'colour'");
	expect_build_error("help = true\n", "unknown setting 'help'");
	expect_build_error("durable = perhaps\n", "durable takes true or false");
	expect_build_error("db =\n", "db needs a value");

	/* --help needs no (readable) file */
	const char *path = write_file("broken.conf", "not a setting\n");
	char *argv[] = { (char *)"crmd", (char *)"--config", (char *)path, (char *)"--help", NULL };
	struct config_arguments arguments;
	struct buf error = BUF_INIT;
	CHECK_INT(0, config_arguments_build(&arguments, 4, argv, options, refused, env, &error));
	CHECK_INT(4, arguments.argc);
	config_arguments_release(&arguments);
	char *missing[] = { (char *)"crmd", (char *)"--config", NULL };
	CHECK_INT(-1, config_arguments_build(&arguments, 2, missing, options, refused, env, &error));
	config_arguments_release(&arguments);
	buf_release(&error);
}

int main(void)
{
	if (!mkdtemp(directory)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_parse);
	RUN(test_errors);
	RUN(test_parse_bool);
	RUN(test_arguments_order);
	RUN(test_arguments_errors);
	const char *names[] = { "ok.conf", "bad.conf", "args.conf", "keys.conf", "broken.conf" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", directory, names[i]);
		unlink(path);
	}
	rmdir(directory);
	return check_finish();
}
