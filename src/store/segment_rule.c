/*
 * segment_rule.c - the segment rule compiler (segment_rule.h): checks a JSON rule tree
 * node by node and writes one SQL condition from compiled-in fragments, with every value
 * of the rule as a bound parameter.
 *
 * Pure: no database and no I/O. The SQL it writes assumes `c` = contacts and
 * `s` = temp.contact_scores; segments_store.c runs it.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* timegm */
#include "crm/segment_rule.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm/contacts.h"
#include "crm/banned.h"

/* ================================================================ fields and operators */

enum rule_type {
	RULE_TEXT,
	RULE_CHOICE,
	RULE_INTEGER,
	RULE_NUMBER,
	RULE_TIMESTAMP,
	RULE_BOOLEAN,
	RULE_TAGS,
	RULE_CUSTOM,
};

enum rule_op {
	OP_EQ,
	OP_NE,
	OP_LT,
	OP_LTE,
	OP_GT,
	OP_GTE,
	OP_IN,
	OP_CONTAINS,
	OP_EXISTS,
	OP_BEFORE,
	OP_AFTER,
	OP_COUNT,
};

static const char *const op_names[OP_COUNT] = {
	"eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "exists", "before", "after",
};

#define BIT(op) (1u << (op))
#define ORDERED (BIT(OP_LT) | BIT(OP_LTE) | BIT(OP_GT) | BIT(OP_GTE))
#define EQUALITY (BIT(OP_EQ) | BIT(OP_NE) | BIT(OP_EXISTS))

/* The operators each type accepts. */
static unsigned type_ops(enum rule_type type)
{
	switch (type) {
	case RULE_TEXT:
		return EQUALITY | ORDERED | BIT(OP_IN) | BIT(OP_CONTAINS);
	case RULE_CHOICE:
		return EQUALITY | BIT(OP_IN);
	case RULE_INTEGER:
	case RULE_NUMBER:
		return EQUALITY | ORDERED | BIT(OP_IN);
	case RULE_TIMESTAMP:
		return EQUALITY | ORDERED | BIT(OP_BEFORE) | BIT(OP_AFTER);
	case RULE_BOOLEAN:
		return EQUALITY;
	case RULE_TAGS:
		return BIT(OP_CONTAINS) | BIT(OP_IN) | BIT(OP_EXISTS);
	case RULE_CUSTOM:
		return EQUALITY | ORDERED | BIT(OP_IN) | BIT(OP_CONTAINS) | BIT(OP_BEFORE) |
		       BIT(OP_AFTER);
	}
	return 0;
}

static const char *type_name(enum rule_type type)
{
	switch (type) {
	case RULE_TEXT: return "text";
	case RULE_CHOICE: return "choice";
	case RULE_INTEGER: return "integer";
	case RULE_NUMBER: return "number";
	case RULE_TIMESTAMP: return "timestamp";
	case RULE_BOOLEAN: return "boolean";
	case RULE_TAGS: return "tags";
	case RULE_CUSTOM: return "custom";
	}
	return "?";
}

/* A field of the rule language: its type and its compiled-in SQL expression. */
struct rule_field {
	const char *name;
	enum rule_type type;
	const char *expression; /* over c (contacts) and s (temp.contact_scores) */
	bool scores;            /* the expression uses s */
	bool nocase;            /* comparisons ignore ASCII case */
	const char *const *choices; /* RULE_CHOICE: the allowed values */
};

