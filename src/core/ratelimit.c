/*
 * ratelimit.c - the token bucket, the policy of a caller (key, else role, else crmd's
 * defaults), the installed bucket state, rate parsing, and the audited changes of a role's
 * or a key's limit (ratelimit.h). No HTTP here: src/http/ratelimit_http.c answers.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crm/audit.h"
#include "crm/db.h"
#include "crm/timeutil.h"
#include "crm/banned.h"

/* A token counts as there when this close to whole (floating-point refills). */
#define TOKEN_EPSILON 1e-9

/* ---------------------------------------------------------------- the bucket */

static double tokens_per_ms(const struct ratelimit_policy *policy)
{
	return policy->per_minute / 60000.0;
}

void ratelimit_bucket_init(struct ratelimit_bucket *bucket, const struct ratelimit_policy *policy,
			   int64_t now_ms)
{
	bucket->tokens = policy->burst;
	bucket->updated_ms = now_ms;
}

static int ceil_seconds(double ms)
{
	double seconds = ceil(ms / 1000.0 - TOKEN_EPSILON);
	return seconds < 0 ? 0 : seconds > 1e9 ? 1000000000 : (int)seconds;
}

int64_t ratelimit_bucket_take(struct ratelimit_bucket *bucket,
			      const struct ratelimit_policy *policy, int64_t now_ms,
			      struct ratelimit_decision *out)
{
	double rate = tokens_per_ms(policy);
	if (now_ms > bucket->updated_ms) {
		bucket->tokens += (double)(now_ms - bucket->updated_ms) * rate;
		bucket->updated_ms = now_ms;
	}
	if (bucket->tokens > policy->burst) /* full, or the policy shrank */
		bucket->tokens = policy->burst;
	memset(out, 0, sizeof(*out));
	out->allowed = bucket->tokens >= 1.0 - TOKEN_EPSILON;
	if (out->allowed)
		bucket->tokens = bucket->tokens - 1.0 < 0 ? 0 : bucket->tokens - 1.0;
	else
		out->retry_after = ceil_seconds((1.0 - bucket->tokens) / rate);
	if (!out->allowed && out->retry_after < 1)
		out->retry_after = 1;
	out->remaining = (int)floor(bucket->tokens + TOKEN_EPSILON);
	double full_in_ms = (policy->burst - bucket->tokens) / rate;
	out->reset_seconds = ceil_seconds(full_in_ms);
	return bucket->updated_ms + (int64_t)ceil(full_in_ms);
}

/* ---------------------------------------------------------------- installed state */

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ratelimit_buckets *installed;
static int default_per_minute = RATELIMIT_DEFAULT_PER_MINUTE;
static int default_burst = RATELIMIT_DEFAULT_BURST;

void ratelimit_set_buckets(struct ratelimit_buckets *buckets)
{
	pthread_mutex_lock(&state_lock);
	struct ratelimit_buckets *old = installed;
	installed = buckets;
	pthread_mutex_unlock(&state_lock);
	if (old)
		old->free(old);
}

void ratelimit_shutdown(void)
{
	ratelimit_set_buckets(NULL);
}

void ratelimit_set_defaults(int per_minute, int burst)
{
	default_per_minute = per_minute > 0 ? per_minute : RATELIMIT_DEFAULT_PER_MINUTE;
	default_burst = burst > 0 ? burst : RATELIMIT_DEFAULT_BURST;
}

static struct ratelimit_buckets *buckets_in_use(void)
{
	pthread_mutex_lock(&state_lock);
	if (!installed)
		installed = ratelimit_memory_buckets_new(RATELIMIT_MEMORY_MAX_BUCKETS);
	struct ratelimit_buckets *buckets = installed;
	pthread_mutex_unlock(&state_lock);
	return buckets;
}

long ratelimit_bucket_count(void)
{
	pthread_mutex_lock(&state_lock);
	long count = installed ? installed->count(installed) : 0;
	pthread_mutex_unlock(&state_lock);
	return count;
}

