/*
 * contacts_merge.c - merging duplicate contacts and the likely-duplicates report
 * (contacts_merge.h): the duplicate rules (phone keys, name keys, one edit apart), the
 * grouping of the report, and the merge: which fields the kept contact takes, the checks,
 * the audit entry and the events. The SQL is in contacts_merge_store.c and the generic
 * resource store.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_merge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/app.h"
#include "crm/audit.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/cursor.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
#include "crm/router.h"
#include "crm/segments.h"
#include "crm/timeutil.h"
#include "crm/webhooks.h"
#include "crm/banned.h"

/* ================================================================ the duplicate rules */

int contacts_phone_key(const char *phone, char out[CONTACTS_PHONE_KEY_SIZE])
{
	char digits[64];
	size_t count = 0;
	for (const char *p = phone; *p; p++) {
		if (*p < '0' || *p > '9')
			continue;
		if (count == sizeof(digits)) /* keep the last ones */
			memmove(digits, digits + 1, --count);
		digits[count++] = *p;
	}
	size_t leading = 0;
	while (leading < count && digits[leading] == '0')
		leading++;
	if (count - leading < CONTACTS_PHONE_MIN_DIGITS)
		return -1;
	size_t keep = count - leading < CONTACTS_PHONE_KEY_DIGITS ? count - leading
								     : CONTACTS_PHONE_KEY_DIGITS;
	memcpy(out, digits + count - keep, keep);
	out[keep] = '\0';
	return 0;
}

char *contacts_name_key(const char *first_name, const char *last_name)
{
	struct buf key = BUF_INIT;
	const char *parts[] = { first_name, last_name };
	bool space = false;
	for (int i = 0; i < 2; i++) {
		for (const char *p = parts[i]; p && *p; p++) {
			unsigned char c = (unsigned char)*p;
			if (isspace(c)) {
				space = key.len > 0;
				continue;
			}
			if (space)
				buf_addch(&key, ' ');
			space = false;
			buf_addch(&key, (char)tolower(c));
		}
		space = key.len > 0;
	}
	if (!key.len) {
		buf_release(&key);
		return NULL;
	}
	return buf_detach(&key, NULL);
}

/* Decodes UTF-8 (jansson-checked text; stray bytes count as one each) into code points. */
static size_t code_points(const char *text, uint32_t *out, size_t max)
{
	size_t count = 0;
	const unsigned char *p = (const unsigned char *)text;
	while (*p && count < max) {
		uint32_t c = *p++;
		int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
		if (more)
			c &= 0x3Fu >> more;
		for (; more > 0 && (*p & 0xC0) == 0x80; more--)
			c = c << 6 | (*p++ & 0x3F);
		out[count++] = c;
	}
	return count;
}

#define NAME_MAX_POINTS 256

/* Whether a and b (code points) are at most one edit apart, a swap of neighbours included. */
static bool one_edit_apart(const uint32_t *a, size_t a_len, const uint32_t *b, size_t b_len)
{
	if (a_len < b_len) {
		const uint32_t *t = a;
		a = b;
		b = t;
		size_t l = a_len;
		a_len = b_len;
		b_len = l;
	}
	if (a_len - b_len > 1)
		return false;
	size_t i = 0;
	while (i < b_len && a[i] == b[i])
		i++;
	if (i == b_len)
		return true; /* equal, or one appended */
	if (a_len != b_len) /* one inserted at i */
		return memcmp(a + i + 1, b + i, (b_len - i) * sizeof(*a)) == 0;
	if (memcmp(a + i + 1, b + i + 1, (b_len - i - 1) * sizeof(*a)) == 0)
		return true; /* replaced at i */
	return i + 1 < a_len && a[i] == b[i + 1] && a[i + 1] == b[i] &&
	       memcmp(a + i + 2, b + i + 2, (b_len - i - 2) * sizeof(*a)) == 0;
}

