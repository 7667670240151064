/*
 * segments.c - the segments resource (segments.h): its descriptor on the generic
 * mechanism with its own rules (kind, rule), reading members, the CSV export (which
 * crmctl's `segment export` shares), and static memberships changed with their audit entry
 * and events (also when a contact is deleted, merged or erased). The routes are
 * src/http/segments_http.c; the rule compiler is segment_rule.c and the SQL is in
 * segments_store.c (members) and resource_store.c (records).
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/segments.h"
#include "crm/resource_save.h"
#include "crm/resource_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/contacts.h"
#include "crm/csv.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/outcome.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

#define EXPORT_PAGE 500

/* ================================================================ the resource */

static const char *const segment_kinds[] = { "dynamic", "static", NULL };

/* The `rule` field's check: a rule tree (segment_rule.h); errors name the faulty node. */
static json_t *segments_rule_normalize(const json_t *value, const char *path,
				       struct field_errors *errors)
{
	if (segment_rule_check(value, path, errors) != 0)
		return NULL;
	return json_deep_copy(value);
}

static const struct resource_field segment_fields[] = {
	{ .name = "name", .type = RESOURCE_FIELD_STRING,
	  .flags = RESOURCE_FIELD_REQUIRED | RESOURCE_FIELD_SORT, .max_length = 200 },
	{ .name = "kind", .type = RESOURCE_FIELD_ENUM, .flags = RESOURCE_FIELD_FILTER,
	  .values = segment_kinds },
	{ .name = "rule", .type = RESOURCE_FIELD_OBJECT, .normalize = segments_rule_normalize },
	{ .name = "description", .type = RESOURCE_FIELD_TEXT, .max_length = 2000 },
	{ .name = "owner_id", .type = RESOURCE_FIELD_REFERENCE,
	  .flags = RESOURCE_FIELD_FILTER | RESOURCE_FIELD_DEFAULT_CALLER, .references = "users" },
	{ .name = "tags", .type = RESOURCE_FIELD_TAGS },
	{ .name = "external_id", .type = RESOURCE_FIELD_STRING, .flags = RESOURCE_FIELD_UNIQUE,
	  .max_length = 200 },
	{ .name = NULL },
};

static bool is_null(const json_t *value)
{
	return !value || json_is_null(value);
}

bool segments_is_dynamic(const json_t *segment)
{
	const json_t *kind = json_object_get(segment, "kind");
	return json_is_string(kind) && strcmp(json_string_value(kind), "dynamic") == 0;
}

/*
 * The kind defaults to dynamic with a rule and static without (on a change: the stored
 * one) and never changes; a dynamic segment needs a rule, a static one has none. Runs in
 * the write transaction; changes change->record in place.
 */
static void segments_prepare(struct resource_change *change, struct field_errors *errors)
{
	json_t *record = change->record;
	bool has_rule = !is_null(json_object_get(record, "rule"));
	const json_t *before_kind = change->before ? json_object_get(change->before, "kind") : NULL;
	if (is_null(json_object_get(record, "kind"))) {
		json_object_set_new(record, "kind",
				    !is_null(before_kind) ? json_incref((json_t *)before_kind)
				    : json_string(has_rule ? "dynamic" : "static"));
	}
	const json_t *kind = json_object_get(record, "kind");
	if (!is_null(before_kind) && !json_equal(kind, before_kind)) {
		field_errors_add(errors, "kind",
				 "cannot be changed (it is %s); create a new segment instead",
				 json_string_value(before_kind));
		return;
	}
	bool dynamic = strcmp(json_string_value(kind), "dynamic") == 0;
	if (dynamic && !has_rule)
		field_errors_add(errors, "rule", "a dynamic segment needs a rule");
	if (!dynamic && has_rule)
		field_errors_add(errors, "rule", "only dynamic segments have a rule");
}

static const char *const segments_events[] = {
	"created", "updated", "deleted", "member_added", "member_removed", NULL,
};

const struct resource segments_resource = {
	.name = "segments",
	.singular = "segment",
	.table = "segments",
	.fields = segment_fields,
	.owner_field = "owner_id",
	.fts_table = NULL,
	.events = segments_events,
	.range_filters = NULL,
	.prepare = segments_prepare,
	.shape = NULL,
};

/* ================================================================ CSV */

void segments_csv_add_cell(struct buf *out, const char *text)
{
	csv_add_cell(out, text);
}

/* A plain number: digits, spaces and + ( ) - . / only, with at least one digit. */
static bool is_plain_number(const char *text)
{
	bool digit = false;
	for (const char *p = text; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (!strchr(" +()-./", *p))
			return false;
	}
	return digit;
}