static const struct rule_field rule_fields[] = {
	{ "id", RULE_INTEGER, "c.id", false, false, NULL },
	{ "first_name", RULE_TEXT, "c.first_name", false, false, NULL },
	{ "last_name", RULE_TEXT, "c.last_name", false, false, NULL },
	{ "email", RULE_TEXT, "c.email", false, true, NULL },
	{ "phone", RULE_TEXT, "c.phone", false, false, NULL },
	{ "title", RULE_TEXT, "c.title", false, false, NULL },
	{ "company_id", RULE_INTEGER, "c.company_id", false, false, NULL },
	{ "owner_id", RULE_INTEGER, "c.owner_id", false, false, NULL },
	{ "lifecycle", RULE_CHOICE, "c.lifecycle", false, false, contacts_lifecycles },
	{ "relationship_level", RULE_INTEGER, "c.relationship_level", false, false, NULL },
	{ "tags", RULE_TAGS, "c.tags", false, false, NULL },
	{ "source", RULE_TEXT, "c.source", false, false, NULL },
	{ "external_id", RULE_TEXT, "c.external_id", false, false, NULL },
	{ "consent.email", RULE_BOOLEAN, "json_extract(c.consent, '$.email')", false, false, NULL },
	{ "consent.recorded_at", RULE_TIMESTAMP, "json_extract(c.consent, '$.recorded_at')", false,
	  false, NULL },
	{ "created_at", RULE_TIMESTAMP, "c.created_at", false, false, NULL },
	{ "updated_at", RULE_TIMESTAMP, "c.updated_at", false, false, NULL },
	/* computed (analytics.h: temp.contact_scores) */
	{ "ltv_cents", RULE_INTEGER, "COALESCE(s.ltv_cents, 0)", true, false, NULL },
	{ "predicted_ltv_cents", RULE_INTEGER, "COALESCE(s.predicted_ltv_cents, 0)", true, false,
	  NULL },
	{ "tier", RULE_TEXT, "s.tier", true, false, NULL },
	{ "rfm", RULE_TEXT, "s.rfm", true, false, NULL },
	{ "churn_risk", RULE_NUMBER, "s.churn_risk", true, false, NULL },
	{ "purchases_count", RULE_INTEGER, "COALESCE(s.purchases_count, 0)", true, false, NULL },
	{ "last_purchase_at", RULE_TIMESTAMP, "s.last_purchase_at", true, false, NULL },
	{ "last_interaction_at", RULE_TIMESTAMP, "s.last_interaction_at", true, false, NULL },
	{ NULL, RULE_TEXT, NULL, false, false, NULL },
};

/* custom.KEY: the expression takes the JSON path of KEY as its own bound parameter. */
static const struct rule_field custom_field = {
	"custom", RULE_CUSTOM, "json_extract(c.custom, ?)", false, false, NULL,
};
#define CUSTOM_PREFIX "custom."

static bool custom_key_valid(const char *key)
{
	size_t len = strlen(key);
	if (len == 0 || len > SEGMENT_RULE_CUSTOM_KEY_MAX)
		return false;
	for (const char *p = key; *p; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || ch == '-';
		if (!ok)
			return false;
	}
	return true;
}

/* ================================================================ relative times */

static bool is_leap_year(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month /* 0-11 */)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return month == 1 && is_leap_year(year) ? 29 : days[month];
}

/* `now` moved by `months` calendar months; the day is clamped to the month's last. */
static time_t add_months(time_t now, long months)
{
	struct tm tm;
	gmtime_r(&now, &tm);
	long total = (long)tm.tm_year * 12 + tm.tm_mon + months;
	long year = total / 12, month = total % 12;
	if (month < 0) {
		month += 12;
		year--;
	}
	tm.tm_year = (int)year;
	tm.tm_mon = (int)month;
	int last = days_in_month((int)year + 1900, (int)month);
	if (tm.tm_mday > last)
		tm.tm_mday = last;
	return timegm(&tm);
}

