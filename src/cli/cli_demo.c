/*
 * cli_demo.c - crmctl demo-data: realistic synthetic data for trying the CRM out and for
 * load tests. Creates a few demo users in two teams (without passwords: give them one with
 * crmctl user passwd), then companies (about one per ten contacts) and contacts with names,
 * addresses, phones, titles, lifecycles, relationship levels, tags, consent and owners.
 *
 * Deterministic: the same --seed gives the same data (creation times are spread over the
 * two years before today's midnight UTC in id order, so they are the same on the same day).
 * Fast: one write transaction, multi-row inserts (demo_store.h); 10,000 contacts
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
#include "crm/demo_activity.h"
#include "crm/demo_store.h"
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

/* ================================================================ rows */
/*
 * The rows drawn here go to the store (demo_store.h) in batches of multi-row INSERTs,
 * inside the caller's write transaction: what the API would write for the same records,
 * tags also into record_tags, the triggers keeping the full-text index in step. A batch's
 * tags are written after its records, as the API does.
 */

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

/* Appends the tags of record `id` to record_tags' rows (written as they fill). */
static int demo_add_tags(struct demo_rows *tag_rows, const char *entity, int64_t id,
			 const char *const *tags, int tag_count)
{
	int status = DB_OK;
	for (int i = 0; i < tag_count && status == DB_OK; i++) {
		demo_rows_text(tag_rows, entity);
		demo_rows_text(tag_rows, tags[i]);
		demo_rows_integer(tag_rows, id);
		status = demo_rows_end_row(tag_rows);
	}
	return status;
}

/* Appends a company (its tags wait for demo_add_tags()). Returns a db_status. */
static int demo_add_company(struct demo_rows *rows, const struct demo_company_row *row)
{
	char tags[256];
	tags_json(row->tags, row->tag_count, tags, sizeof(tags));
	demo_rows_integer(rows, row->id);
	demo_rows_text(rows, row->name);
	demo_rows_text(rows, row->domain);
	demo_rows_text(rows, row->industry);
	demo_rows_integer(rows, row->owner_id);
	demo_rows_text(rows, tags);
	demo_rows_text(rows, row->custom);
	demo_rows_text(rows, row->created_at);
	demo_rows_text(rows, row->updated_at);
	return demo_rows_end_row(rows);
}

/* Appends a contact (its tags wait for demo_add_tags()). Returns a db_status. */
static int demo_add_contact(struct demo_rows *rows, const struct demo_contact_row *row)
{
	char tags[256];
	tags_json(row->tags, row->tag_count, tags, sizeof(tags));
	demo_rows_integer(rows, row->id);
	demo_rows_text(rows, row->first_name);
	demo_rows_text(rows, row->last_name);
	demo_rows_text(rows, row->has_email ? row->email : NULL);
	demo_rows_text(rows, row->has_phone ? row->phone : NULL);
	demo_rows_text(rows, row->title);
	if (row->company_id)
		demo_rows_integer(rows, row->company_id);
	else
		demo_rows_null(rows);
	demo_rows_integer(rows, row->owner_id);
	demo_rows_text(rows, row->lifecycle);
	if (row->relationship_level)
		demo_rows_integer(rows, row->relationship_level);
	else
		demo_rows_null(rows);
	demo_rows_text(rows, tags);
	demo_rows_text(rows, row->source);
	demo_rows_text(rows, row->has_consent ? row->consent : NULL);
	demo_rows_text(rows, row->custom);
	demo_rows_text(rows, row->created_at);
	demo_rows_text(rows, row->updated_at);
	return demo_rows_end_row(rows);
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

/*
 * The companies, a batch at a time: each batch's rows, then their tags. Ids follow the
 * highest there is.
 */
static int demo_generate_companies(struct demo_context *demo, size_t count)
{
	_Static_assert(sizeof(company_kinds) / sizeof(company_kinds[0]) == 15, "used[][15]");
	bool used[sizeof(company_words) / sizeof(company_words[0])][15];
	memset(used, 0, sizeof(used));
	demo->companies = xcalloc(count ? count : 1, sizeof(*demo->companies));
	struct demo_rows *rows = demo_rows_new(demo->db, DEMO_TABLE_COMPANIES, NULL);
	struct demo_rows *tag_rows = demo_rows_new(demo->db, DEMO_TABLE_RECORD_TAGS, NULL);
	size_t batch_rows = demo_rows_capacity(rows);
	struct demo_company_row *batch = xcalloc(batch_rows, sizeof(*batch));
	size_t pending = 0;
	int64_t next_id;
	int status = demo_store_next_id(demo->db, DEMO_TABLE_COMPANIES, &next_id);
	for (size_t i = 0; i < count && status == DB_OK; i++) {
		struct demo_company_row *row = &batch[pending++];
		demo_make_company(demo, i, count, used, row);
		row->id = next_id++;
		struct demo_company *company = &demo->companies[demo->company_count++];
		company->id = row->id;
		company->owner_id = row->owner_id;
		memcpy(company->domain, row->domain, sizeof(company->domain));
		status = demo_add_company(rows, row); /* written when the batch is full */
		if (pending < batch_rows)
			continue;
		for (size_t k = 0; k < pending && status == DB_OK; k++)
			status = demo_add_tags(tag_rows, "companies", batch[k].id, batch[k].tags,
					       batch[k].tag_count);
		pending = 0;
	}
	if (status == DB_OK)
		status = demo_rows_flush(rows);
	for (size_t k = 0; k < pending && status == DB_OK; k++)
		status = demo_add_tags(tag_rows, "companies", batch[k].id, batch[k].tags,
				       batch[k].tag_count);
	if (status == DB_OK)
		status = demo_rows_flush(tag_rows);
	demo_rows_free(tag_rows);
	demo_rows_free(rows);
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

/* The contacts, a batch at a time like the companies. */
static int demo_generate_contacts(struct demo_context *demo, size_t count)
{
	struct demo_rows *rows = demo_rows_new(demo->db, DEMO_TABLE_CONTACTS, NULL);
	struct demo_rows *tag_rows = demo_rows_new(demo->db, DEMO_TABLE_RECORD_TAGS, NULL);
	size_t batch_rows = demo_rows_capacity(rows);
	struct demo_contact_row *batch = xcalloc(batch_rows, sizeof(*batch));
	size_t pending = 0;
	int64_t next_id;
	int status = demo_store_next_id(demo->db, DEMO_TABLE_CONTACTS, &next_id);
	for (size_t i = 0; i < count && status == DB_OK; i++) {
		struct demo_contact_row *row = &batch[pending++];
		demo_make_contact(demo, i, count, row);
		row->id = next_id++;
		if (!demo->first_contact_id)
			demo->first_contact_id = row->id;
		demo->last_contact_id = row->id;
		demo->contact_count++;
		status = demo_add_contact(rows, row); /* written when the batch is full */
		if (pending < batch_rows)
			continue;
		for (size_t k = 0; k < pending && status == DB_OK; k++)
			status = demo_add_tags(tag_rows, "contacts", batch[k].id, batch[k].tags,
					       batch[k].tag_count);
		pending = 0;
	}
	if (status == DB_OK)
		status = demo_rows_flush(rows);
	for (size_t k = 0; k < pending && status == DB_OK; k++)
		status = demo_add_tags(tag_rows, "contacts", batch[k].id, batch[k].tags,
				       batch[k].tag_count);
	if (status == DB_OK)
		status = demo_rows_flush(tag_rows);
	demo_rows_free(tag_rows);
	demo_rows_free(rows);
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