void segments_csv_add_phone(struct buf *out, const char *text)
{
	if (!text || (text[0] != '+' && text[0] != '-') || !is_plain_number(text)) {
		segments_csv_add_cell(out, text);
		return;
	}
	buf_addf(out, "\"=\"\"%s\"\"\"", text); /* ="+49 30 5", quoted as CSV */
}

/* The text, integer or joined tags of `name` in a contact, as one cell. */
static void csv_add_member(struct buf *out, const json_t *contact, const char *name)
{
	const json_t *value = json_object_get(contact, name);
	if (json_is_integer(value)) {
		buf_addf(out, "%lld", (long long)json_integer_value(value));
	} else if (json_is_string(value) && strcmp(name, "phone") == 0) {
		segments_csv_add_phone(out, json_string_value(value));
	} else if (json_is_string(value)) {
		segments_csv_add_cell(out, json_string_value(value));
	} else if (json_is_array(value)) {
		struct buf joined = BUF_INIT;
		size_t index;
		const json_t *tag;
		json_array_foreach(value, index, tag)
			if (json_is_string(tag))
				buf_addf(&joined, "%s%s", joined.len ? "; " : "", json_string_value(tag));
		segments_csv_add_cell(out, joined.data);
		buf_release(&joined);
	}
}

/* The export's columns: a contact's own fields, and (extra) names and scores beside them. */
static const struct {
	const char *name;
	bool extra;
} csv_columns[] = {
	{ "id", false }, { "first_name", false }, { "last_name", false }, { "email", false },
	{ "phone", false }, { "title", false }, { "company_id", false }, { "company", true },
	{ "owner_id", false }, { "owner", true }, { "lifecycle", false },
	{ "relationship_level", false }, { "tier", true }, { "predicted_ltv_cents", true },
	{ "tags", false }, { "source", false }, { "external_id", false }, { "created_at", false },
	{ "updated_at", false }, { NULL, false },
};

static void csv_add_extra(struct buf *out, const struct segments_member_extras *extras,
			  const char *name)
{
	if (strcmp(name, "company") == 0)
		segments_csv_add_cell(out, extras->company);
	else if (strcmp(name, "owner") == 0)
		segments_csv_add_cell(out, extras->owner);
	else if (strcmp(name, "tier") == 0)
		segments_csv_add_cell(out, extras->tier);
	else if (extras->tier[0]) /* predicted_ltv_cents, for customers */
		buf_addf(out, "%lld", (long long)extras->predicted_ltv_cents);
}

static void csv_add_row(struct buf *out, const json_t *contact,
			const struct segments_member_extras *extras)
{
	for (int i = 0; csv_columns[i].name; i++) {
		if (i)
			buf_addch(out, ',');
		if (csv_columns[i].extra)
			csv_add_extra(out, extras, csv_columns[i].name);
		else
			csv_add_member(out, contact, csv_columns[i].name);
	}
	buf_adds(out, "\r\n");
}

/* ================================================================ members */

/*
 * Compiles a stored dynamic segment's rule into `rule` (initialised by the caller).
 * Returns 0, or -1 when it does not compile any more (an older rule language).
 */
int segments_compile_stored_rule(const json_t *segment, struct segment_rule_sql *rule)
{
	struct field_errors errors = { NULL };
	int result = segment_rule_compile(json_object_get(segment, "rule"), "rule", time(NULL),
					  rule, &errors);
	field_errors_release(&errors);
	return result;
}

int segments_rule_affordable(struct db *db, const struct segment_rule_sql *rule,
			     struct outcome *outcome)
{
	int budget = db_budget(db);
	if (!rule || budget <= 0)
		return 0;
	int64_t contacts;
	int status = segments_store_contacts_estimate(db, &contacts);
	if (status != DB_OK)
		return outcome_from_db(outcome, status, NULL);
	double cost_ms = segment_rule_cost_ms(rule, contacts);
	if (cost_ms <= budget)
		return 0;
	struct field_errors errors = { NULL };
	field_errors_add(&errors, rule->costliest,
			 "the rule would take about %.0f ms over %lld contacts, more than the "
			 "%d ms a request may spend; this part costs the most: use fewer or "
			 "shorter conditions",
			 cost_ms, (long long)contacts, budget);
	return outcome_fail_fields(outcome, &errors, false,
				   "the rule is too costly to run within a request's budget");
}

/*
 * Appends the contacts `ids` (records as GET contacts/{id} shows them) to `array`
 * (borrowed). Returns a db_status.
 */
