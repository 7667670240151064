/*
 * cli_demo.c - crmctl demo-data: realistic synthetic data for trying the CRM out and for
 * load tests. Creates a few demo users in two teams (without passwords: give them one with
 * crmctl user passwd), then companies (about one per ten contacts) and contacts with names,
 * addresses, phones, titles, lifecycles, relationship levels, tags, consent and owners.
 *
 * Deterministic: the same --seed gives the same data (creation times are spread over the
 * two years before today's midnight UTC in id order, so they are the same on the same day).
 * Fast: one write transaction, multi-row inserts with cached statements; 10,000 contacts
 * take a fraction of a second, a million about a minute of CPU (most of it SQLite keeping
 * eight indexes and the full-text index). The full-text index and the tag table are kept
 * in step as by the API, and the planner's statistics are refreshed at the end.
 *
 * Later generators (interactions, opportunities, purchases) add a step to demo_generate()
 * and use struct demo_context: the random source, the users and the created ids.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crm/audit.h"
#include "crm/buf.h"
#include "crm/cli.h"
#include "crm/db.h"
#include "store/db_sqlite.h"
#include "crm/demo_activity.h"
#include "crm/timeutil.h"
#include "crm/users.h"
#include "crm/banned.h"

#define DEMO_DEFAULT_CONTACTS 1000
#define DEMO_MAX_CONTACTS 10000000
#define DEMO_HISTORY_DAYS 730

/* ================================================================ the random source */

/* splitmix64: small, fast, and the same sequence everywhere for a seed. */
struct demo_random {
	uint64_t state;
};