int segment_rule_resolve_time(const char *text, time_t now, char out[TIME_RFC3339_SIZE])
{
	time_t when;
	if (strcmp(text, "now") == 0) {
		time_format_rfc3339(now, out);
		return 0;
	}
	if (text[0] == '+' || text[0] == '-') {
		int sign = text[0] == '-' ? -1 : 1;
		const char *p = text + 1;
		long amount = 0;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 7) {
			amount = amount * 10 + (*p - '0');
			p++;
			digits++;
		}
		if (digits == 0 || !p[0] || p[1])
			return -1;
		/* at most 100 years either way */
		long limit, seconds = 0;
		switch (p[0]) {
		case 'h': limit = 36525L * 24; seconds = 3600; break;
		case 'd': limit = 36525; seconds = 86400; break;
		case 'w': limit = 36525 / 7; seconds = 7 * 86400; break;
		case 'm': limit = 100L * 12; break;
		case 'y': limit = 100; break;
		default: return -1;
		}
		if (amount > limit)
			return -1;
		if (p[0] == 'm' || p[0] == 'y')
			when = add_months(now, sign * amount * (p[0] == 'y' ? 12 : 1));
		else
			when = now + (time_t)sign * (time_t)amount * (time_t)seconds;
		time_format_rfc3339(when, out);
		return 0;
	}
	if (!time_parse_rfc3339(text, true, &when))
		return -1;
	time_format_rfc3339(when, out);
	return 0;
}

/* ================================================================ the compiler */

struct compiler {
	struct buf *sql;
	json_t *binds;
	bool uses_scores;
	time_t now;
	struct buf path; /* JSON path of the node being compiled */
	struct field_errors *errors;
	int error_count;
	int nodes;
	bool stop; /* a limit was hit: compile no further */
	double cost_ns;          /* the cost model (segment_rule.h): the sum so far */
	double costliest_ns;     /* the costliest condition's cost ... */
	char costliest[96];      /* ... and its path */
};

/* Adds an error for the current path plus `suffix` ("" for the node itself). */
__attribute__((format(printf, 3, 4))) static void compiler_error(struct compiler *c,
								  const char *suffix,
								  const char *format, ...)
{
	if (c->error_count++ >= SEGMENT_RULE_MAX_ERRORS)
		return;
	struct buf message = BUF_INIT;
	va_list args;
	va_start(args, format);
	buf_vaddf(&message, format, args);
	va_end(args);
	size_t mark = c->path.len;
	buf_adds(&c->path, suffix);
	field_errors_add(c->errors, c->path.data, "%s", message.data);
	c->path.len = mark;
	c->path.data[mark] = '\0';
	buf_release(&message);
}

static size_t path_push(struct compiler *c, const char *format, ...)
	__attribute__((format(printf, 2, 3)));
static size_t path_push(struct compiler *c, const char *format, ...)
{
	size_t mark = c->path.len;
	va_list args;
	va_start(args, format);
	buf_vaddf(&c->path, format, args);
	va_end(args);
	return mark;
}

static void path_pop(struct compiler *c, size_t mark)
{
	c->path.len = mark;
	c->path.data[mark] = '\0';
}

static size_t utf8_length(const char *text)
{
	size_t count = 0;
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if ((*p & 0xC0) != 0x80)
			count++;
	return count;
}

/* "eq, ne, lt" for the operators in `mask`. */
static void describe_ops(struct buf *out, unsigned mask)
{
	for (int op = 0; op < OP_COUNT; op++)
		if (mask & BIT(op))
			buf_addf(out, "%s%s", out->len ? ", " : "", op_names[op]);
}

static int op_parse(const char *name)
{
	for (int op = 0; op < OP_COUNT; op++)
		if (strcmp(op_names[op], name) == 0)
			return op;
	return -1;
}

/*
 * Checks one scalar value for `field` and `op` and returns it as the value to bind (a new
 * reference: string, integer or real), or NULL after an error at `suffix` (".value",
 * ".value[2]").
 */