int ratelimit_take(const char *subject, const struct ratelimit_policy *policy, int64_t now_ms,
		   struct ratelimit_decision *out)
{
	struct ratelimit_buckets *buckets = buckets_in_use();
	return buckets->take(buckets, subject, policy, now_ms, out);
}

int64_t ratelimit_now_ms(void)
{
	return time_monotonic_us() / 1000;
}

int ratelimit_policy_for(struct db *db, const char *role, int64_t key_id,
			 struct ratelimit_policy *policy)
{
	policy->name = RATELIMIT_SOURCE_DEFAULT;
	policy->per_minute = default_per_minute;
	policy->burst = default_burst;
	struct ratelimit_limit of_role, of_key;
	int status = ratelimit_store_limits(db, role, key_id, &of_role, &of_key);
	if (status != DB_OK)
		return status;
	if (of_role.per_minute > 0 || of_role.burst > 0)
		policy->name = RATELIMIT_SOURCE_ROLE;
	if (of_key.per_minute > 0 || of_key.burst > 0)
		policy->name = RATELIMIT_SOURCE_KEY;
	policy->per_minute = of_key.per_minute > 0    ? of_key.per_minute
			     : of_role.per_minute > 0 ? of_role.per_minute
						      : default_per_minute;
	policy->burst = of_key.burst > 0 ? of_key.burst : of_role.burst > 0 ? of_role.burst
									     : default_burst;
	return DB_OK;
}

/* ---------------------------------------------------------------- parsing */

int ratelimit_parse_rate(const char *text, int *per_minute)
{
	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	char *end;
	long long count = strtoll(text, &end, 10);
	if (errno || count < 1 || count > RATELIMIT_MAX)
		return -1;
	long long value;
	if (!*end || strcmp(end, "/min") == 0 || strcmp(end, "/m") == 0)
		value = count;
	else if (strcmp(end, "/s") == 0 || strcmp(end, "/sec") == 0)
		value = count * 60;
	else if (strcmp(end, "/h") == 0 || strcmp(end, "/hour") == 0)
		value = (count + 59) / 60;
	else
		return -1;
	if (value < 1 || value > RATELIMIT_MAX)
		return -1;
	*per_minute = (int)value;
	return 0;
}

/* ---------------------------------------------------------------- audited writes */

/* A limit as the audit log shows it (new reference): null for inherited values. */
static json_t *limit_json(const struct ratelimit_limit *limit)
{
	return json_pack("{s:o, s:o}", "rate_per_minute",
			 limit->per_minute > 0 ? json_integer(limit->per_minute) : json_null(),
			 "rate_burst", limit->burst > 0 ? json_integer(limit->burst) : json_null());
}

/* Runs one limit change in a write transaction with its audit entry. */
static int limit_write(struct db *db, const char *role, int64_t key_id,
		       const struct ratelimit_limit *limit, int64_t actor_user_id,
		       const char *actor)
{
	int status = db_begin_write(db);
	if (status != DB_OK)
		return status;
	struct ratelimit_limit old = { 0, 0 };
	status = role ? ratelimit_store_role_set(db, role, limit, &old)
		      : ratelimit_store_key_set(db, key_id, limit, &old);
	if (status == DB_OK) {
		json_t *before = limit_json(&old), *after = limit_json(limit);
		if (role) {
			json_object_set_new(before, "name", json_string(role));
			json_object_set_new(after, "name", json_string(role));
		}
		status = audit_record(db, actor_user_id, actor, role ? "roles" : "api_keys",
				      role ? 0 : key_id, "limit", before, after);
		json_decref(before);
		json_decref(after);
	}
	if (status == DB_OK)
		status = db_commit(db);
	else
		db_rollback(db);
	return status;
}

int ratelimit_role_limit(struct db *db, const char *role, const struct ratelimit_limit *limit,
			 int64_t actor_user_id, const char *actor)
{
	return limit_write(db, role, 0, limit, actor_user_id, actor);
}

int ratelimit_key_limit(struct db *db, int64_t key_id, const struct ratelimit_limit *limit,
			int64_t actor_user_id, const char *actor)
{
	return limit_write(db, NULL, key_id, limit, actor_user_id, actor);
}