static uint64_t demo_random_next(struct demo_random *random)
{
	uint64_t z = (random->state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A number in [0, bound). */
static uint64_t demo_random_below(struct demo_random *random, uint64_t bound)
{
	return bound ? demo_random_next(random) % bound : 0;
}

/* True with probability percent/100. */
static bool demo_random_chance(struct demo_random *random, unsigned percent)
{
	return demo_random_below(random, 100) < percent;
}

#define PICK(random, array) (array[demo_random_below(random, sizeof(array) / sizeof(array[0]))])

/* ================================================================ the vocabulary */

static const char *const first_names[] = {
	"Ada", "Alan", "Alice", "Amara", "Ana", "Andrea", "Anna", "Arjun", "Ben", "Bianca",
	"Carlos", "Chen", "Chloe", "Clara", "Daniel", "David", "Diego", "Elena", "Elif", "Emma",
	"Erik", "Fatima", "Felix", "Grace", "Hana", "Hannah", "Hugo", "Ines", "Isabel", "Ivan",
	"Jakob", "James", "Jana", "Javier", "Jonas", "Julia", "Kai", "Karin", "Kenji", "Laura",
	"Leo", "Lina", "Lucas", "Lucia", "Maja", "Marco", "Maria", "Mario", "Marta", "Mateo",
	"Mia", "Mohammed", "Nadia", "Noah", "Nora", "Olga", "Omar", "Oscar", "Paula", "Pedro",
	"Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Stefan", "Tariq", "Tom", "Valentina",
	"Victor", "Wei", "Yara", "Yusuf", "Zoe", "Émile", "Zoë", "Søren", "Łukasz", "Chiara",
};
static const char *const last_names[] = {
	"Adams", "Ahmed", "Alvarez", "Andersson", "Bauer", "Becker", "Bianchi", "Brown", "Chen",
	"Costa", "Dubois", "Evans", "Fernandes", "Fischer", "Garcia", "Gomez", "Green", "Hansen",
	"Hoffmann", "Hughes", "Ito", "Jensen", "Johnson", "Kaur", "Khan", "Kim", "Kowalski",
	"Lambert", "Larsen", "Lee", "Lopez", "Martin", "Meyer", "Moreau", "Müller", "Nakamura",
	"Nguyen", "Nielsen", "Novak", "O'Brien", "Oliveira", "Patel", "Petrov", "Quinn", "Ricci",
	"Rossi", "Santos", "Schmidt", "Schneider", "Silva", "Singh", "Smith", "Sato", "Taylor",
	"Tanaka", "Walker", "Wang", "Weber", "Williams", "Wilson", "Yamamoto", "Zhang", "Żak",
};
static const char *const titles[] = {
	"CEO", "CTO", "CFO", "COO", "Founder", "Head of Sales", "Sales Manager", "Account Executive",
	"Marketing Manager", "Head of Marketing", "Procurement Lead", "Purchasing Manager",
	"Operations Manager", "IT Director", "Software Engineer", "Product Manager",
	"Office Manager", "Consultant", "Project Manager", "Customer Success Manager",
	"Finance Manager", "HR Manager", "Owner", "Managing Director", "Buyer",
};
static const char *const company_words[] = {
	"Northwind", "Blue Harbor", "Evergreen", "Silverline", "Redwood", "Brightpath", "Ironclad",
	"Summit", "Clearwater", "Golden Gate", "Starlight", "Pioneer", "Riverside", "Oakridge",
	"Bluebird", "Cobalt", "Horizon", "Lighthouse", "Maple", "Nimbus", "Orchid", "Polar",
	"Quantum", "Sapphire", "Tidewater", "Unity", "Vertex", "Willow", "Zenith", "Aurora",
};
static const char *const company_kinds[] = {
	"Logistics", "Software", "Foods", "Health", "Energy", "Consulting", "Retail", "Labs",
	"Manufacturing", "Media", "Travel", "Finance", "Robotics", "Textiles", "Analytics",
};
static const char *const industries[] = {
	"logistics", "software", "food & beverage", "healthcare", "energy", "consulting", "retail",
	"biotech", "manufacturing", "media", "travel", "financial services", "education",
	"construction", "telecommunications",
};
static const char *const company_suffixes[] = { "Ltd", "GmbH", "Inc", "AG", "SA", "BV", "Co" };
static const char *const personal_domains[] = { "mail.example", "post.example",
						 "inbox.example" };
static const char *const lifecycles[] = { "lead", "lead", "lead", "prospect", "prospect",
					   "customer", "customer", "customer", "customer",
					   "churned" };
static const char *const sources[] = { "web", "referral", "event", "import", "cold-call",
					"partner", "newsletter", "trade-show" };
static const char *const contact_tags[] = { "vip", "newsletter", "decision-maker", "champion",
					     "trial", "webinar-2026", "referral", "enterprise",
					     "smb", "do-not-call", "partner", "event" };
static const char *const company_tags[] = { "enterprise", "smb", "partner", "key-account",
					     "reseller", "prospect-list", "b2b", "b2c" };
static const char *const languages[] = { "en", "de", "fr", "es", "it", "pt", "ja", "pl" };

/* The demo users: owners of the generated records, in two teams. */
struct demo_user_spec {
	const char *email, *name, *role, *team;
};
static const struct demo_user_spec demo_users[] = {
	{ "manager1@example.com", "Morgan East", "manager", "east" },
	{ "rep1@example.com", "Riley East", "rep", "east" },
	{ "rep2@example.com", "Robin East", "rep", "east" },
	{ "manager2@example.com", "Max West", "manager", "west" },
	{ "rep3@example.com", "Rowan West", "rep", "west" },
	{ "rep4@example.com", "Reese West", "rep", "west" },
};
#define DEMO_USER_COUNT (sizeof(demo_users) / sizeof(demo_users[0]))

/* ================================================================ generation state */

struct demo_company {
	int64_t id;
	int64_t owner_id;
	char domain[128];
};

struct demo_context {
	struct db *db;
	struct demo_random random;
	time_t reference;              /* today's midnight UTC: timestamps lie before it */
	int64_t user_ids[DEMO_USER_COUNT];
	struct demo_company *companies; /* company_count entries */
	size_t company_count;
	int64_t first_contact_id, last_contact_id; /* the contacts made (ids are consecutive) */
	size_t contact_count;
	/* their history (cli_demo_activity.c): what is wanted, and what was made */
	uint64_t seed;
	double interactions_per_contact, purchases_per_contact;
	struct demo_activity_counts activity;
};

/*
 * The creation time of record `index` of `count`: spread evenly over the DEMO_HISTORY_DAYS
 * before the reference with some jitter, in order, so that ids follow creation time as in a
 * real database (and the timestamp indexes grow at their end). As RFC 3339 into `out`.
 */
static void demo_creation_time(struct demo_context *demo, size_t index, size_t count,
			       char out[TIME_RFC3339_SIZE], time_t *when)
{
	double span = (double)DEMO_HISTORY_DAYS * 86400.0;
	double step = span / (double)(count ? count : 1);
	double jitter = (double)demo_random_below(&demo->random, 1000) / 1000.0;
	*when = demo->reference - (time_t)span + (time_t)(((double)index + jitter) * step);
	time_format_rfc3339(*when, out);
}

/* Writes `text` in lower case ASCII letters and digits only ("O'Brien" -> "obrien"). */
static void ascii_slug(const char *text, char *out, size_t size)
{
	size_t len = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p && len + 1 < size; p++) {
		unsigned char c = *p;
		if (c >= 'A' && c <= 'Z')
			out[len++] = (char)(c - 'A' + 'a');
		else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
			out[len++] = (char)c;
	}
	if (len == 0 && size > 1)
		out[len++] = 'x';
	out[len] = '\0';
}

#define DEMO_MAX_TAGS 4

/* Picks 0..max distinct tags from `pool` (count entries, at most 64) into `tags`. */
static int random_tags(struct demo_random *random, const char *const *pool, size_t count,
		       unsigned max, const char *tags[DEMO_MAX_TAGS])
{
	int found = 0;
	unsigned wanted = (unsigned)demo_random_below(random, max + 1);
	uint64_t used = 0;
	for (unsigned i = 0; i < wanted && found < DEMO_MAX_TAGS; i++) {
		size_t index = (size_t)demo_random_below(random, count);
		if (used & (1ULL << index))
			continue;
		used |= 1ULL << index;
		tags[found++] = pool[index];
	}
	return found;
}

/* The tags as a JSON array text into `out` (size bytes; the vocabulary needs no escaping). */
static void tags_json(const char *const *tags, int count, char *out, size_t size)
{
	size_t len = (size_t)snprintf(out, size, "[");
	for (int i = 0; i < count && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s\"%s\"", i ? "," : "", tags[i]);
	if (len < size)
		snprintf(out + len, size - len, "]");
}

/* ================================================================ data layer */
/*
 * The SQL of demo-data, kept here: bulk inserts of DEMO_BATCH rows per statement (the
 * full-text index flushes once per statement, so single-row inserts would be ten times
 * slower), statements cached by db_prepare, all inside the caller's write transaction.
 * They write what the API would write for the same records: tags also into record_tags,
 * and the triggers keep the FTS tables in step.
 */

#define DEMO_BATCH 1000 /* rows per INSERT at most (fewer if the variable limit is low) */

struct demo_company_row {
	int64_t id;
	int64_t owner_id;
	const char *industry; /* NULL: none */
	const char *tags[DEMO_MAX_TAGS];
	int tag_count;
	char name[96];
	char domain[128];
	char custom[64];
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

struct demo_contact_row {
	int64_t id;
	int64_t company_id; /* 0: none */
	int64_t owner_id;
	int relationship_level; /* 0: none */
	const char *first_name, *last_name, *title, *lifecycle, *source; /* NULL: none */
	const char *tags[DEMO_MAX_TAGS];
	int tag_count;
	bool has_email, has_phone, has_consent;
	char email[256];
	char phone[32];
	char consent[96];
	char custom[64];
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/*
 * Refreshes the query planner's statistics (sqlite_stat1) after a bulk load, so that a
 * filter on a column with few values (lifecycle, owner_id) with another sort walks the sort
 * index instead of sorting every match. A sampled ANALYZE: a second or two for 1M rows.
 */
static int demo_store_analyze(struct db *db)
{
	sqlite3_stmt *stmt = db_prepare(db, "PRAGMA analysis_limit = 1000");
	if (stmt) {
		sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	stmt = db_prepare(db, "ANALYZE");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "analyze");
	/* No statistics for tables that change size all the time (migration 0017): taken
	 * here, before the commit indexes the new rows, they would say that the full-text
	 * indexes are empty and fts_pending huge, and FTS5's range reads become full scans. */
	if (status == DB_OK)
		status = db_run(db, "DELETE FROM sqlite_stat1 WHERE tbl = 'fts_pending' OR "
				    "tbl GLOB '*_fts_*'", "analyze");
	return status;
}

/* Rows per INSERT for `columns` values a row, within SQLite's limit on variables. */
static size_t demo_store_batch_rows(struct db *db, int columns)
{
	int variables = sqlite3_limit(db_handle(db), SQLITE_LIMIT_VARIABLE_NUMBER, -1);
	size_t rows = variables > columns ? (size_t)(variables / columns) : 1;
	return rows < DEMO_BATCH ? rows : DEMO_BATCH;
}

/* The id the next row of `table` ("contacts" or "companies") gets. */
static int demo_store_next_id(struct db *db, bool contacts, int64_t *id)
{
	sqlite3_stmt *stmt = db_prepare(db, contacts ? "SELECT coalesce(max(id), 0) + 1 FROM contacts"
						     : "SELECT coalesce(max(id), 0) + 1 FROM companies");
	if (!stmt)
		return DB_ERROR;
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*id = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	return rc == SQLITE_ROW ? DB_OK : db_status_from_sqlite(db, rc, "demo-data");
}

/* Prepares "INSERT <head> VALUES (?,..), .." for `rows` rows of `columns` values. */
static sqlite3_stmt *demo_store_prepare_batch(struct db *db, const char *head, int columns,
					      size_t rows)
{
	struct buf sql = BUF_INIT;
	buf_addf(&sql, "INSERT %s VALUES ", head);
	for (size_t row = 0; row < rows; row++) {
		buf_adds(&sql, row ? ", (" : "(");
		for (int column = 0; column < columns; column++)
			buf_adds(&sql, column ? ", ?" : "?");
		buf_addch(&sql, ')');
	}
	sqlite3_stmt *stmt = db_prepare(db, sql.data);
	buf_release(&sql);
	return stmt;
}

/* Rows for record_tags, written DEMO_BATCH (or fewer, by the variable limit) at a time. */
struct demo_tag_rows {
	const char *entity;
	size_t count, capacity;
	const char **tags; /* capacity entries; static strings */
	int64_t *ids;
};

static void demo_tag_rows_init(struct db *db, struct demo_tag_rows *rows, const char *entity)
{
	rows->entity = entity;
	rows->count = 0;
	rows->capacity = demo_store_batch_rows(db, 3);
	rows->tags = xcalloc(rows->capacity, sizeof(*rows->tags));
	rows->ids = xcalloc(rows->capacity, sizeof(*rows->ids));
}

static void demo_tag_rows_release(struct demo_tag_rows *rows)
{
	free(rows->tags);
	free(rows->ids);
	rows->tags = NULL;
	rows->ids = NULL;
	rows->count = rows->capacity = 0;
}

/* Writes the collected rows. */
static int demo_tag_rows_flush(struct db *db, struct demo_tag_rows *rows)
{
	if (!rows->count)
		return DB_OK;
	sqlite3_stmt *stmt = demo_store_prepare_batch(
		db, "OR IGNORE INTO record_tags (entity, tag, record_id)", 3, rows->count);
	if (!stmt)
		return DB_ERROR;
	int index = 1;
	for (size_t i = 0; i < rows->count; i++) {
		db_bind_text(stmt, index++, rows->entity);
		db_bind_text(stmt, index++, rows->tags[i]);
		sqlite3_bind_int64(stmt, index++, rows->ids[i]);
	}
	rows->count = 0;
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	return db_status_from_sqlite(db, rc, "record_tags");
}

/* Adds the tags of record `id`; writes when the batch is full. */
static int demo_tag_rows_add(struct db *db, struct demo_tag_rows *rows, int64_t id,
			     const char *const *tags, int tag_count)
{
	for (int i = 0; i < tag_count; i++) {
		if (rows->count == rows->capacity) {
			int status = demo_tag_rows_flush(db, rows);
			if (status != DB_OK)
				return status;
		}
		rows->tags[rows->count] = tags[i];
		rows->ids[rows->count] = id;
		rows->count++;
	}
	return DB_OK;
}

static int demo_store_companies(struct db *db, const struct demo_company_row *rows, size_t count,
				struct demo_tag_rows *tag_rows)
{
	if (!count)
		return DB_OK;
	sqlite3_stmt *stmt = demo_store_prepare_batch(
		db, "INTO companies (id, name, domain, industry, owner_id, tags, custom, created_at, "
		    "updated_at)", 9, count);
	if (!stmt)
		return DB_ERROR;
	int index = 1;
	for (size_t i = 0; i < count; i++) {
		const struct demo_company_row *row = &rows[i];
		char tags[256];
		tags_json(row->tags, row->tag_count, tags, sizeof(tags));
		sqlite3_bind_int64(stmt, index++, row->id);
		db_bind_text(stmt, index++, row->name);
		db_bind_text(stmt, index++, row->domain);
		db_bind_text(stmt, index++, row->industry);
		sqlite3_bind_int64(stmt, index++, row->owner_id);
		db_bind_text(stmt, index++, tags);
		db_bind_text(stmt, index++, row->custom);
		db_bind_text(stmt, index++, row->created_at);
		db_bind_text(stmt, index++, row->updated_at);
	}
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "companies");
	for (size_t i = 0; i < count && status == DB_OK; i++)
		status = demo_tag_rows_add(db, tag_rows, rows[i].id, rows[i].tags, rows[i].tag_count);
	return status;
}

static int demo_store_contacts(struct db *db, const struct demo_contact_row *rows, size_t count,
			       struct demo_tag_rows *tag_rows)
{
	if (!count)
		return DB_OK;
	sqlite3_stmt *stmt = demo_store_prepare_batch(
		db, "INTO contacts (id, first_name, last_name, email, phone, title, company_id, owner_id, "
		    "lifecycle, relationship_level, tags, source, consent, custom, created_at, "
		    "updated_at)", 16, count);
	if (!stmt)
		return DB_ERROR;
	int index = 1;
	for (size_t i = 0; i < count; i++) {
		const struct demo_contact_row *row = &rows[i];
		char tags[256];
		tags_json(row->tags, row->tag_count, tags, sizeof(tags));
		sqlite3_bind_int64(stmt, index++, row->id);
		db_bind_text(stmt, index++, row->first_name);
		db_bind_text(stmt, index++, row->last_name);
		db_bind_text(stmt, index++, row->has_email ? row->email : NULL);
		db_bind_text(stmt, index++, row->has_phone ? row->phone : NULL);
		db_bind_text(stmt, index++, row->title);
		if (row->company_id)
			sqlite3_bind_int64(stmt, index, row->company_id);
		index++;
		sqlite3_bind_int64(stmt, index++, row->owner_id);
		db_bind_text(stmt, index++, row->lifecycle);
		if (row->relationship_level)
			sqlite3_bind_int(stmt, index, row->relationship_level);
		index++;
		db_bind_text(stmt, index++, tags);
		db_bind_text(stmt, index++, row->source);
		db_bind_text(stmt, index++, row->has_consent ? row->consent : NULL);
		db_bind_text(stmt, index++, row->custom);
		db_bind_text(stmt, index++, row->created_at);
		db_bind_text(stmt, index++, row->updated_at);
	}
	int rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	int status = db_status_from_sqlite(db, rc, "contacts");
	for (size_t i = 0; i < count && status == DB_OK; i++)
		status = demo_tag_rows_add(db, tag_rows, rows[i].id, rows[i].tags, rows[i].tag_count);
	return status;
}

/* ================================================================ generators */

/* Finds or creates the demo users (each in its own audited transaction). */
static int demo_ensure_users(struct demo_context *demo, int *created_count)
{
	static const struct user_actor actor = { 0, AUDIT_ACTOR_CLI };
	*created_count = 0;
	for (size_t i = 0; i < DEMO_USER_COUNT; i++) {
		const struct demo_user_spec *spec = &demo_users[i];
		struct user user;
		int status = users_store_get_by_email(demo->db, spec->email, &user, NULL, 0);
		if (status == DB_NOT_FOUND) {
			struct user_change change = USER_CHANGE_INIT;
			change.email = spec->email;
			change.name = spec->name;
			change.role = spec->role;
			change.set_team = true;
			change.team = spec->team;
			status = users_create(demo->db, &change, &actor, &user);
			if (status == DB_OK)
				(*created_count)++;
		}
		if (status != DB_OK) {
			cli_error("cannot create the demo user %s", spec->email);
			return -1;
		}
		demo->user_ids[i] = user.id;
	}
	return 0;
}

/* One random company (its id assigned by the caller). */
static void demo_make_company(struct demo_context *demo, size_t index, size_t count,
			      bool used[][15], struct demo_company_row *row)
{
	enum { WORDS = sizeof(company_words) / sizeof(company_words[0]),
	       KINDS = sizeof(company_kinds) / sizeof(company_kinds[0]) };
	struct demo_random *random = &demo->random;
	size_t word_index = (size_t)demo_random_below(random, WORDS);
	size_t kind_index = (size_t)demo_random_below(random, KINDS);
	const char *word = company_words[word_index], *kind = company_kinds[kind_index];
	if (demo_random_chance(random, 50))
		snprintf(row->name, sizeof(row->name), "%s %s %s", word, kind,
			 PICK(random, company_suffixes));
	else
		snprintf(row->name, sizeof(row->name), "%s %s", word, kind);
	char word_slug[32], kind_slug[32];
	ascii_slug(word, word_slug, sizeof(word_slug));
	ascii_slug(kind, kind_slug, sizeof(kind_slug));
	/* the first company of a name gets the plain domain, namesakes a numbered one */
	if (!used[word_index][kind_index])
		snprintf(row->domain, sizeof(row->domain), "%s-%s.example", word_slug, kind_slug);
	else
		snprintf(row->domain, sizeof(row->domain), "%s-%s-%zu.example", word_slug, kind_slug,
			 index);
	used[word_index][kind_index] = true;
	row->owner_id = demo->user_ids[demo_random_below(random, DEMO_USER_COUNT)];
	row->industry = demo_random_chance(random, 90) ? PICK(random, industries) : NULL;
	row->tag_count = random_tags(random, company_tags,
				     sizeof(company_tags) / sizeof(company_tags[0]), 2, row->tags);
	snprintf(row->custom, sizeof(row->custom), "{\"employees\":%llu,\"founded\":%llu}",
		 (unsigned long long)(5 + demo_random_below(random, 5000)),
		 (unsigned long long)(1950 + demo_random_below(random, 75)));
	time_t created;
	demo_creation_time(demo, index, count, row->created_at, &created);
	time_t updated = created + (time_t)demo_random_below(random, 86400 * 60);
	time_format_rfc3339(updated > demo->reference ? created : updated, row->updated_at);
}

static int demo_generate_companies(struct demo_context *demo, size_t count)
{
	_Static_assert(sizeof(company_kinds) / sizeof(company_kinds[0]) == 15, "used[][15]");
	bool used[sizeof(company_words) / sizeof(company_words[0])][15];
	memset(used, 0, sizeof(used));
	demo->companies = xcalloc(count ? count : 1, sizeof(*demo->companies));
	size_t batch_rows = demo_store_batch_rows(demo->db, 9);
	struct demo_company_row *batch = xcalloc(batch_rows, sizeof(*batch));
	struct demo_tag_rows tag_rows;
	demo_tag_rows_init(demo->db, &tag_rows, "companies");
	size_t pending = 0;
	int64_t next_id;
	int status = demo_store_next_id(demo->db, false, &next_id);
	for (size_t i = 0; i < count && status == DB_OK; i++) {
		struct demo_company_row *row = &batch[pending++];
		demo_make_company(demo, i, count, used, row);
		row->id = next_id++;
		struct demo_company *company = &demo->companies[demo->company_count++];
		company->id = row->id;
		company->owner_id = row->owner_id;
		memcpy(company->domain, row->domain, sizeof(company->domain));
		if (pending == batch_rows) {
			status = demo_store_companies(demo->db, batch, pending, &tag_rows);
			pending = 0;
		}
	}
	if (status == DB_OK)
		status = demo_store_companies(demo->db, batch, pending, &tag_rows);
	if (status == DB_OK)
		status = demo_tag_rows_flush(demo->db, &tag_rows);
	demo_tag_rows_release(&tag_rows);
	free(batch);
	if (status != DB_OK)
		cli_error("cannot store the companies (database status %d)", status);
	return status == DB_OK ? 0 : -1;
}

/* One random contact (its id assigned by the caller). */
static void demo_make_contact(struct demo_context *demo, size_t index, size_t count,
			      struct demo_contact_row *row)
{
	struct demo_random *random = &demo->random;
	row->first_name = PICK(random, first_names);
	row->last_name = PICK(random, last_names);
	const struct demo_company *company = NULL;
	if (demo->company_count && demo_random_chance(random, 85))
		company = &demo->companies[demo_random_below(random, demo->company_count)];
	char first_slug[32], last_slug[32];
	ascii_slug(row->first_name, first_slug, sizeof(first_slug));
	ascii_slug(row->last_name, last_slug, sizeof(last_slug));
	if (company)
		snprintf(row->email, sizeof(row->email), "%s.%s%zu@%s", first_slug, last_slug, index,
			 company->domain);
	else
		snprintf(row->email, sizeof(row->email), "%s%s%zu@%s", first_slug, last_slug, index,
			 PICK(random, personal_domains));
	row->has_email = demo_random_chance(random, 95);
	snprintf(row->phone, sizeof(row->phone), "+1 555 %03llu %04llu",
		 (unsigned long long)demo_random_below(random, 1000),
		 (unsigned long long)demo_random_below(random, 10000));
	row->has_phone = demo_random_chance(random, 70);
	row->title = company && demo_random_chance(random, 80) ? PICK(random, titles) : NULL;
	row->company_id = company ? company->id : 0;
	row->owner_id = company && demo_random_chance(random, 70)
				? company->owner_id
				: demo->user_ids[demo_random_below(random, DEMO_USER_COUNT)];
	row->lifecycle = PICK(random, lifecycles);
	row->source = PICK(random, sources);
	/* levels 1..6, the lower ones more common */
	row->relationship_level = demo_random_chance(random, 70)
					  ? 1 + (int)(demo_random_below(random, 6) *
						      demo_random_below(random, 6) / 5)
					  : 0;
	row->tag_count = random_tags(random, contact_tags,
				     sizeof(contact_tags) / sizeof(contact_tags[0]), 3, row->tags);
	time_t created;
	demo_creation_time(demo, index, count, row->created_at, &created);
	time_t updated = created + (time_t)demo_random_below(random, 86400 * 90);
	time_format_rfc3339(updated > demo->reference ? created : updated, row->updated_at);
	row->has_consent = demo_random_chance(random, 60);
	snprintf(row->consent, sizeof(row->consent), "{\"email\":%s,\"recorded_at\":\"%s\"}",
		 demo_random_chance(random, 75) ? "true" : "false", row->created_at);
	if (demo_random_chance(random, 30))
		snprintf(row->custom, sizeof(row->custom), "{\"preferred_language\":\"%s\"}",
			 PICK(random, languages));
	else
		snprintf(row->custom, sizeof(row->custom), "{}");
}

static int demo_generate_contacts(struct demo_context *demo, size_t count)
{
	size_t batch_rows = demo_store_batch_rows(demo->db, 16);
	struct demo_contact_row *batch = xcalloc(batch_rows, sizeof(*batch));
	struct demo_tag_rows tag_rows;
	demo_tag_rows_init(demo->db, &tag_rows, "contacts");
	size_t pending = 0;
	int64_t next_id;
	int status = demo_store_next_id(demo->db, true, &next_id);
	for (size_t i = 0; i < count && status == DB_OK; i++) {
		struct demo_contact_row *row = &batch[pending++];
		demo_make_contact(demo, i, count, row);
		row->id = next_id++;
		if (!demo->first_contact_id)
			demo->first_contact_id = row->id;
		demo->last_contact_id = row->id;
		demo->contact_count++;
		if (pending == batch_rows) {
			status = demo_store_contacts(demo->db, batch, pending, &tag_rows);
			pending = 0;
		}
	}
	if (status == DB_OK)
		status = demo_store_contacts(demo->db, batch, pending, &tag_rows);
	if (status == DB_OK)
		status = demo_tag_rows_flush(demo->db, &tag_rows);
	demo_tag_rows_release(&tag_rows);
	free(batch);
	if (status != DB_OK)
		cli_error("cannot store the contacts (database status %d)", status);
	return status == DB_OK ? 0 : -1;
}

/*
 * Everything after the users, in the caller's transaction. Add further generators here
 * (they see the companies and the contact id range in `demo`).
 */
static int demo_generate(struct demo_context *demo, size_t contacts)
{
	size_t companies = contacts ? (contacts + 9) / 10 : 0;
	if (demo_generate_companies(demo, companies) != 0)
		return -1;
	if (demo_generate_contacts(demo, contacts) != 0)
		return -1;
	const struct demo_activity_options activity = {
		.db = demo->db,
		.seed = demo->seed,
		.reference = demo->reference,
		.first_contact_id = demo->first_contact_id,
		.last_contact_id = demo->contact_count ? demo->last_contact_id : 0,
		.user_ids = demo->user_ids,
		.user_count = DEMO_USER_COUNT,
		.interactions_per_contact = demo->interactions_per_contact,
		.purchases_per_contact = demo->purchases_per_contact,
		.progress = true,
	};
	if (demo->contact_count && demo_activity_generate(&activity, &demo->activity) != 0)
		return -1;
	if (demo_store_analyze(demo->db) != DB_OK)
		return -1;
	json_t *summary = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I}", "companies", (json_int_t)demo->company_count,
		"contacts", (json_int_t)demo->contact_count, "interactions",
		(json_int_t)demo->activity.interactions, "purchases", (json_int_t)demo->activity.purchases,
		"opportunities", (json_int_t)demo->activity.opportunities, "tasks",
		(json_int_t)demo->activity.tasks);
	int status = audit_record(demo->db, 0, AUDIT_ACTOR_CLI, "demo-data", 0, "generate", NULL,
				  summary);
	json_decref(summary);
	return status == DB_OK ? 0 : -1;
}

