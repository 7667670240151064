/*
 * gdpr.c - export and erasure of what is held about a person (gdpr.h): the export
 * document, the erasure with its audit redaction and audit entry. The routes are
 * src/http/gdpr_http.c; the SQL is gdpr_store.c's and the resources' stores'.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/gdpr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/companies.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "crm/interactions.h"
#include "crm/json.h"
#include "crm/operations.h"
#include "crm/opportunities.h"
#include "crm/perm.h"
#include "crm/purchases.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/tasks.h"
#include "crm/segments.h"
#include "crm/timeutil.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

/* ================================================================ what is personal */

/* The members redacted in audit entries of each entity (the fields erasure clears). */
struct gdpr_redaction {
	const char *entity;
	const char *const *members; /* NULL-terminated */
};

static const char *const contact_members[] = { "first_name", "last_name", "email", "phone",
					       "title", "company_id", "tags", "custom",
					       "external_id", NULL };
static const char *const interaction_members[] = { "subject", "body", "outcome", "external_id",
						   NULL };
static const char *const task_members[] = { "title", "external_id", NULL };
static const char *const opportunity_members[] = { "name", "lost_reason", "tags", "custom",
						   "external_id", NULL };
static const char *const purchase_members[] = { "reference", "external_id", NULL };

static const struct gdpr_redaction redactions[] = {
	{ "contacts", contact_members },       { "interactions", interaction_members },
	{ "tasks", task_members },             { "opportunities", opportunity_members },
	{ "purchases", purchase_members },     { NULL, NULL },
};

static const struct resource *const related_resources[GDPR_RELATED_COUNT] = {
	[GDPR_INTERACTIONS] = &interactions_resource,
	[GDPR_TASKS] = &tasks_resource,
	[GDPR_OPPORTUNITIES] = &opportunities_resource,
	[GDPR_PURCHASES] = &purchases_resource,
};

/*
 * A copy of an audit entry's record (borrowed; may be NULL or not an object) with the
 * personal members of `entity` emptied: arrays become [], objects {}, the rest null.
 * Returns a new reference, or NULL for NULL.
 */
static json_t *redacted(const char *entity, const json_t *record)
{
	if (!record)
		return NULL;
	json_t *copy = json_deep_copy(record);
	if (!json_is_object(copy))
		return copy;
	for (const struct gdpr_redaction *r = redactions; r->entity; r++) {
		if (strcmp(r->entity, entity) != 0)
			continue;
		for (const char *const *member = r->members; *member; member++) {
			json_t *value = json_object_get(copy, *member);
			if (!value)
				continue;
			json_object_set_new(copy, *member, json_is_array(value)    ? json_array()
							   : json_is_object(value) ? json_object()
										   : json_null());
		}
	}
	return copy;
}

/* The entry's member as stored: NULL for JSON null (the column was NULL). Borrowed. */
static const json_t *stored_member(const json_t *entry, const char *name)
{
	const json_t *value = json_object_get(entry, name);
	return value && !json_is_null(value) ? value : NULL;
}

/* ================================================================ export */

/* Loads the records of `ids` into a new array (opportunities with their stage history). */
static int load_records(struct db *db, const struct resource *resource, const int64_t *ids,
			size_t count, json_t **records)
{
	*records = json_array();
	for (size_t i = 0; i < count; i++) {
		json_t *record = NULL;
		int status = resource_store_get(db, resource, ids[i], &record);
		if (status == DB_NOT_FOUND)
			continue;
		if (status != DB_OK)
			return status;
		if (resource->shape)
			resource->shape(db, record);
		if (resource == &opportunities_resource) {
			json_t *history = json_array();
			int64_t after_id = 0;
			bool more = true;
			while (more && status == DB_OK) {
				json_t *page = NULL;
				status = operations_store_stage_changes(db, ids[i], after_id,
									RESOURCE_LIST_LIMIT_MAX, &page, &more);
				if (status != DB_OK)
					break;
				size_t index;
				json_t *change;
				json_array_foreach(page, index, change) {
					after_id = json_integer_value(json_object_get(change, "id"));
					json_array_append(history, change);
				}
				json_decref(page);
			}
			json_object_set_new(record, "stage_changes", history);
			if (status != DB_OK) {
				json_decref(record);
				return status;
			}
		}
		json_array_append_new(*records, record);
	}
	return DB_OK;
}