static json_t *scalar_value(struct compiler *c, const struct rule_field *field, enum rule_op op,
			    const json_t *value, const char *suffix)
{
	bool wants_time = field->type == RULE_TIMESTAMP || op == OP_BEFORE || op == OP_AFTER;
	if (!value || json_is_null(value)) {
		compiler_error(c, suffix, "a value is required (null is not a value: use exists)");
		return NULL;
	}
	if (wants_time) {
		char text[TIME_RFC3339_SIZE];
		if (!json_is_string(value) ||
		    segment_rule_resolve_time(json_string_value(value), c->now, text) != 0) {
			compiler_error(c, suffix,
				       "must be a timestamp such as 2026-11-23T16:00:00Z, a date such "
				       "as 2026-11-23, \"now\", or a relative time such as -90d "
				       "(units h, d, w, m, y)");
			return NULL;
		}
		return json_string(text);
	}
	switch (field->type) {
	case RULE_TEXT:
	case RULE_CHOICE:
	case RULE_TAGS:
		if (!json_is_string(value) || json_string_length(value) == 0) {
			compiler_error(c, suffix, "must be a non-empty string");
			return NULL;
		}
		if (utf8_length(json_string_value(value)) > SEGMENT_RULE_MAX_TEXT) {
			compiler_error(c, suffix, "must be at most %d characters", SEGMENT_RULE_MAX_TEXT);
			return NULL;
		}
		if (field->type == RULE_CHOICE) {
			for (const char *const *choice = field->choices; *choice; choice++)
				if (strcmp(*choice, json_string_value(value)) == 0)
					return json_string(*choice);
			struct buf allowed = BUF_INIT;
			for (const char *const *choice = field->choices; *choice; choice++)
				buf_addf(&allowed, "%s%s", allowed.len ? ", " : "", *choice);
			compiler_error(c, suffix, "must be one of %s", allowed.data);
			buf_release(&allowed);
			return NULL;
		}
		return json_string(json_string_value(value));
	case RULE_INTEGER:
		if (!json_is_integer(value)) {
			compiler_error(c, suffix, "must be an integer");
			return NULL;
		}
		return json_integer(json_integer_value(value));
	case RULE_NUMBER:
		if (!json_is_number(value)) {
			compiler_error(c, suffix, "must be a number");
			return NULL;
		}
		return json_is_integer(value) ? json_integer(json_integer_value(value))
					      : json_real(json_real_value(value));
	case RULE_BOOLEAN:
		if (!json_is_boolean(value)) {
			compiler_error(c, suffix, "must be true or false");
			return NULL;
		}
		return json_integer(json_is_true(value) ? 1 : 0);
	case RULE_CUSTOM:
		if (json_is_boolean(value))
			return json_integer(json_is_true(value) ? 1 : 0);
		if (json_is_integer(value))
			return json_integer(json_integer_value(value));
		if (json_is_real(value))
			return json_real(json_real_value(value));
		if (json_is_string(value) && json_string_length(value) > 0 &&
		    utf8_length(json_string_value(value)) <= SEGMENT_RULE_MAX_TEXT)
			return json_string(json_string_value(value));
		compiler_error(c, suffix,
			       "must be a non-empty string of at most %d characters, a number or "
			       "a boolean",
			       SEGMENT_RULE_MAX_TEXT);
		return NULL;
	case RULE_TIMESTAMP:
		break; /* handled above */
	}
	compiler_error(c, suffix, "cannot be compared");
	return NULL;
}

/* Appends the field's expression, binding the custom key's JSON path first. */
static void emit_expression(struct compiler *c, const struct rule_field *field,
			    const char *custom_key)
{
	buf_adds(c->sql, field->expression);
	if (field->type == RULE_CUSTOM) {
		struct buf path = BUF_INIT;
		buf_addf(&path, "$.\"%s\"", custom_key); /* the key holds no quote (checked) */
		json_array_append_new(c->binds, json_string(path.data));
		buf_release(&path);
	}
	if (field->scores)
		c->uses_scores = true;
}

static void bind_value(struct compiler *c, json_t *value /* steals */)
{
	json_array_append_new(c->binds, value);
}

static const char *comparison(enum rule_op op)
{
	switch (op) {
	case OP_EQ: return " = ?";
	case OP_NE: return " IS NOT ?";
	case OP_LT:
	case OP_BEFORE: return " < ?";
	case OP_LTE: return " <= ?";
	case OP_GT:
	case OP_AFTER: return " > ?";
	case OP_GTE: return " >= ?";
	default: return NULL;
	}
}

