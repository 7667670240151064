/*
 * resource_save.c - the write pipeline of the generic resources (resource_save.h): check,
 * store, derived updates, change event and audit entry of every create, change and delete,
 * in the caller's transaction, for every writer (HTTP, import, merge, crmctl, jobs).
 *
 * It runs no SQL itself: it calls the store (resource_store.h, audit.h) and the
 * permission module, and reports failures in a struct outcome, never as HTTP.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/resource_save.h"

#include <string.h>

#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/db.h"
#include "crm/log.h"
#include "crm/resource_store.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define DELETE_DEPTH_MAX 8 /* dependants of dependants ...: far more than the schema has */

/* ================================================================ permissions */

struct write_actor write_actor_api(struct db *db, const struct auth_context *caller)
{
	return (struct write_actor){ db, caller, caller->user_id, AUDIT_ACTOR_API };
}

/* Whether `caller` (NULL: crmctl, trusted) may `action` a record owned by `owner_id`. */
static bool caller_may(struct db *db, const struct auth_context *caller,
		       const struct resource *resource, enum perm_action action, int64_t owner_id)
{
	if (!caller)
		return true;
	enum perm_scope scope = perm_scope_for(db, caller, resource->name, action);
	if (!resource->owner_field)
		return scope == PERM_SCOPE_ALL;
	return perm_scope_covers(db, scope, caller, owner_id);
}

bool resource_actor_may(const struct write_actor *actor, const struct resource *resource,
			enum perm_action action, int64_t owner_id)
{
	return caller_may(actor->db, actor->caller, resource, action, owner_id);
}

int resource_reference_usable(struct db *db, const struct auth_context *caller,
			      const char *references, int64_t id)
{
	if (strcmp(references, "users") == 0) {
		char team[256];
		int status = users_store_team_of(db, id, team, sizeof(team));
		if (status == DB_NOT_FOUND)
			return 0;
		return status == DB_OK ? 1 : status;
	}
	const struct resource *target = resource_find(references);
	if (!target) {
		log_error("reference to unregistered resource %s", references);
		return 0;
	}
	int64_t owner_id;
	int status = resource_store_owner_of(db, target, id, &owner_id);
	if (status == DB_NOT_FOUND)
		return 0;
	if (status != DB_OK)
		return status;
	return caller_may(db, caller, target, PERM_READ, owner_id) ? 1 : 0;
}

int64_t resource_owner_through_reference(struct db *db, const struct resource *resource,
					 int64_t owner)
{
	if (!resource->owner_via_reference || owner <= 0)
		return owner;
	const struct resource_field *field = resource_field_find(resource, resource->owner_field);
	const struct resource *parent = field ? resource_find(field->references) : NULL;
	int64_t parent_owner = 0;
	if (!parent || resource_store_owner_of(db, parent, owner, &parent_owner) != DB_OK)
		return 0;
	return parent_owner;
}

int64_t resource_record_owner_lookup(struct db *db, const struct resource *resource,
				     const json_t *record)
{
	return resource_owner_through_reference(db, resource,
						resource_record_owner(resource, record));
}

/* ================================================================ what leaves the server */

static bool has_write_only_fields(const struct resource *resource)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->flags & RESOURCE_FIELD_WRITE_ONLY)
			return true;
	return false;
}

bool resource_answered_as_stored(const struct resource *resource)
{
	return !resource->shape && !has_write_only_fields(resource);
}

static void strip_write_only(const struct resource *resource, json_t *record)
{
	for (const struct resource_field *field = resource->fields; field->name; field++)
		if (field->flags & RESOURCE_FIELD_WRITE_ONLY)
			json_object_del(record, field->name);
}

json_t *resource_record_redacted(const struct resource *resource, const json_t *record)
{
	if (!record || !has_write_only_fields(resource))
		return json_incref((json_t *)record);
	json_t *copy = json_deep_copy(record);
	strip_write_only(resource, copy);
	return copy;
}

json_t *resource_record_public(struct db *db, const struct resource *resource,
			       const json_t *record)
{
	json_t *copy = json_deep_copy(record);
	strip_write_only(resource, copy);
	if (resource->shape)
		resource->shape(db, copy);
	return copy;
}

