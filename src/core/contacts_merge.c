/*
 * contacts_merge.c - merging duplicate contacts and the likely-duplicates report
 * (contacts_merge.h): the duplicate rules (phone keys, name keys, one edit apart), the
 * grouping of the report, and the merge: which fields the kept contact takes, the moves,
 * the audit entry and the events. The routes are src/http/contacts_merge_http.c; the SQL
 * is in contacts_merge_store.c and the generic resource store.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/contacts_merge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crm/audit.h"
#include "crm/buf.h"
#include "crm/contacts.h"
#include "crm/db.h"
#include "crm/json.h"
#include "crm/perm.h"
#include "crm/resource.h"
#include "crm/resource_store.h"
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

void contacts_duplicate_groups_release(struct contacts_duplicate_groups *list)
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
static void group_add(struct contacts_duplicate_groups *list, enum contacts_duplicate_reason reason,
		      const char *key, int64_t company_id, int64_t *ids, size_t count)
{
	if (list->count == list->alloc) {
		list->alloc = list->alloc ? 2 * list->alloc : 16;
		list->items = xrealloc(list->items, list->alloc * sizeof(*list->items));
	}
	qsort(ids, count, sizeof(*ids), compare_ids);
	list->items[list->count++] = (struct contacts_duplicate_group){ reason, ids[0], company_id, xstrdup(key), ids,
						     count };
}

/* ---- email: consecutive rows with the same address (the scan orders them) */

struct email_scan {
	struct contacts_duplicate_groups *groups;
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

static void phone_groups(struct phone_scan *scan, struct contacts_duplicate_groups *groups)
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
	struct contacts_duplicate_groups *groups;
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
int contacts_duplicates_collect(struct db *db, enum contacts_duplicate_reason reason,
			  const struct operations_scope *scope, struct contacts_duplicate_groups *groups)
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
	const struct contacts_duplicate_group *x = a, *y = b;
	if (x->reason != y->reason)
		return x->reason < y->reason ? -1 : 1;
	return (x->min_id > y->min_id) - (x->min_id < y->min_id);
}

/* ================================================================ GET duplicates */

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

void contacts_merge_release(struct contacts_merge *m)
{
	for (size_t i = 0; i < m->count; i++)
		json_decref(m->others[i]);
	json_decref(m->kept);
	json_decref(m->record);
	json_decref(m->stored);
	json_decref(m->moved);
	json_decref(m->body);
}

/* Moves, deletes, updates, audits and emits, inside the transaction. Returns a db_status. */
int contacts_merge_apply(struct db *db, int64_t user_id, struct contacts_merge *m,
			 int64_t kept_id)
{
	char now[TIME_RFC3339_SIZE];
	time_now_rfc3339(now);
	m->moved = json_object();
	int status = DB_OK;
	for (size_t i = 0; i < m->count && status == DB_OK; i++) {
		/* static memberships move too: audited and announced as member changes */
		status = segments_contact_merging(db, user_id, m->ids[i], kept_id);
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
		status = audit_record(db, user_id, AUDIT_ACTOR_API, "contacts", kept_id,
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

void contacts_duplicates_sort(struct contacts_duplicate_groups *groups)
{
	if (groups->count > 1)
		qsort(groups->items, groups->count, sizeof(*groups->items), compare_groups);
}