bool contacts_names_similar(const char *a, const char *b)
{
	if (strcmp(a, b) == 0)
		return true;
	uint32_t pa[NAME_MAX_POINTS], pb[NAME_MAX_POINTS];
	size_t la = code_points(a, pa, NAME_MAX_POINTS), lb = code_points(b, pb, NAME_MAX_POINTS);
	if (la < CONTACTS_NAME_FUZZY_MIN || lb < CONTACTS_NAME_FUZZY_MIN)
		return false;
	return one_edit_apart(pa, la, pb, lb);
}

/* ================================================================ grouping */

struct group {
	enum contacts_duplicate_reason reason;
	int64_t min_id;
	int64_t company_id; /* name groups */
	char *key;          /* owned */
	int64_t *ids;       /* owned, ascending */
	size_t count;
};

struct group_list {
	struct group *items;
	size_t count, alloc;
};

static void group_list_release(struct group_list *list)
{
	for (size_t i = 0; i < list->count; i++) {
		free(list->items[i].key);
		free(list->items[i].ids);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}

static int compare_ids(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Adds a group; takes `ids` (sorted here) and copies `key`. */
static void group_add(struct group_list *list, enum contacts_duplicate_reason reason,
		      const char *key, int64_t company_id, int64_t *ids, size_t count)
{
	if (list->count == list->alloc) {
		list->alloc = list->alloc ? 2 * list->alloc : 16;
		list->items = xrealloc(list->items, list->alloc * sizeof(*list->items));
	}
	qsort(ids, count, sizeof(*ids), compare_ids);
	list->items[list->count++] = (struct group){ reason, ids[0], company_id, xstrdup(key), ids,
						     count };
}

/* ---- email: consecutive rows with the same address (the scan orders them) */

struct email_scan {
	struct group_list *groups;
	char *key;    /* the current address, lower-cased */
	int64_t *ids; /* its contacts */
	size_t count, alloc;
};

static void email_flush(struct email_scan *scan)
{
	if (scan->count >= 2) {
		group_add(scan->groups, CONTACTS_DUPLICATE_EMAIL, scan->key, 0, scan->ids, scan->count);
		scan->ids = NULL;
		scan->alloc = 0;
	}
	scan->count = 0;
}

static void ids_push(int64_t **ids, size_t *count, size_t *alloc, int64_t id)
{
	if (*count == *alloc) {
		*alloc = *alloc ? 2 * *alloc : 8;
		*ids = xrealloc(*ids, *alloc * sizeof(**ids));
	}
	(*ids)[(*count)++] = id;
}

static int email_visit(void *context, int64_t id, int64_t company_id, const char *email,
		       const char *unused)
{
	(void)company_id;
	(void)unused;
	struct email_scan *scan = context;
	if (!email)
		return 0;
	if (!scan->key || strcasecmp(scan->key, email) != 0) {
		email_flush(scan);
		free(scan->key);
		scan->key = xstrdup(email);
		for (char *p = scan->key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	}
	ids_push(&scan->ids, &scan->count, &scan->alloc, id);
	return 0;
}

/* ---- phone: every key, sorted */

struct phone_entry {
	char key[CONTACTS_PHONE_KEY_SIZE];
	int64_t id;
};

struct phone_scan {
	struct phone_entry *items;
	size_t count, alloc;
};

static int phone_visit(void *context, int64_t id, int64_t company_id, const char *phone,
		       const char *unused)
{
	(void)company_id;
	(void)unused;
	struct phone_scan *scan = context;
	char key[CONTACTS_PHONE_KEY_SIZE];
	if (!phone || contacts_phone_key(phone, key) != 0)
		return 0;
	if (scan->count == scan->alloc) {
		scan->alloc = scan->alloc ? 2 * scan->alloc : 64;
		scan->items = xrealloc(scan->items, scan->alloc * sizeof(*scan->items));
	}
	memcpy(scan->items[scan->count].key, key, sizeof(key));
	scan->items[scan->count++].id = id;
	return 0;
}

static int compare_phone_entries(const void *a, const void *b)
{
	const struct phone_entry *x = a, *y = b;
	int order = strcmp(x->key, y->key);
	return order ? order : (x->id > y->id) - (x->id < y->id);
}

static void phone_groups(struct phone_scan *scan, struct group_list *groups)
{
	if (scan->count < 2)
		return; /* (and qsort must not get the NULL of an empty list) */
	qsort(scan->items, scan->count, sizeof(*scan->items), compare_phone_entries);
	for (size_t start = 0, end; start < scan->count; start = end) {
		for (end = start + 1; end < scan->count; end++)
			if (strcmp(scan->items[end].key, scan->items[start].key) != 0)
				break;
		if (end - start < 2)
			continue;
		int64_t *ids = xmalloc((end - start) * sizeof(*ids));
		for (size_t i = start; i < end; i++)
			ids[i - start] = scan->items[i].id;
		group_add(groups, CONTACTS_DUPLICATE_PHONE, scan->items[start].key, 0, ids,
			  end - start);
	}
}

/* ---- name: per company, candidates by single deletions, verified, then united */

struct name_entry {
	int64_t id;
	char *name; /* owned name key */
};

struct name_scan {
	struct group_list *groups;
	int64_t company_id;
	struct name_entry *items; /* the current company's contacts */
	size_t count, alloc;
};

struct variant {
	char *text;   /* owned: the name key, or it with one code point deleted */
	size_t owner; /* index into the company's entries */
};

static int compare_variants(const void *a, const void *b)
{
	const struct variant *x = a, *y = b;
	int order = strcmp(x->text, y->text);
	return order ? order : (x->owner > y->owner) - (x->owner < y->owner);
}

static size_t find_root(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

/* Appends the deletion variants of `name` (and itself) for entry `owner`. */
static void add_variants(struct variant **variants, size_t *count, size_t *alloc,
			 const char *name, size_t owner)
{
	size_t len = strlen(name);
	size_t points = 0;
	for (size_t i = 0; i < len; i++)
		points += ((unsigned char)name[i] & 0xC0) != 0x80;
	size_t needed = *count + 1 + (points >= CONTACTS_NAME_FUZZY_MIN ? points : 0);
	if (needed > *alloc) {
		*alloc = needed * 2;
		*variants = xrealloc(*variants, *alloc * sizeof(**variants));
	}
	(*variants)[(*count)++] = (struct variant){ xstrdup(name), owner };
	if (points < CONTACTS_NAME_FUZZY_MIN)
		return;
	for (size_t start = 0; start < len;) {
		size_t end = start + 1;
		while (end < len && ((unsigned char)name[end] & 0xC0) == 0x80)
			end++;
		char *text = xmalloc(len - (end - start) + 1);
		memcpy(text, name, start);
		memcpy(text + start, name + end, len - end + 1);
		(*variants)[(*count)++] = (struct variant){ text, owner };
		start = end;
	}
}

/* Groups the current company's contacts and forgets them. */
static void name_flush(struct name_scan *scan)
{
	size_t n = scan->count;
	if (n >= 2) {
		struct variant *variants = NULL;
		size_t count = 0, alloc = 0;
		for (size_t i = 0; i < n; i++)
			add_variants(&variants, &count, &alloc, scan->items[i].name, i);
		qsort(variants, count, sizeof(*variants), compare_variants);
		size_t *parent = xmalloc(n * sizeof(*parent));
		for (size_t i = 0; i < n; i++)
			parent[i] = i;
		for (size_t start = 0, end; start < count; start = end) {
			for (end = start + 1; end < count; end++)
				if (strcmp(variants[end].text, variants[start].text) != 0)
					break;
			for (size_t i = start; i < end; i++) {
				for (size_t j = i + 1; j < end; j++) {
					size_t a = variants[i].owner, b = variants[j].owner;
					size_t ra = find_root(parent, a), rb = find_root(parent, b);
					if (ra == rb || !contacts_names_similar(scan->items[a].name,
										scan->items[b].name))
						continue;
					parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
				}
			}
		}
		/* Entries come by id, so a component's root is its smallest id's entry. */
		for (size_t root = 0; root < n; root++) {
			if (find_root(parent, root) != root)
				continue;
			size_t members = 0;
			for (size_t i = 0; i < n; i++)
				members += find_root(parent, i) == root;
			if (members < 2)
				continue;
			int64_t *ids = xmalloc(members * sizeof(*ids));
			size_t k = 0;
			for (size_t i = 0; i < n; i++)
				if (find_root(parent, i) == root)
					ids[k++] = scan->items[i].id;
			group_add(scan->groups, CONTACTS_DUPLICATE_NAME, scan->items[root].name,
				  scan->company_id, ids, members);
		}
		free(parent);
		for (size_t i = 0; i < count; i++)
			free(variants[i].text);
		free(variants);
	}
	for (size_t i = 0; i < n; i++)
		free(scan->items[i].name);
	scan->count = 0;
}

static int name_visit(void *context, int64_t id, int64_t company_id, const char *first_name,
		      const char *last_name)
{
	struct name_scan *scan = context;
	if (company_id != scan->company_id) {
		name_flush(scan);
		scan->company_id = company_id;
	}
	char *name = contacts_name_key(first_name, last_name);
	if (!name)
		return 0;
	if (scan->count == scan->alloc) {
		scan->alloc = scan->alloc ? 2 * scan->alloc : 16;
		scan->items = xrealloc(scan->items, scan->alloc * sizeof(*scan->items));
	}
	scan->items[scan->count++] = (struct name_entry){ id, name };
	return 0;
}

/* Collects the groups of `reason` into `groups`. Returns a db_status. */
static int collect_groups(struct db *db, enum contacts_duplicate_reason reason,
			  const struct operations_scope *scope, struct group_list *groups)
{
	int status;
	if (reason == CONTACTS_DUPLICATE_EMAIL) {
		struct email_scan scan = { groups, NULL, NULL, 0, 0 };
		status = contacts_merge_store_scan(db, reason, scope, email_visit, &scan);
		email_flush(&scan);
		free(scan.key);
		free(scan.ids);
	} else if (reason == CONTACTS_DUPLICATE_PHONE) {
		struct phone_scan scan = { NULL, 0, 0 };
		status = contacts_merge_store_scan(db, reason, scope, phone_visit, &scan);
		if (status == DB_OK)
			phone_groups(&scan, groups);
		free(scan.items);
	} else {
		struct name_scan scan = { groups, 0, NULL, 0, 0 };
		status = contacts_merge_store_scan(db, reason, scope, name_visit, &scan);
		name_flush(&scan);
		free(scan.items);
	}
	return status;
}

static int compare_groups(const void *a, const void *b)
{
	const struct group *x = a, *y = b;
	if (x->reason != y->reason)
		return x->reason < y->reason ? -1 : 1;
	return (x->min_id > y->min_id) - (x->min_id < y->min_id);
}

/* ================================================================ GET duplicates */

static const char *const reason_names[] = {
	[CONTACTS_DUPLICATE_EMAIL] = "email",
	[CONTACTS_DUPLICATE_PHONE] = "phone",
	[CONTACTS_DUPLICATE_NAME] = "name",
};

#define DUPLICATES_CURSOR_SORT "duplicates"

static const struct auth_context *caller_or_reply(struct request *req, struct response *res)
{
	if (!req->auth || req->auth->user_id <= 0) {
		response_set_header(res, "WWW-Authenticate", "Bearer");
		response_problem(res, HTTP_UNAUTHORIZED, "authentication required");
		return NULL;
	}
	return req->auth;
}

/* A group as answered (new reference); the records are loaded now. */
static int group_to_json(struct db *db, const struct group *group, json_t **out)
{
	*out = NULL;
	json_t *contacts = json_array();
	size_t shown = group->count < CONTACTS_DUPLICATES_GROUP_MAX ? group->count
								      : CONTACTS_DUPLICATES_GROUP_MAX;
	for (size_t i = 0; i < shown; i++) {
		json_t *record = NULL;
		int status = resource_store_get(db, &contacts_resource, group->ids[i], &record);
		if (status != DB_OK) {
			json_decref(contacts);
			return status;
		}
		json_array_append_new(contacts, resource_record_public(db, &contacts_resource, record));
		json_decref(record);
	}
	*out = json_pack("{s:s, s:s, s:I, s:o}", "reason", reason_names[group->reason], "key",
			 group->key, "count", (json_int_t)group->count, "contacts", contacts);
	if (group->reason == CONTACTS_DUPLICATE_NAME)
		json_object_set_new(*out, "company_id", json_integer(group->company_id));
	return DB_OK;
}

static void handle_duplicates(struct request *req, struct response *res)
{
	static const char *const names[] = { "limit", "cursor", "reason", NULL };
	const char *values[OPERATIONS_MAX_PARAMS];
	int limit;
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller || operations_params_or_reply(req, res, names, values) != 0 ||
	    operations_limit_or_reply(res, values[0], &limit) != 0)
		return;
	int only = -1;
	if (values[2]) {
		for (int i = 0; i < 3; i++)
			if (strcmp(values[2], reason_names[i]) == 0)
				only = i;
		if (only < 0) {
			response_problem(res, HTTP_BAD_REQUEST, "reason must be email, phone or name");
			return;
		}
	}
	int64_t after_reason = -1, after_id = 0;
	if (values[1]) {
		json_t *value = NULL;
		int decoded = cursor_decode(values[1], DUPLICATES_CURSOR_SORT, &value, &after_id);
		after_reason = json_is_integer(value) ? json_integer_value(value) : -1;
		json_decref(value);
		if (decoded != 0 || after_reason < 0 || after_reason > 2 || after_id <= 0) {
			response_problem(res, HTTP_BAD_REQUEST, "cursor is malformed");
			return;
		}
	}
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	struct operations_scope scope = { perm_scope_for(db, caller, "contacts", PERM_READ),
					  caller->user_id, caller->team };
	if (scope.scope == PERM_SCOPE_NONE) {
		response_problem(res, HTTP_FORBIDDEN, "you may not read contacts");
		return;
	}
	struct group_list groups = { NULL, 0, 0 };
	json_t *data = json_array();
	int status = db_begin_read(db);
	for (int reason = 0; reason < 3 && status == DB_OK; reason++)
		if ((only < 0 || only == reason) && reason >= after_reason)
			status = collect_groups(db, (enum contacts_duplicate_reason)reason, &scope,
						&groups);
	if (status == DB_OK && groups.count > 1)
		qsort(groups.items, groups.count, sizeof(*groups.items), compare_groups);
	json_t *next = json_null();
	int taken = 0;
	for (size_t i = 0; i < groups.count && status == DB_OK; i++) {
		const struct group *group = &groups.items[i];
		if ((int64_t)group->reason < after_reason ||
		    ((int64_t)group->reason == after_reason && group->min_id <= after_id))
			continue;
		if (taken == limit) {
			const struct group *last = &groups.items[i - 1];
			json_t *value = json_integer(last->reason);
			char *cursor = cursor_encode(DUPLICATES_CURSOR_SORT, value, last->min_id);
			next = json_string(cursor);
			free(cursor);
			json_decref(value);
			break;
		}
		json_t *item;
		status = group_to_json(db, group, &item);
		if (status == DB_OK) {
			json_array_append_new(data, item);
			taken++;
		}
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	group_list_release(&groups);
	if (status != DB_OK) {
		json_decref(data);
		json_decref(next);
		operations_reply_db_status(res, status);
		return;
	}
	response_json(res, HTTP_OK, json_pack("{s:o, s:o}", "data", data, "next_cursor", next));
}

/* ================================================================ POST merge */

/*
 * The kept contact's writable fields after the merge (new object): `kept` (borrowed)
 * with its empty fields taken from `others` in order, tags united, custom fields merged.
 */
static json_t *merged_fields(const json_t *kept, json_t *const *others, size_t count)
{
	json_t *record = json_object();
	for (const struct resource_field *field = contacts_resource.fields; field->name; field++) {
		const json_t *mine = json_object_get(kept, field->name);
		json_t *value;
		if (field->type == RESOURCE_FIELD_TAGS) {
			value = json_is_array(mine) ? json_deep_copy(mine) : json_array();
			for (size_t i = 0; i < count; i++) {
				size_t index;
				const json_t *tag;
				json_array_foreach(json_object_get(others[i], field->name), index, tag) {
					bool seen = false;
					size_t k;
					const json_t *have;
					json_array_foreach(value, k, have)
						seen = seen || json_equal(have, tag);
					if (!seen && json_array_size(value) < RESOURCE_TAGS_MAX)
						json_array_append(value, (json_t *)tag);
				}
			}
		} else if (field->type == RESOURCE_FIELD_OBJECT && !field->members) {
			value = json_is_object(mine) ? json_deep_copy(mine) : json_object();
			for (size_t i = 0; i < count; i++) {
				json_t *theirs = json_object_get(others[i], field->name);
				const char *key;
				json_t *member;
				json_object_foreach(theirs, key, member) {
					if (json_object_get(value, key))
						continue;
					json_object_set(value, key, member);
					size_t len;
					free(json_to_text(value, &len));
					if (len > RESOURCE_OBJECT_MAX_BYTES)
						json_object_del(value, key);
				}
			}
		} else {
			const json_t *chosen = mine;
			for (size_t i = 0; i < count && (!chosen || json_is_null(chosen)); i++)
				chosen = json_object_get(others[i], field->name);
			value = chosen ? json_deep_copy(chosen) : json_null();
		}
		json_object_set_new(record, field->name, value);
	}
	return record;
}

/* Whether the caller's `action` scope on contacts covers `record`. */
static bool caller_may(struct db *db, const struct auth_context *caller, enum perm_action action,
		       const json_t *record)
{
	enum perm_scope scope = perm_scope_for(db, caller, "contacts", action);
	return perm_scope_covers(db, scope, caller,
				 resource_record_owner(&contacts_resource, record));
}

static void reply_status(struct response *res, int status)
{
	db_status_reply(res, status, NULL);
}

/*
 * Parses {"from":[ids]} into `ids` (room for CONTACTS_MERGE_MAX). Adds errors; repeated
 * ids are errors too. Returns the count.
 */
static size_t parse_from(const json_t *body, int64_t *ids, struct field_errors *errors)
{
	const char *key;
	json_t *value;
	json_object_foreach((json_t *)body, key, value)
		if (strcmp(key, "from") != 0)
			field_errors_add(errors, key, "unknown field");
	const json_t *from = json_object_get(body, "from");
	if (!json_is_array(from) || json_array_size(from) < 1 ||
	    json_array_size(from) > CONTACTS_MERGE_MAX) {
		field_errors_add(errors, "from", "must be an array of 1 to %d contact ids",
				 CONTACTS_MERGE_MAX);
		return 0;
	}
	size_t count = 0, index;
	const json_t *item;
	json_array_foreach(from, index, item) {
		char name[32];
		snprintf(name, sizeof(name), "from[%zu]", index);
		if (!json_is_integer(item) || json_integer_value(item) <= 0) {
			field_errors_add(errors, name, "must be a contact id");
			continue;
		}
		int64_t id = json_integer_value(item);
		bool repeated = false;
		for (size_t k = 0; k < count; k++)
			repeated = repeated || ids[k] == id;
		if (repeated)
			field_errors_add(errors, name, "is given twice");
		else
			ids[count++] = id;
	}
	return count;
}

/* What one merge holds; released by merge_release(). */
struct merge {
	int64_t ids[CONTACTS_MERGE_MAX];
	json_t *others[CONTACTS_MERGE_MAX]; /* the merged contacts as stored */
	size_t count;
	json_t *kept, *record, *stored, *moved, *body;
};

static void merge_release(struct merge *m)
{
	for (size_t i = 0; i < m->count; i++)
		json_decref(m->others[i]);
	json_decref(m->kept);
	json_decref(m->record);
	json_decref(m->stored);
	json_decref(m->moved);
	json_decref(m->body);
}

/*
 * Loads and checks the merged contacts inside the transaction: 422 for the unusable ones,
 * then 403 for those the caller may not delete. Returns 0, or -1 after answering.
 */
static int load_others_or_reply(struct db *db, const struct auth_context *caller,
				struct response *res, struct merge *m, int64_t kept_id,
				const int64_t *ids, size_t count, struct field_errors *errors)
{
	for (size_t i = 0; i < count; i++) {
		char name[32];
		snprintf(name, sizeof(name), "from[%zu]", i);
		if (ids[i] == kept_id) {
			field_errors_add(errors, name, "is the kept contact: a contact cannot be "
						       "merged into itself");
			continue;
		}
		json_t *record = NULL;
		int status = resource_store_get(db, &contacts_resource, ids[i], &record);
		if (status == DB_OK && !caller_may(db, caller, PERM_READ, record))
			status = DB_NOT_FOUND;
		bool erased = false;
		if (status == DB_OK)
			status = contacts_merge_store_erased(db, ids[i], &erased);
		if (status == DB_NOT_FOUND) {
			field_errors_add(errors, name, "no such contact");
		} else if (status != DB_OK) {
			json_decref(record);
			reply_status(res, status);
			return -1;
		} else if (erased) {
			field_errors_add(errors, name, "is erased; erased contacts cannot be merged");
		}
		if (status != DB_OK || erased) {
			json_decref(record);
			continue;
		}
		m->ids[m->count] = ids[i];
		m->others[m->count++] = record;
	}
	if (field_errors_any(errors)) {
		field_errors_reply(errors, res);
		return -1;
	}
	for (size_t i = 0; i < m->count; i++) {
		if (!caller_may(db, caller, PERM_DELETE, m->others[i])) {
			response_problemf(res, HTTP_FORBIDDEN, "you may not delete contact %lld",
					  (long long)m->ids[i]);
			return -1;
		}
	}
	return 0;
}

/* Loads the kept contact with the rules of a change to it. Returns 0 or -1 (answered). */
static int load_kept_or_reply(struct db *db, struct request *req, struct response *res,
			      struct merge *m, int64_t kept_id)
{
	int status = resource_store_get(db, &contacts_resource, kept_id, &m->kept);
	if (status == DB_OK && !caller_may(db, req->auth, PERM_READ, m->kept))
		status = DB_NOT_FOUND;
	if (status == DB_NOT_FOUND) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return -1;
	}
	if (status != DB_OK) {
		reply_status(res, status);
		return -1;
	}
	int64_t version = json_integer_value(json_object_get(m->kept, "version"));
	const char *if_match = request_header(req, "If-Match");
	int match = if_match ? resource_if_match(if_match, version) : 1;
	if (match < 0) {
		response_problem(res, HTTP_BAD_REQUEST,
				 "If-Match must be an entity tag such as \"3\" or *");
		return -1;
	}
	if (match == 0) {
		response_problemf(res, HTTP_PRECONDITION_FAILED,
				  "the contact is at version %lld, not the one in If-Match",
				  (long long)version);
		return -1;
	}
	if (!caller_may(db, req->auth, PERM_WRITE, m->kept)) {
		response_problem(res, HTTP_FORBIDDEN, "you may not change this contact");
		return -1;
	}
	bool erased = false;
	status = contacts_merge_store_erased(db, kept_id, &erased);
	if (status != DB_OK) {
		reply_status(res, status);
		return -1;
	}
	if (erased) {
		response_problem(res, HTTP_UNPROCESSABLE,
				 "the contact is erased; erased contacts cannot take others in");
		return -1;
	}
	return 0;
}

/* Moves, deletes, updates, audits and emits, inside the transaction. Returns a db_status. */
static int merge_apply(struct db *db, const struct auth_context *caller, struct merge *m,
		       int64_t kept_id)
{
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	m->moved = json_object();
	int status = DB_OK;
	for (size_t i = 0; i < m->count && status == DB_OK; i++) {
		/* static memberships move too: audited and announced as member changes */
		status = segments_contact_merging(db, caller->user_id, m->ids[i], kept_id);
		if (status == DB_OK)
			status = contacts_merge_store_move(db, m->ids[i], kept_id, now, m->moved);
	}
	for (size_t i = 0; i < m->count && status == DB_OK; i++) {
		status = resource_store_delete(
			db, &contacts_resource, m->ids[i],
			json_integer_value(json_object_get(m->others[i], "version")));
		if (status == DB_OK)
			status = resource_event_emit(db, &contacts_resource, RESOURCE_EVENT_DELETED,
						     m->others[i], NULL);
	}
	if (status != DB_OK)
		return status;
	m->record = merged_fields(m->kept, m->others, m->count);
	status = resource_store_update(db, &contacts_resource, kept_id,
				       json_integer_value(json_object_get(m->kept, "version")),
				       m->record, &m->stored);
	if (status == DB_OK)
		status = resource_event_emit(db, &contacts_resource, RESOURCE_EVENT_UPDATED, m->kept,
					     m->stored);
	json_t *merged_ids = json_array(), *merged = json_array();
	for (size_t i = 0; i < m->count; i++) {
		json_array_append_new(merged_ids, json_integer(m->ids[i]));
		json_array_append(merged, m->others[i]);
	}
	if (status == DB_OK) {
		json_t *before = json_pack("{s:O, s:O}", "contact", m->kept, "merged", merged);
		json_t *after = json_pack("{s:O, s:O, s:O}", "contact", m->stored, "merged_ids",
					  merged_ids, "moved", m->moved);
		status = audit_record(db, caller->user_id, AUDIT_ACTOR_API, "contacts", kept_id,
				      "merge", before, after);
		json_decref(before);
		json_decref(after);
	}
	if (status == DB_OK && webhooks_store_subscribed(db, "contact.merged") > 0) {
		json_t *shown = json_array();
		for (size_t i = 0; i < m->count; i++)
			json_array_append_new(
				shown, resource_record_public(db, &contacts_resource, m->others[i]));
		json_t *data = json_pack("{s:o, s:o, s:O}", "contact",
					 resource_record_public(db, &contacts_resource, m->stored),
					 "merged", shown, "moved", m->moved);
		status = webhooks_emit(db, "contact.merged", data, NULL);
		json_decref(data);
	}
	json_decref(merged_ids);
	json_decref(merged);
	return status;
}

/* POST /api/v1/contacts/{id}/merge {"from":[ids]} */
static void handle_merge(struct request *req, struct response *res)
{
	const struct auth_context *caller = caller_or_reply(req, res);
	if (!caller)
		return;
	struct db *db = app_db_or_reply(res);
	if (!db)
		return;
	int64_t kept_id;
	if (resource_parse_id(req->path_params[0], &kept_id) != 0) {
		response_problem(res, HTTP_NOT_FOUND, "no such contact");
		return;
	}
	struct merge m;
	memset(&m, 0, sizeof(m));
	struct field_errors errors = { NULL };
	m.body = request_json_object_or_reply(req, res);
	if (!m.body)
		return;
	int64_t ids[CONTACTS_MERGE_MAX];
	size_t count = parse_from(m.body, ids, &errors);
	int status = db_begin_write(db);
	if (status != DB_OK) {
		reply_status(res, status);
		goto cleanup;
	}
	/* The kept contact first: a caller who may not change it learns nothing more (404/403). */
	if (load_kept_or_reply(db, req, res, &m, kept_id) != 0) {
		db_rollback(db);
		goto cleanup;
	}
	if (field_errors_any(&errors)) {
		db_rollback(db);
		field_errors_reply(&errors, res);
		goto cleanup;
	}
	if (load_others_or_reply(db, caller, res, &m, kept_id, ids, count, &errors) != 0) {
		db_rollback(db);
		goto cleanup;
	}
	status = merge_apply(db, caller, &m, kept_id);
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	if (status != DB_OK) {
		reply_status(res, status);
		goto cleanup;
	}
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"",
		 (long long)json_integer_value(json_object_get(m.stored, "version")));
	response_set_header(res, "ETag", etag);
	response_json(res, HTTP_OK, resource_record_public(db, &contacts_resource, m.stored));
cleanup:
	field_errors_release(&errors);
	merge_release(&m);
}

void contacts_merge_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/contacts/duplicates", handle_duplicates, 0);
	router_add(router, "POST", "/api/v1/contacts/{id}/merge", handle_merge, 0);
}