/* ================================================================ the command */

static int parse_count(const char *text, const char *option, unsigned long long max,
		       unsigned long long *out)
{
	if (!text)
		return 0;
	errno = 0;
	char *end;
	unsigned long long value = strtoull(text, &end, 10);
	if (!*text || *end || errno || text[0] == '-' || value > max)
		return cli_usage_error("demo-data", "%s takes a number from 0 to %llu", option, max);
	*out = value;
	return 0;
}

/* A per-contact average: a number from 0 to DEMO_ACTIVITY_PER_CONTACT_MAX. */
static int parse_rate(const char *text, const char *option, double *out)
{
	if (!text)
		return 0;
	errno = 0;
	char *end;
	double value = strtod(text, &end);
	if (!*text || *end || errno || !(value >= 0.0 && value <= DEMO_ACTIVITY_PER_CONTACT_MAX))
		return cli_usage_error("demo-data", "%s takes a number from 0 to %g", option,
				       DEMO_ACTIVITY_PER_CONTACT_MAX);
	*out = value;
	return 0;
}

int cli_demo_data(struct cli_context *cli, int argc, char **argv)
{
	const char *contacts_text = NULL, *seed_text = NULL, *interactions_text = NULL,
		   *purchases_text = NULL;
	const struct cli_option options[] = {
		{ "--contacts", &contacts_text, NULL },
		{ "--seed", &seed_text, NULL },
		{ "--interactions-per-contact", &interactions_text, NULL },
		{ "--purchases-per-contact", &purchases_text, NULL },
		{ NULL, NULL, NULL },
	};
	int status = cli_parse_options("demo-data", argc, argv, options, NULL, 0);
	if (status != CLI_OK)
		return status;
	unsigned long long contacts = DEMO_DEFAULT_CONTACTS, seed = 1;
	if (parse_count(contacts_text, "--contacts", DEMO_MAX_CONTACTS, &contacts) != 0 ||
	    parse_count(seed_text, "--seed", UINT64_MAX, &seed) != 0)
		return CLI_USAGE;
	double interactions = DEMO_ACTIVITY_INTERACTIONS_DEFAULT,
	       purchases = DEMO_ACTIVITY_PURCHASES_DEFAULT;
	if (parse_rate(interactions_text, "--interactions-per-contact", &interactions) != 0 ||
	    parse_rate(purchases_text, "--purchases-per-contact", &purchases) != 0)
		return CLI_USAGE;

	int64_t started = time_monotonic_us();
	time_t now = time(NULL);
	struct demo_context demo = {
		.db = cli->db,
		.random = { seed },
		.reference = now - now % 86400,
		.seed = seed,
		.interactions_per_contact = interactions,
		.purchases_per_contact = purchases,
	};
	int users_created;
	if (demo_ensure_users(&demo, &users_created) != 0)
		return CLI_FAILED;
	int result = CLI_FAILED;
	db_bulk_begin(cli->db); /* all in one transaction, 1 GiB of cache: see db.h */
	if (db_begin_write(cli->db) != DB_OK) {
		cli_error("the database is busy; try again");
		goto cleanup;
	}
	if (demo_generate(&demo, (size_t)contacts) != 0) {
		db_rollback(cli->db);
		goto cleanup;
	}
	if (db_commit(cli->db) != DB_OK) {
		cli_error("cannot commit the demo data");
		goto cleanup;
	}
	printf("created %zu companies and %zu contacts owned by %zu demo users (%d new) in %.1f s\n",
	       demo.company_count, demo.contact_count, (size_t)DEMO_USER_COUNT, users_created,
	       (double)(time_monotonic_us() - started) / 1e6);
	printf("with %zu interactions, %zu purchases, %zu opportunities (%zu stage changes) and "
	       "%zu tasks\n",
	       demo.activity.interactions, demo.activity.purchases, demo.activity.opportunities,
	       demo.activity.stage_changes, demo.activity.tasks);
	result = CLI_OK;
cleanup:
	db_bulk_end(cli->db);
	free(demo.companies);
	return result;
}