/* The export, inside the caller's read transaction. */
static int export_document(struct db *db, int64_t contact_id, json_t *document)
{
	json_t *contact = NULL;
	int status = resource_store_get(db, &contacts_resource, contact_id, &contact);
	if (status != DB_OK)
		return status;
	char erased_at[32];
	status = gdpr_store_erased_at(db, contact_id, erased_at, sizeof(erased_at));
	json_object_set_new(contact, "erased_at", erased_at[0] ? json_string(erased_at) : json_null());
	json_object_set_new(document, "contact", contact);
	if (status != DB_OK)
		return status;

	json_t *company = NULL;
	const json_t *company_id = json_object_get(contact, "company_id");
	if (json_is_integer(company_id)) {
		status = resource_store_get(db, &companies_resource, json_integer_value(company_id),
					    &company);
		if (status != DB_OK && status != DB_NOT_FOUND)
			return status;
	}
	json_object_set_new(document, "company", company ? company : json_null());

	int64_t *task_ids = NULL;
	size_t task_count = 0;
	static const char *const sections[GDPR_RELATED_COUNT] = {
		[GDPR_INTERACTIONS] = "interactions", [GDPR_TASKS] = "tasks",
		[GDPR_OPPORTUNITIES] = "opportunities", [GDPR_PURCHASES] = "purchases",
	};
	for (int kind = 0; kind < GDPR_RELATED_COUNT && status == DB_OK; kind++) {
		int64_t *ids = NULL;
		size_t count = 0;
		status = gdpr_store_related_ids(db, (enum gdpr_related)kind, contact_id, &ids, &count);
		json_t *records = NULL;
		if (status == DB_OK)
			status = load_records(db, related_resources[kind], ids, count, &records);
		json_object_set_new(document, sections[kind], records ? records : json_array());
		if (kind == GDPR_TASKS) {
			task_ids = ids;
			task_count = count;
		} else {
			free(ids);
		}
	}
	json_t *segments = NULL, *audit = NULL;
	if (status == DB_OK)
		status = gdpr_store_segment_memberships(db, contact_id, &segments);
	json_object_set_new(document, "segments", segments ? segments : json_array());
	if (status == DB_OK)
		status = gdpr_store_audit_entries(db, contact_id, "tasks", task_ids, task_count, &audit);
	json_object_set_new(document, "audit", audit ? audit : json_array());
	free(task_ids);
	return status;
}

int gdpr_contact_export(struct db *db, int64_t contact_id, json_t **document)
{
	*document = NULL;
	int status = db_begin_read(db);
	if (status != DB_OK)
		return status;
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	json_t *built = json_pack("{s:s, s:s}", "format", GDPR_EXPORT_FORMAT, "exported_at", now);
	status = export_document(db, contact_id, built);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		json_decref(built);
		return status;
	}
	*document = built;
	return DB_OK;
}

/* ================================================================ erasure */

/* Rewrites the audit entries about the contact with personal members emptied. */
static int redact_audit(struct db *db, int64_t contact_id, int64_t *rewritten)
{
	int64_t *task_ids = NULL;
	size_t task_count = 0;
	json_t *entries = NULL;
	int status = gdpr_store_related_ids(db, GDPR_TASKS, contact_id, &task_ids, &task_count);
	if (status == DB_OK)
		status = gdpr_store_audit_entries(db, contact_id, "tasks", task_ids, task_count,
						  &entries);
	size_t index;
	json_t *entry;
	json_array_foreach(entries, index, entry) {
		if (status != DB_OK)
			break;
		const char *entity = json_string_value(json_object_get(entry, "entity"));
		const json_t *before = stored_member(entry, "before"), *after = stored_member(entry, "after");
		json_t *new_before = redacted(entity ? entity : "", before);
		json_t *new_after = redacted(entity ? entity : "", after);
		bool changed = (before && !json_equal(before, new_before)) ||
			       (after && !json_equal(after, new_after));
		if (changed) {
			status = gdpr_store_audit_rewrite(
				db, json_integer_value(json_object_get(entry, "id")), new_before, new_after);
			(*rewritten)++;
		}
		json_decref(new_before);
		json_decref(new_after);
	}
	json_decref(entries);
	free(task_ids);
	return status;
}

int gdpr_contact_erase(struct db *db, int64_t contact_id, int64_t expected_version,
		       int64_t user_id, const char *actor, struct gdpr_erase_counts *counts)
{
	memset(counts, 0, sizeof(*counts));
	time_now_rfc3339(counts->erased_at);
	/* Its static segment memberships go as a delete's do: each one audited on its segment
	 * and announced (segment.member_removed), before the erasure removes what is left. */
	json_t *memberships = NULL, *reference = json_pack("{s:I}", "id", (json_int_t)contact_id);
	int status = gdpr_store_segment_memberships(db, contact_id, &memberships);
	size_t membership_count = json_array_size(memberships);
	json_decref(memberships);
	if (status == DB_OK)
		status = segments_contact_deleted(db, user_id, reference);
	json_decref(reference);
	if (status == DB_OK)
		status = gdpr_store_erase(db, contact_id, expected_version, counts->erased_at,
					  counts);
	counts->segment_memberships += (int64_t)membership_count;
	if (status == DB_OK)
		status = redact_audit(db, contact_id, &counts->audit_entries);
	if (status != DB_OK)
		return status;
	json_t *summary = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "erased_at",
				    counts->erased_at, "interactions", (json_int_t)counts->interactions,
				    "tasks", (json_int_t)counts->tasks, "opportunities",
				    (json_int_t)counts->opportunities, "purchases_kept",
				    (json_int_t)counts->purchases_kept, "segment_memberships",
				    (json_int_t)counts->segment_memberships, "audit_entries_redacted",
				    (json_int_t)counts->audit_entries);
	status = audit_record(db, user_id, actor, "contacts", contact_id, "erase", NULL, summary);
	json_decref(summary);
	if (status == DB_OK)
		status = gdpr_store_purge_pending_add(db);
	if (status == DB_OK && webhooks_store_subscribed(db, "contact.erased") > 0) {
		/* so that other systems erase their copies too: the id and time, nothing personal */
		json_t *data = json_pack("{s:I, s:s}", "id", (json_int_t)contact_id, "erased_at",
					 counts->erased_at);
		status = webhooks_emit(db, "contact.erased", data, NULL);
		json_decref(data);
	}
	return status;
}
