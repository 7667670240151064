/*
 * ratelimit.h - API rate limits (issue 16): a token bucket per API key and per user signed
 * in with a session. A bucket holds up to `burst` tokens and gains `per_minute` tokens a
 * minute; each authenticated request takes one, and a request that finds less than one is
 * refused (429 with Retry-After, src/http/ratelimit_http.c).
 *
 * The limit of a caller: the key's own (crmctl key limit), else its role's (crmctl role
 * limit), else crmd's defaults (--rate-limit, --rate-burst); each of rate and burst is
 * inherited on its own. Limits live in the database (migration 0019) and are read on
 * every request, so a change applies to a running crmd at once.
 *
 * The buckets' state sits behind struct ratelimit_buckets: the in-memory one of this
 * process (ratelimit_memory.c, bounded, idle buckets evicted) now; a store shared by the
 * nodes (PostgreSQL) can replace it with ratelimit_set_buckets(). Time is passed in by the
 * caller (milliseconds of a monotonic clock), so tests drive refills without waiting.
 */
#ifndef CRM_RATELIMIT_H
#define CRM_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db;

/* crmd's defaults: generous for people and integrations, a stop for runaway loops. */
#define RATELIMIT_DEFAULT_PER_MINUTE 60000
#define RATELIMIT_DEFAULT_BURST 10000
/* The largest rate (per minute) and burst anyone may set. */
#define RATELIMIT_MAX 60000000
/* Buckets the in-memory state keeps at most (about 100 bytes each). */
#define RATELIMIT_MEMORY_MAX_BUCKETS 100000

/* Where a policy came from: its name in the RateLimit headers. */
#define RATELIMIT_SOURCE_DEFAULT "default"
#define RATELIMIT_SOURCE_ROLE "role"
#define RATELIMIT_SOURCE_KEY "key"

struct ratelimit_policy {
	const char *name; /* static: RATELIMIT_SOURCE_... (of the rate, else the burst) */
	int per_minute;   /* tokens gained per minute, 1..RATELIMIT_MAX */
	int burst;        /* the bucket's size, 1..RATELIMIT_MAX */
};

/* What taking a token found. */
struct ratelimit_decision {
	bool allowed;
	int remaining;     /* whole tokens left after this request */
	int reset_seconds; /* until the bucket is full again (0: full) */
	int retry_after;   /* refused: seconds until a token is there (at least 1); else 0 */
};

/* One bucket's state: tokens at the time `updated_ms`. */
struct ratelimit_bucket {
	double tokens;
	int64_t updated_ms;
};

/* A new bucket: full at `now_ms`. */
void ratelimit_bucket_init(struct ratelimit_bucket *bucket, const struct ratelimit_policy *policy,
			   int64_t now_ms);
/*
 * Refills the bucket up to `now_ms` (time going backwards adds nothing) and takes a token
 * when there is one. Fills `out`. Returns the time at which the bucket will be full again
 * (its state is then the same as a new one's: it may be forgotten).
 */
int64_t ratelimit_bucket_take(struct ratelimit_bucket *bucket,
			      const struct ratelimit_policy *policy, int64_t now_ms,
			      struct ratelimit_decision *out);

/* ---- the buckets' state: the seam a shared store replaces --------------------------- */

struct ratelimit_buckets {
	/*
	 * Takes a token from the bucket of `subject` ("key:12", "user:7") under `policy` at
	 * `now_ms`, creating a full bucket for a subject not seen (or forgotten). Fills `out`.
	 * Returns 0, or -1 when the state cannot be reached (the caller lets the request pass).
	 * Called from many threads at once.
	 */
	int (*take)(struct ratelimit_buckets *buckets, const char *subject,
		    const struct ratelimit_policy *policy, int64_t now_ms,
		    struct ratelimit_decision *out);
	/* The number of buckets held (for tests and /metrics); -1 when not known. */
	long (*count)(struct ratelimit_buckets *buckets);
	void (*free)(struct ratelimit_buckets *buckets);
};

/*
 * This process's buckets, at most `max_buckets` of them: a subject's bucket is forgotten
 * once it is full again (idle), and when all are busy the least recently used goes.
 */
struct ratelimit_buckets *ratelimit_memory_buckets_new(size_t max_buckets);

/*
 * Installs the buckets crmd uses (takes ownership; frees the earlier ones). Without a
 * call, the first check makes in-memory ones. Call before serving.
 */
void ratelimit_set_buckets(struct ratelimit_buckets *buckets);
/* Frees the installed buckets (crmd's shut-down). */
void ratelimit_shutdown(void);
/* Sets crmd's defaults (--rate-limit, --rate-burst); values below 1 keep the built-in. */
void ratelimit_set_defaults(int per_minute, int burst);

/*
 * The policy of a caller with role `role` using API key `key_id` (0: a session). Returns
 * a db_status; on failure `policy` holds the defaults.
 */
int ratelimit_policy_for(struct db *db, const char *role, int64_t key_id,
			 struct ratelimit_policy *policy);

/* The buckets the installed state holds (/metrics); 0 before the first check, -1 unknown. */
long ratelimit_bucket_count(void);

/* Takes a token for `subject` from the installed buckets at `now_ms`. Returns 0 or -1. */
int ratelimit_take(const char *subject, const struct ratelimit_policy *policy, int64_t now_ms,
		   struct ratelimit_decision *out);

/* Milliseconds of the monotonic clock: the `now_ms` of crmd's checks. */
int64_t ratelimit_now_ms(void);

/*
 * Parses a rate "N/min", "N/s" (or "N/sec"), "N/h" (or "N/hour") or a bare "N" (per minute)
 * into tokens per minute, 1..RATELIMIT_MAX (per second: N*60; per hour: N/60 rounded up).
 * Returns 0, or -1 when `text` is not one.
 */
int ratelimit_parse_rate(const char *text, int *per_minute);

/* ---- stored limits (SQL in src/store/ratelimit_store.c) ------------------------------ */

/* A stored limit; 0 in a field means "inherited". */
struct ratelimit_limit {
	int per_minute;
	int burst;
};

/* The limits of role `role` and of key `key_id` (0: none; its limit is then 0/0). */
int ratelimit_store_limits(struct db *db, const char *role, int64_t key_id,
			   struct ratelimit_limit *role_limit, struct ratelimit_limit *key_limit);
/* Sets a role's limit. Returns DB_OK, DB_NOT_FOUND or another db_status. */
int ratelimit_store_role_set(struct db *db, const char *role, const struct ratelimit_limit *limit,
			     struct ratelimit_limit *old);
/* Sets a key's limit. Returns DB_OK, DB_NOT_FOUND or another db_status. */
int ratelimit_store_key_set(struct db *db, int64_t key_id, const struct ratelimit_limit *limit,
			    struct ratelimit_limit *old);

/* ---- the audited writes (src/core/ratelimit.c): one transaction each ----------------- */

/*
 * Sets the limit of role `role` (0 fields: inherit). Returns DB_OK, DB_NOT_FOUND or another
 * db_status; audited (entity "roles", action "limit") as done by `actor_user_id`/`actor`.
 */
int ratelimit_role_limit(struct db *db, const char *role, const struct ratelimit_limit *limit,
			 int64_t actor_user_id, const char *actor);
/* The same for API key `key_id` (entity "api_keys"). */
int ratelimit_key_limit(struct db *db, int64_t key_id, const struct ratelimit_limit *limit,
			int64_t actor_user_id, const char *actor);

#endif
