/*
 * cli_options.c - the small argument parser crmctl's commands share: long options with
 * or without a value, in any order among exactly the expected positional words.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crm/cli.h"
#include "crm/banned.h"

int cli_usage_error(const char *words, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("crmctl: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
	for (const struct cli_command *command = cli_commands; command->words; command++)
		if (strcmp(command->words, words) == 0)
			return cli_usage(command, true);
	return CLI_USAGE;
}

/* The option named like `arg` ("--name" or "--name=..."), or NULL. */
static const struct cli_option *find_option(const struct cli_option *options, const char *arg,
					    const char **inline_value)
{
	*inline_value = NULL;
	const char *equals = strchr(arg, '=');
	size_t len = equals ? (size_t)(equals - arg) : strlen(arg);
	for (const struct cli_option *option = options; option && option->name; option++) {
		if (strlen(option->name) == len && strncmp(option->name, arg, len) == 0) {
			if (equals)
				*inline_value = equals + 1;
			return option;
		}
	}
	return NULL;
}

int cli_parse_options(const char *words, int argc, char **argv, const struct cli_option *options,
		      const char **positional, int positional_count)
{
	int found = 0;
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			for (i++; i < argc; i++) {
				if (found == positional_count)
					return cli_usage_error(words, "unexpected argument '%s'", argv[i]);
				positional[found++] = argv[i];
			}
			break;
		}
		if (arg[0] == '-' && arg[1] != '\0') {
			const char *inline_value;
			const struct cli_option *option = find_option(options, arg, &inline_value);
			if (!option)
				return cli_usage_error(words, "unknown option '%s'", arg);
			if (option->flag) {
				if (inline_value)
					return cli_usage_error(words, "%s takes no value", option->name);
				*option->flag = true;
			} else if (inline_value) {
				*option->value = inline_value;
			} else if (i + 1 < argc) {
				*option->value = argv[++i];
			} else {
				return cli_usage_error(words, "%s needs a value", option->name);
			}
			continue;
		}
		if (found == positional_count)
			return cli_usage_error(words, "unexpected argument '%s'", arg);
		positional[found++] = arg;
	}
	if (found < positional_count)
		return cli_usage_error(words, "missing argument");
	return CLI_OK;
}
