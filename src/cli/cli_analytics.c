/*
 * cli_analytics.c - crmctl's analytics commands:
 *
 *   analytics fit [--summary-csv FILE]   fit BG/NBD and Gamma-Gamma. With a file of
 *                                        `ID,x,t_x,T,zbar` rows (the CDNOW summary's
 *                                        columns, any time unit): print the parameters as one
 *                                        JSON object and touch no database. Without: fit on
 *                                        the database's purchases (weeks, cents), store the
 *                                        fit as the live one, print it.
 *   analytics settings                   the analytics.* settings, stored and in effect
 *   analytics set KEY VALUE              check and store one setting (docs/analytics.md);
 *                                        VALUE "" removes it
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/analytics.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/banned.h"

/* Prints `value` (steals) as one line of JSON on stdout. */
static void print_json(json_t *value)
{
	char *text = json_dumps(value, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (text)
		printf("%s\n", text);
	free(text);
	json_decref(value);
}

/* A JSON number, or null for NAN (a fit that was not attempted). New reference. */
static json_t *number_or_null(double value)
{
	return isfinite(value) ? json_real(value) : json_null();
}

/* {"bgnbd":{r,alpha,a,b},"gamma_gamma":{p,q,v},"customers":N} (new reference). */
static json_t *parameters_json(const struct ltv_bgnbd_params *bg,
			       const struct ltv_gamma_gamma_params *gg, int64_t customers)
{
	return json_pack("{s:{s:o,s:o,s:o,s:o},s:{s:o,s:o,s:o},s:I}", "bgnbd", "r",
			 number_or_null(bg->r), "alpha", number_or_null(bg->alpha), "a",
			 number_or_null(bg->a), "b", number_or_null(bg->b), "gamma_gamma", "p",
			 number_or_null(gg->p), "q", number_or_null(gg->q), "v",
			 number_or_null(gg->v), "customers", (json_int_t)customers);
}

/* Fits the models on a summary file and prints the parameters. */
static int fit_summary_file(const char *path)
{
	FILE *in = fopen(path, "r");
	if (!in) {
		cli_error("cannot open %s: %s", path, strerror(errno));
		return CLI_FAILED;
	}
	struct ltv_customer_table table = LTV_CUSTOMER_TABLE_INIT;
	struct ltv_error error;
	int read = ltv_customer_table_read_csv(&table, in, &error);
	fclose(in);
	if (read != 0) {
		if (error.line > 0)
			cli_error("%s:%ld: %s", path, error.line, error.message);
		else
			cli_error("%s: %s", path, error.message);
		return CLI_FAILED;
	}
	struct ltv_bgnbd_fit bg;
	struct ltv_gamma_gamma_fit gg;
	int status = CLI_OK;
	ltv_bgnbd_fit(table.customers, table.count, &bg);
	ltv_gamma_gamma_fit(table.customers, table.count, &gg);
	if (bg.status != LTV_FIT_OK) {
		cli_error("the BG/NBD fit failed: %s", bg.message);
		status = CLI_FAILED;
	} else if (gg.status != LTV_FIT_OK) {
		cli_error("the Gamma-Gamma fit failed: %s", gg.message);
		status = CLI_FAILED;
	} else {
		print_json(parameters_json(&bg.params, &gg.params, (int64_t)table.count));
	}
	ltv_customer_table_release(&table);
	return status;
}

/* Fits on the database, stores the live fit and prints it. */
static int fit_database(const char *db_path)
{
	if (!cli_database_exists(db_path))
		return CLI_FAILED;
	struct db *db = db_open(db_path, DB_SYNC_FULL);
	if (!db)
		return CLI_FAILED;
	int result = CLI_FAILED;
	if (db_migrate(db, NULL) != 0) {
		cli_error("cannot migrate %s", db_path);
		goto cleanup;
	}
	struct analytics_model model;
	if (analytics_refit(db, &model) != DB_OK) {
		cli_error("the fit could not be stored in %s", db_path);
		goto cleanup;
	}
	json_t *out = parameters_json(&model.bgnbd.params, &model.gamma_gamma.params, model.customers);
	json_t *full = analytics_model_to_json(&model);
	static const char *const extra[] = { "method", "converged", "time_unit", "spend_unit",
					     "purchases", "data_as_of", "fitted_at", "duration_ms" };
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		json_object_set(out, extra[i], json_object_get(full, extra[i]));
	if (model.bgnbd.status != LTV_FIT_OK)
		fprintf(stderr, "crmctl: BG/NBD fell back to %s: %s\n", LTV_METHOD_FALLBACK_RATE,
			model.bgnbd.message);
	if (model.gamma_gamma.status != LTV_FIT_OK)
		fprintf(stderr, "crmctl: Gamma-Gamma fell back to %s: %s\n",
			LTV_METHOD_FALLBACK_SPEND, model.gamma_gamma.message);
	json_decref(full);
	print_json(out);
	result = CLI_OK;
cleanup:
	db_close(db);
	return result;
}

int cli_analytics_fit(struct cli_context *cli, int argc, char **argv)
{
	const char *summary = NULL;
	const struct cli_option options[] = {
		{ "--summary-csv", &summary, NULL },
		{ NULL, NULL, NULL },
	};
	int result = cli_parse_options("analytics fit", argc, argv, options, NULL, 0);
	if (result != CLI_OK)
		return result;
	return summary ? fit_summary_file(summary) : fit_database(cli->db_path);
}

int cli_analytics_settings(struct cli_context *cli, int argc, char **argv)
{
	int result = cli_parse_options("analytics settings", argc, argv, NULL, NULL, 0);
	if (result != CLI_OK)
		return result;
	json_t *stored = NULL;
	struct analytics_settings settings;
	if (analytics_store_settings_list(cli->db, &stored) != DB_OK ||
	    analytics_store_settings(cli->db, &settings) != DB_OK) {
		json_decref(stored);
		cli_error("cannot read the settings");
		return CLI_FAILED;
	}
	json_t *tiers = json_array();
	for (int i = 0; i < settings.tier_count; i++) {
		bool last = i + 1 == settings.tier_count;
		json_t *tier = json_pack("{s:s}", "name", settings.tiers[i].name);
		if (!last && settings.tier_basis == ANALYTICS_TIERS_BY_SHARE)
			json_object_set_new(tier, "share", json_real(settings.tiers[i].share_bp / 10000.0));
		else if (!last)
			json_object_set_new(tier, "min_cents", json_integer(settings.tiers[i].min_cents));
		json_array_append_new(tiers, tier);
	}
	json_t *effective = json_pack(
		"{s:f,s:i,s:f,s:f,s:i,s:{s:s,s:s,s:o}}", "gross_margin", settings.gross_margin,
		"horizon_days", settings.horizon_days, "discount_rate", settings.discount_rate,
		"refit_change", settings.refit_change, "refit_days", settings.refit_days, "tiers",
		"basis", settings.tier_basis == ANALYTICS_TIERS_BY_SHARE ? "share" : "value", "metric",
		settings.tier_metric == ANALYTICS_METRIC_LTV ? "ltv_cents" : "predicted_ltv_cents",
		"tiers", tiers);
	print_json(json_pack("{s:o,s:o}", "stored", stored, "effective", effective));
	return CLI_OK;
}

int cli_analytics_set(struct cli_context *cli, int argc, char **argv)
{
	const char *positional[2];
	int result = cli_parse_options("analytics set", argc, argv, NULL, positional, 2);
	if (result != CLI_OK)
		return result;
	const char *key = positional[0], *value = positional[1];
	if (strncmp(key, "analytics.", 10) == 0)
		key += 10;
	struct analytics_settings settings;
	analytics_settings_defaults(&settings);
	char why[200];
	if (value[0] && analytics_settings_apply(&settings, key, value, why, sizeof(why)) != 0) {
		cli_error("%s", why);
		return CLI_FAILED;
	}
	if (!value[0] && analytics_settings_apply(&settings, key, "1", why, sizeof(why)) != 0 &&
	    strstr(why, "unknown")) {
		cli_error("%s", why);
		return CLI_FAILED;
	}
	int status = db_begin_write(cli->db);
	if (status == DB_OK)
		status = analytics_store_setting_put(cli->db, key, value[0] ? value : NULL);
	if (status == DB_OK)
		status = db_commit(cli->db);
	else
		db_rollback(cli->db);
	if (status != DB_OK) {
		cli_error("cannot store the setting");
		return CLI_FAILED;
	}
	printf("%s analytics.%s\n", value[0] ? "set" : "removed", key);
	return CLI_OK;
}