static int load_contacts(struct db *db, const int64_t *ids, int count, json_t *array)
{
	for (int i = 0; i < count; i++) {
		json_t *contact;
		int status = resource_store_get(db, &contacts_resource, ids[i], &contact);
		if (status == DB_NOT_FOUND)
			continue;
		if (status != DB_OK)
			return status;
		if (contacts_resource.shape)
			contacts_resource.shape(db, contact);
		json_array_append_new(array, contact);
	}
	return DB_OK;
}

int segments_export_csv(struct db *db, const json_t *segment,
			const struct segments_viewer *viewer, struct buf *out)
{
	struct segment_rule_sql rule;
	segment_rule_sql_init(&rule);
	int64_t *ids = xmalloc(sizeof(*ids) * EXPORT_PAGE);
	json_t *page = json_array();
	int status;
	struct segments_member_query query = {
		.segment_id = json_integer_value(json_object_get(segment, "id")),
		.rule = NULL,
		.viewer = *viewer,
		.after_id = 0,
		.limit = EXPORT_PAGE,
	};
	if (segments_is_dynamic(segment)) {
		if (segments_compile_stored_rule(segment, &rule) != 0) {
			status = SEGMENTS_RULE_INVALID;
			goto cleanup;
		}
		query.rule = &rule;
	}
	for (int i = 0; csv_columns[i].name; i++)
		buf_addf(out, "%s%s", i ? "," : "", csv_columns[i].name);
	buf_adds(out, "\r\n");

	status = db_begin_read(db);
	if (status != DB_OK)
		goto cleanup;
	status = segments_store_prepare_scores(db); /* the rule's and the tier columns' */
	int count = EXPORT_PAGE;
	while (status == DB_OK && count == EXPORT_PAGE) {
		status = segments_store_member_ids(db, &query, ids, &count);
		if (status == DB_OK)
			status = load_contacts(db, ids, count, page);
		size_t index;
		const json_t *contact;
		json_array_foreach(page, index, contact) {
			struct segments_member_extras extras;
			if (status == DB_OK)
				status = segments_store_member_extras(
					db, viewer, json_integer_value(json_object_get(contact, "id")),
					&extras);
			if (status == DB_OK)
				csv_add_row(out, contact, &extras);
		}
		json_array_clear(page);
		if (count > 0)
			query.after_id = ids[count - 1];
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
cleanup:
	json_decref(page);
	free(ids);
	segment_rule_sql_release(&rule);
	return status;
}

/*
 * Reads members in one read transaction: `page` receives at most query->limit contacts
 * after query->after_id and *more whether more follow; `total` (optional) the number of
 * all members (query->after_id must then be 0). Returns a db_status.
 */
int segments_read_members(struct db *db, const struct segments_member_query *query,
			  json_t *page, bool *more, int64_t *total)
{
	int64_t *ids = xmalloc(sizeof(*ids) * (size_t)(query->limit + 1));
	int status = db_begin_read(db);
	if (status != DB_OK)
		goto cleanup;
	status = segments_store_prepare(db, query->rule);
	struct segments_member_query one_more = *query;
	one_more.limit = query->limit + 1;
	int count = 0;
	if (status == DB_OK)
		status = segments_store_member_ids(db, &one_more, ids, &count);
	*more = count > query->limit;
	/* A first page that holds every member is the count: the rule runs once, not twice. */
	if (status == DB_OK && total)
		*total = count;
	if (status == DB_OK && total && *more)
		status = segments_store_member_count(db, query, total);
	if (*more)
		count = query->limit;
	if (status == DB_OK)
		status = load_contacts(db, ids, count, page);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
cleanup:
	free(ids);
	return status;
}

/* ---------------------------------------------------------------- adding and removing */

int segments_member_event(struct db *db, int64_t segment_id, int64_t contact_id, bool add)
{
	json_t *data = json_pack("{s:I, s:I}", "segment_id", (json_int_t)segment_id,
				 "contact_id", (json_int_t)contact_id);
	int status = webhooks_emit(db, add ? "segment.member_added" : "segment.member_removed",
				   data, NULL);
	json_decref(data);
	return status;
}

/*
 * Records that `count` contacts (`contact_ids`, borrowed) joined (`add`) or left static
 * segment `segment` (the stored record, borrowed): its version + 1 (the stored record in
 * *stored unless `stored` is NULL) and the audit entry. The actor is the API, or crmctl
 * when there is no user (a GDPR erasure from the command line).
 */
int segments_record_member_change(struct db *db, int64_t user_id, const json_t *segment,
				   const json_t *contact_ids, int64_t count, bool add,
				   json_t **stored)
{
	int64_t segment_id = json_integer_value(json_object_get(segment, "id"));
	json_t *updated = NULL;
	int status = resource_store_update(db, &segments_resource, segment_id,
					   json_integer_value(json_object_get(segment, "version")),
					   segment, &updated);
	if (status == DB_OK) {
		json_t *change = json_pack("{s:O, s:I}", "contact_ids", contact_ids,
					   add ? "added" : "removed", (json_int_t)count);
		status = audit_record(db, user_id, user_id > 0 ? AUDIT_ACTOR_API : AUDIT_ACTOR_CLI,
				      "segments", segment_id, add ? "add_members" : "remove_members",
				      add ? NULL : change, add ? change : NULL);
		json_decref(change);
	}
	if (stored)
		*stored = updated;
	else
		json_decref(updated);
	return status;
}

/* ================================================================ memberships that go with a contact */

/*
 * Announces that contact `contact_id` joined (`add`) or left static segment `segment_id`
 * as change_members() does (segments.h): version + 1, webhook event and audit entry.
 */
static int announce_member_change(struct db *db, int64_t user_id, int64_t segment_id,
				  int64_t contact_id, bool add)
{
	json_t *segment = NULL, *contact_ids = json_pack("[I]", (json_int_t)contact_id);
	int status = resource_store_get(db, &segments_resource, segment_id, &segment);
	if (status == DB_OK)
		status = segments_member_event(db, segment_id, contact_id, add);
	if (status == DB_OK)
		status = segments_record_member_change(db, user_id, segment, contact_ids, 1, add, NULL);
	json_decref(contact_ids);
	json_decref(segment);
	return status;
}

int segments_contact_deleted(struct db *db, int64_t user_id, const json_t *contact)
{
	int64_t contact_id = json_integer_value(json_object_get(contact, "id"));
	json_t *segment_ids;
	int status = segments_store_contact_segment_ids(db, contact_id, &segment_ids);
	size_t i;
	json_t *id;
	json_array_foreach(segment_ids, i, id) {
		if (status != DB_OK)
			break;
		int64_t segment_id = json_integer_value(id), removed = 0;
		status = segments_store_members_remove(db, segment_id, &contact_id, 1, &removed);
		if (status == DB_OK && removed > 0)
			status = announce_member_change(db, user_id, segment_id, contact_id, false);
	}
	json_decref(segment_ids);
	return status;
}

/* Whether the JSON array of integers `ids` holds `id`. */
static bool ids_contain(const json_t *ids, int64_t id)
{
	size_t i;
	json_t *value;
	json_array_foreach(ids, i, value)
		if (json_integer_value(value) == id)
			return true;
	return false;
}

int segments_contact_merging(struct db *db, int64_t user_id, int64_t from_id, int64_t into_id)
{
	json_t *from_segments = NULL, *into_segments = NULL;
	int status = segments_store_contact_segment_ids(db, from_id, &from_segments);
	if (status == DB_OK)
		status = segments_store_contact_segment_ids(db, into_id, &into_segments);
	size_t i;
	json_t *id;
	json_array_foreach(from_segments, i, id) {
		if (status != DB_OK)
			break;
		int64_t segment_id = json_integer_value(id);
		status = announce_member_change(db, user_id, segment_id, from_id, false);
		if (status == DB_OK && !ids_contain(into_segments, segment_id))
			status = announce_member_change(db, user_id, segment_id, into_id, true);
	}
	json_decref(from_segments);
	json_decref(into_segments);
	return status;
}


int segments_change_members(struct db *db, int64_t user_id, const json_t *segment,
			    const int64_t *ids, size_t count, const json_t *contact_ids, bool add,
			    int64_t *changed, json_t **stored)
{
	/* One contact at a time, so that each one that really joins (or leaves) gets its
	 * webhook event (segment.member_added / member_removed) in this transaction. */
	int64_t segment_id = json_integer_value(json_object_get(segment, "id"));
	int status = DB_OK;
	*changed = 0;
	*stored = NULL;
	for (size_t i = 0; status == DB_OK && i < count; i++) {
		int64_t one = 0;
		status = add ? segments_store_members_add(db, segment_id, &ids[i], 1, &one)
			     : segments_store_members_remove(db, segment_id, &ids[i], 1, &one);
		*changed += one;
		if (status == DB_OK && one > 0)
			status = segments_member_event(db, segment_id, ids[i], add);
	}
	if (status == DB_OK && *changed > 0)
		status = segments_record_member_change(db, user_id, segment, contact_ids, *changed,
						       add, stored);
	return status;
}