/* ================================================================ events and audit */

static resource_event_hook event_hook;

void resource_set_event_hook(resource_event_hook hook)
{
	event_hook = hook;
}

int resource_event_emit(struct db *db, const struct resource *resource,
			enum resource_event event, const json_t *before, const json_t *after)
{
	return event_hook ? event_hook(db, resource, event, before, after) : DB_OK;
}

static int64_t record_id(const json_t *record)
{
	return json_integer_value(json_object_get(record, "id"));
}

/*
 * The change's event, then its audit entry ("create", "update" or "delete"), both of the
 * stored records `before` and `after` (borrowed; NULL on create / delete). A db_status.
 */
static int announce_and_audit(const struct write_actor *actor, const struct resource *resource,
			      enum resource_event event, const json_t *before,
			      const json_t *after)
{
	int status = resource_event_emit(actor->db, resource, event, before, after);
	if (status != DB_OK)
		return status;
	static const char *const actions[] = { "create", "update", "delete" };
	json_t *audit_before = resource_record_redacted(resource, before);
	json_t *audit_after = resource_record_redacted(resource, after);
	status = audit_record(actor->db, actor->user_id, actor->actor, resource->name,
			      record_id(after ? after : before), actions[event], audit_before,
			      audit_after);
	json_decref(audit_before);
	json_decref(audit_after);
	return status;
}

/* ================================================================ save */

static bool field_changed(const json_t *record, const json_t *before, const char *name)
{
	if (!before)
		return true;
	const json_t *a = json_object_get(record, name), *b = json_object_get(before, name);
	bool a_null = !a || json_is_null(a), b_null = !b || json_is_null(b);
	return a_null != b_null || (!a_null && !json_equal(a, b));
}

void resource_fill_create_defaults(const struct write_actor *actor,
				   const struct resource *resource, json_t *record)
{
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (json_object_get(record, field->name))
			continue;
		if (field->flags & RESOURCE_FIELD_DEFAULT_CALLER)
			json_object_set_new(record, field->name,
					    actor->user_id > 0 ? json_integer(actor->user_id)
							       : json_null());
		else if (field->flags & RESOURCE_FIELD_DEFAULT_NOW)
			json_object_set_new(record, field->name, json_string(now));
	}
}

void resource_keep_on_replace(const struct resource *resource, json_t *record,
			      const json_t *before)
{
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		bool keep = (field->flags & RESOURCE_FIELD_READ_ONLY) ||
			    ((field->flags & (RESOURCE_FIELD_DEFAULT_CALLER |
					      RESOURCE_FIELD_DEFAULT_NOW)) &&
			     !json_object_get(record, field->name));
		if (keep) {
			const json_t *old = json_object_get(before, field->name);
			json_object_set_new(record, field->name,
					    old ? json_deep_copy(old) : resource_field_empty(field));
		}
	}
}

/* References: a changed reference must name a record the actor may read. A db_status. */
static int check_references(const struct write_actor *actor, const struct resource *resource,
			    const json_t *before, const json_t *record,
			    struct field_errors *errors)
{
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(record, field->name);
		if (field->type != RESOURCE_FIELD_REFERENCE || !json_is_integer(value) ||
		    !field_changed(record, before, field->name))
			continue;
		int usable = resource_reference_usable(actor->db, actor->caller, field->references,
						       json_integer_value(value));
		if (usable < 0)
			return usable;
		if (!usable) {
			const struct resource *target = resource_find(field->references);
			field_errors_add(errors, field->name, "no such %s",
					 target ? target->singular : "user");
		}
	}
	return DB_OK;
}

/* UNIQUE fields whose value changed must not be another record's. A db_status. */
static int check_unique(const struct write_actor *actor, const struct resource *resource,
			const json_t *before, const json_t *record, struct field_errors *errors)
{
	int64_t own_id = before ? record_id(before) : 0;
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		const json_t *value = json_object_get(record, field->name);
		if (!(field->flags & RESOURCE_FIELD_UNIQUE) || !value || json_is_null(value) ||
		    !field_changed(record, before, field->name))
			continue;
		int taken = resource_store_value_taken(actor->db, resource, field, value, own_id);
		if (taken < 0)
			return taken;
		if (taken)
			field_errors_add(errors, field->name, "is already used by another %s",
					 resource->singular);
	}
	return DB_OK;
}