#define TAGS_OF_CONTACTS "c.id IN (SELECT record_id FROM record_tags WHERE entity = 'contacts' AND "

/* Writes the SQL of a condition whose field, op and value were checked. */
static void emit_condition(struct compiler *c, const struct rule_field *field,
			   const char *custom_key, enum rule_op op, json_t *value /* steals */,
			   bool exists)
{
	const char *collate = field->nocase ? " COLLATE NOCASE" : "";
	buf_addch(c->sql, '(');
	if (field->type == RULE_TAGS) {
		if (op == OP_EXISTS) {
			buf_adds(c->sql, exists ? "c.tags <> '[]'" : "c.tags = '[]'");
		} else {
			buf_addf(c->sql, TAGS_OF_CONTACTS "%s)",
				 op == OP_IN ? "tag IN (SELECT value FROM json_each(?))" : "tag = ?");
			bind_value(c, value);
			value = NULL;
		}
		buf_addch(c->sql, ')');
		json_decref(value);
		return;
	}
	switch (op) {
	case OP_EXISTS:
		emit_expression(c, field, custom_key);
		buf_adds(c->sql, exists ? " IS NOT NULL" : " IS NULL");
		break;
	case OP_IN:
		emit_expression(c, field, custom_key);
		buf_addf(c->sql, "%s IN (SELECT value FROM json_each(?))", collate);
		bind_value(c, value);
		value = NULL;
		break;
	case OP_CONTAINS:
		buf_adds(c->sql, "instr(lower(");
		emit_expression(c, field, custom_key);
		buf_adds(c->sql, "), lower(?)) > 0");
		bind_value(c, value);
		value = NULL;
		break;
	default:
		emit_expression(c, field, custom_key);
		buf_addf(c->sql, "%s%s", comparison(op), collate);
		bind_value(c, value);
		value = NULL;
		break;
	}
	buf_addch(c->sql, ')');
	json_decref(value);
}

/* The cost per contact of a condition that compiled (segment_rule.h: the cost model). */
static double condition_cost_ns(const struct rule_field *field, enum rule_op op,
				const json_t *bound)
{
	double cost = SEGMENT_COST_CONDITION_NS;
	if (field->type == RULE_CUSTOM || strncmp(field->expression, "json_extract", 12) == 0)
		cost += SEGMENT_COST_JSON_NS;
	if (op == OP_IN || field->type == RULE_TAGS)
		cost += SEGMENT_COST_SET_NS;
	else if (op == OP_CONTAINS)
		cost += SEGMENT_COST_CONTAINS_NS +
			SEGMENT_COST_PATTERN_CHAR_NS * (double)json_string_length(bound);
	return cost;
}

/* Adds a condition's cost to the rule's, noting the costliest one's path. */
static void count_cost(struct compiler *c, double cost)
{
	c->cost_ns += cost;
	if (cost > c->costliest_ns) {
		c->costliest_ns = cost;
		snprintf(c->costliest, sizeof(c->costliest), "%s", c->path.data);
	}
}