int resource_check(const struct write_actor *actor, const struct resource *resource,
		   enum resource_operation operation, const json_t *input, const json_t *before,
		   json_t *record, struct field_errors *errors, struct outcome *outcome)
{
	int result = -1;
	if (!field_errors_any(errors) && resource->prepare) {
		struct resource_change change = { .operation = operation, .db = actor->db,
						  .caller = actor->caller, .user_id = actor->user_id,
						  .input = input, .before = before, .record = record };
		resource->prepare(&change, errors);
	}
	resource_record_check_required(resource, record, errors);
	int status = check_references(actor, resource, before, record, errors);
	if (status != DB_OK) {
		outcome_from_db(outcome, status, resource->singular);
		goto cleanup;
	}
	if (field_errors_any(errors)) {
		outcome_fail_fields(outcome, errors, false, NULL);
		goto cleanup;
	}
	int64_t new_owner = resource_record_owner_lookup(actor->db, resource, record);
	bool owner_changed =
		!before || new_owner != resource_record_owner_lookup(actor->db, resource, before);
	if (owner_changed && !caller_may(actor->db, actor->caller, resource, PERM_WRITE, new_owner)) {
		outcome_fail(outcome, OUTCOME_FORBIDDEN, "you may not %s %s owned by that user",
			     before ? "give this record to" : "create a", resource->singular);
		goto cleanup;
	}
	status = check_unique(actor, resource, before, record, errors);
	if (status != DB_OK) {
		outcome_from_db(outcome, status, resource->singular);
		goto cleanup;
	}
	if (field_errors_any(errors)) {
		outcome_fail_fields(outcome, errors, true,
				    "a unique field is already used by another record");
		goto cleanup;
	}
	result = 0;
cleanup:
	field_errors_release(errors);
	return result;
}

int resource_apply(const struct write_actor *actor, const struct resource *resource,
		   enum resource_operation operation, const json_t *input, const json_t *before,
		   const json_t *record, json_t **stored, bool *changed, struct outcome *outcome)
{
	*stored = NULL;
	*changed = false;
	if (before && resource_record_unchanged(resource, record, before)) {
		*stored = json_incref((json_t *)before);
		return 0;
	}
	int status = before ? resource_store_update(actor->db, resource, record_id(before),
						    json_integer_value(json_object_get(before, "version")),
						    record, stored)
			    : resource_store_insert(actor->db, resource, record, stored);
	if (status == DB_OK && resource->after_save) {
		struct resource_change change = { .operation = operation, .db = actor->db,
						  .caller = actor->caller, .user_id = actor->user_id,
						  .input = input, .before = before,
						  .record = (json_t *)record };
		status = resource->after_save(&change, *stored);
	}
	if (status == DB_OK)
		status = announce_and_audit(actor, resource,
					    before ? RESOURCE_EVENT_UPDATED : RESOURCE_EVENT_CREATED,
					    before, *stored);
	if (status != DB_OK) {
		json_decref(*stored);
		*stored = NULL;
		return outcome_from_db(outcome, status, resource->singular);
	}
	*changed = true;
	return 0;
}

int resource_save(const struct write_actor *actor, const struct resource *resource,
		  enum resource_operation operation, const json_t *input, const json_t *before,
		  json_t *record, struct field_errors *errors, json_t **stored, bool *changed,
		  struct outcome *outcome)
{
	*stored = NULL;
	*changed = false;
	if (resource_check(actor, resource, operation, input, before, record, errors, outcome) != 0)
		return -1;
	return resource_apply(actor, resource, operation, input, before, record, stored, changed,
			      outcome);
}

/* ================================================================ remove */

static int delete_with_dependants(const struct write_actor *actor,
				  const struct resource *resource, const json_t *before, int depth);

/*
 * Sets `field` of `record` (borrowed, as loaded) to null as its foreign key's ON DELETE SET
 * NULL would, but as a write of its own: version + 1, its `.updated` event and an update
 * audit entry.
 */
static int detach_dependant(const struct write_actor *actor, const struct resource *resource,
			    const struct resource_field *field, const json_t *record)
{
	json_t *changed = json_deep_copy(record), *stored = NULL;
	json_object_set_new(changed, field->name, json_null());
	int status = resource_store_update(actor->db, resource, record_id(record),
					   json_integer_value(json_object_get(record, "version")),
					   changed, &stored);
	json_decref(changed);
	if (status == DB_OK)
		status = announce_and_audit(actor, resource, RESOURCE_EVENT_UPDATED, record, stored);
	json_decref(stored);
	return status;
}

/*
 * The dependants of record `id` of `parent` through `child`'s REFERENCE `field`, by what
 * the schema's foreign key does on delete: deleted (CASCADE) or detached (SET NULL).
 * Each record is loaded again first: an earlier step may have changed or deleted it.
 */
static int handle_dependants(const struct write_actor *actor, const struct resource *child,
			     const struct resource_field *field, int64_t id, int depth)
{
	enum resource_on_delete action;
	int status = resource_store_on_delete(actor->db, child, field->name, &action);
	if (status != DB_OK || action == RESOURCE_ON_DELETE_NONE)
		return status;
	json_t *records;
	status = resource_store_referencing(actor->db, child, field->name, id, &records);
	if (status != DB_OK)
		return status;
	size_t i;
	json_t *listed;
	json_array_foreach(records, i, listed) {
		json_t *record;
		status = resource_store_get(actor->db, child, record_id(listed), &record);
		if (status == DB_NOT_FOUND) {
			status = DB_OK;
			continue;
		}
		if (status != DB_OK)
			break;
		const json_t *target = json_object_get(record, field->name);
		if (json_is_integer(target) && json_integer_value(target) == id)
			status = action == RESOURCE_ON_DELETE_CASCADE
					 ? delete_with_dependants(actor, child, record, depth + 1)
					 : detach_dependant(actor, child, field, record);
		json_decref(record);
		if (status != DB_OK)
			break;
	}
	json_decref(records);
	return status;
}

/*
 * Deletes record `before` of `resource` at its version, with its `.deleted` event and
 * delete audit entry, after its dependants: every record of a registered resource whose
 * REFERENCE the schema cascades is deleted the same way first, and every one it would set
 * to null is updated (handle_dependants()). So the audit log and the webhooks see each row
 * the delete changes, not only the one deleted. A db_status.
 */
static int delete_with_dependants(const struct write_actor *actor,
				  const struct resource *resource, const json_t *before, int depth)
{
	if (depth > DELETE_DEPTH_MAX) {
		log_error("%s: dependants nested too deep to delete", resource->name);
		return DB_ERROR;
	}
	int64_t id = record_id(before);
	int status = DB_OK;
	for (int i = 0; i < resource_count() && status == DB_OK; i++) {
		const struct resource *child = resource_at(i);
		for (const struct resource_field *field = child->fields;
		     field->name && status == DB_OK; field++)
			if (field->type == RESOURCE_FIELD_REFERENCE && field->references &&
			    strcmp(field->references, resource->name) == 0)
				status = handle_dependants(actor, child, field, id, depth);
	}
	if (status == DB_OK && resource->delete_dependants)
		status = resource->delete_dependants(actor->db, actor->user_id, before);
	if (status == DB_OK)
		status = resource_store_delete(actor->db, resource, id,
					       json_integer_value(json_object_get(before, "version")));
	if (status == DB_OK)
		status = announce_and_audit(actor, resource, RESOURCE_EVENT_DELETED, before, NULL);
	return status;
}

int resource_remove(const struct write_actor *actor, const struct resource *resource,
		    const json_t *before, struct outcome *outcome)
{
	int status = delete_with_dependants(actor, resource, before, 0);
	if (status == DB_INVALID)
		return outcome_fail(outcome, OUTCOME_CONFLICT, "other records still refer to this %s",
				    resource->singular);
	return outcome_from_db(outcome, status, resource->singular);
}