/* A condition {"field","op","value"}. Writes its SQL (or "0" after an error). */
static void compile_condition(struct compiler *c, const json_t *node)
{
	int errors_before = c->error_count;
	const char *key;
	json_t *member;
	json_object_foreach((json_t *)node, key, member) {
		if (strcmp(key, "field") != 0 && strcmp(key, "op") != 0 && strcmp(key, "value") != 0) {
			size_t mark = path_push(c, ".%.64s", key);
			compiler_error(c, "", "unknown member: a condition has field, op and value");
			path_pop(c, mark);
		}
	}
	const json_t *field_value = json_object_get(node, "field");
	const json_t *op_value = json_object_get(node, "op");
	const json_t *value = json_object_get(node, "value");

	const struct rule_field *field = NULL;
	const char *custom_key = NULL;
	if (!json_is_string(field_value)) {
		compiler_error(c, ".field", "must be the name of a field");
	} else {
		const char *name = json_string_value(field_value);
		for (const struct rule_field *f = rule_fields; f->name; f++)
			if (strcmp(f->name, name) == 0)
				field = f;
		if (!field && strncmp(name, CUSTOM_PREFIX, strlen(CUSTOM_PREFIX)) == 0) {
			custom_key = name + strlen(CUSTOM_PREFIX);
			if (custom_key_valid(custom_key))
				field = &custom_field;
			else
				compiler_error(c, ".field",
					       "a custom field is custom.KEY with a KEY of 1 to %d "
					       "letters, digits, '_' or '-'",
					       SEGMENT_RULE_CUSTOM_KEY_MAX);
		} else if (!field) {
			compiler_error(c, ".field", "unknown field '%.64s'", name);
		}
	}

	int op = -1;
	if (!json_is_string(op_value) || (op = op_parse(json_string_value(op_value))) < 0) {
		struct buf all = BUF_INIT;
		describe_ops(&all, (1u << OP_COUNT) - 1);
		compiler_error(c, ".op", "must be one of %s", all.data);
		buf_release(&all);
		op = -1;
	} else if (field && !(type_ops(field->type) & BIT(op))) {
		struct buf allowed = BUF_INIT;
		describe_ops(&allowed, type_ops(field->type));
		compiler_error(c, ".op", "'%s' does not apply to %s (a %s field); use one of %s",
			       op_names[op], json_string_value(field_value), type_name(field->type),
			       allowed.data);
		buf_release(&allowed);
		op = -1;
	}
	if (!field || op < 0) {
		buf_adds(c->sql, "0");
		return;
	}

	json_t *bound = NULL;
	bool exists = true;
	if (op == OP_EXISTS) {
		if (value && !json_is_boolean(value) && !json_is_null(value))
			compiler_error(c, ".value", "must be true or false (or left out: true)");
		exists = !json_is_false(value);
	} else if (op == OP_IN) {
		if (!json_is_array(value) || json_array_size(value) == 0 ||
		    json_array_size(value) > SEGMENT_RULE_MAX_IN_VALUES) {
			compiler_error(c, ".value", "must be an array of 1 to %d values",
				       SEGMENT_RULE_MAX_IN_VALUES);
		} else {
			json_t *list = json_array();
			size_t index;
			json_t *item;
			json_array_foreach(value, index, item) {
				char suffix[40];
				snprintf(suffix, sizeof(suffix), ".value[%zu]", index);
				json_t *checked = scalar_value(c, field, (enum rule_op)op, item, suffix);
				if (checked)
					json_array_append_new(list, checked);
			}
			char *text = json_to_text(list, NULL);
			bound = json_string(text);
			free(text);
			json_decref(list);
		}
	} else {
		bound = scalar_value(c, field, (enum rule_op)op, value, ".value");
	}
	if (c->error_count != errors_before) {
		json_decref(bound);
		buf_adds(c->sql, "0");
		return;
	}
	count_cost(c, condition_cost_ns(field, (enum rule_op)op, bound));
	emit_condition(c, field, custom_key, (enum rule_op)op, bound, exists);
}

static void compile_node(struct compiler *c, const json_t *node, int depth);

/* {"all": [...]} or {"any": [...]}. */
static void compile_list(struct compiler *c, const char *name, const json_t *list, int depth)
{
	size_t mark = path_push(c, ".%s", name);
	if (!json_is_array(list) || json_array_size(list) == 0) {
		compiler_error(c, "", "must be an array of at least one rule");
		buf_adds(c->sql, "0");
		path_pop(c, mark);
		return;
	}
	const char *joiner = strcmp(name, "all") == 0 ? " AND " : " OR ";
	buf_addch(c->sql, '(');
	size_t index;
	json_t *child;
	json_array_foreach(list, index, child) {
		if (c->stop)
			break;
		if (index)
			buf_adds(c->sql, joiner);
		size_t item_mark = path_push(c, "[%zu]", index);
		compile_node(c, child, depth + 1);
		path_pop(c, item_mark);
	}
	buf_addch(c->sql, ')');
	path_pop(c, mark);
}

static void compile_node(struct compiler *c, const json_t *node, int depth)
{
	if (c->stop)
		return;
	if (++c->nodes > SEGMENT_RULE_MAX_NODES) {
		compiler_error(c, "", "the rule has more than %d parts", SEGMENT_RULE_MAX_NODES);
		c->stop = true;
		return;
	}
	if (!json_is_object(node)) {
		compiler_error(c, "",
			       "must be an object: {\"all\":[..]}, {\"any\":[..]}, {\"not\":{..}} "
			       "or {\"field\":..,\"op\":..,\"value\":..}");
		buf_adds(c->sql, "0");
		return;
	}
	const json_t *all = json_object_get(node, "all"), *any = json_object_get(node, "any"),
		     *negated = json_object_get(node, "not");
	int combinators = (all != NULL) + (any != NULL) + (negated != NULL);
	if (combinators == 0) {
		if (json_object_size(node) == 0) {
			compiler_error(c, "",
				       "must have all, any, not, or field, op and value");
			buf_adds(c->sql, "0");
			return;
		}
		compile_condition(c, node);
		return;
	}
	if (combinators > 1 || json_object_size(node) > 1) {
		compiler_error(c, "", "must have exactly one member: all, any or not");
		buf_adds(c->sql, "0");
		return;
	}
	if (depth >= SEGMENT_RULE_MAX_DEPTH) {
		compiler_error(c, "", "is nested more than %d levels deep", SEGMENT_RULE_MAX_DEPTH);
		c->stop = true;
		return;
	}
	if (all) {
		compile_list(c, "all", all, depth);
	} else if (any) {
		compile_list(c, "any", any, depth);
	} else {
		/* NULL counts as false before negating, so `not` is an exact complement. */
		size_t mark = path_push(c, ".not");
		buf_adds(c->sql, "(NOT COALESCE(");
		compile_node(c, negated, depth + 1);
		buf_adds(c->sql, ", 0))");
		path_pop(c, mark);
	}
}

/* ================================================================ interface */

void segment_rule_sql_init(struct segment_rule_sql *sql)
{
	buf_init(&sql->where);
	sql->binds = json_array();
	sql->uses_scores = false;
	sql->cost_ns = 0;
	sql->costliest[0] = '\0';
}

void segment_rule_sql_release(struct segment_rule_sql *sql)
{
	buf_release(&sql->where);
	json_decref(sql->binds);
	sql->binds = NULL;
	sql->uses_scores = false;
}

int segment_rule_compile(const json_t *rule, const char *path, time_t now,
			 struct segment_rule_sql *out, struct field_errors *errors)
{
	buf_reset(&out->where);
	json_decref(out->binds);
	out->binds = json_array();
	out->uses_scores = false;
	out->cost_ns = 0;
	out->costliest[0] = '\0';

	struct compiler c = {
		.sql = &out->where,
		.binds = out->binds,
		.now = now,
		.errors = errors,
	};
	buf_init(&c.path);
	buf_adds(&c.path, path);
	compile_node(&c, rule, 0);
	buf_release(&c.path);
	if (c.error_count || c.stop) {
		buf_reset(&out->where);
		json_array_clear(out->binds);
		return -1;
	}
	out->uses_scores = c.uses_scores;
	out->cost_ns = c.cost_ns;
	snprintf(out->costliest, sizeof(out->costliest), "%s", c.costliest[0] ? c.costliest : path);
	return 0;
}

double segment_rule_cost_ms(const struct segment_rule_sql *sql, int64_t contacts)
{
	return sql->cost_ns * (double)contacts / 1e6;
}

int segment_rule_check(const json_t *rule, const char *path, struct field_errors *errors)
{
	struct segment_rule_sql sql;
	segment_rule_sql_init(&sql);
	int result = segment_rule_compile(rule, path, 0, &sql, errors);
	segment_rule_sql_release(&sql);
	return result;
}
