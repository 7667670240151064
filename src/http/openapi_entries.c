/*
 * openapi_entries.c - the OpenAPI operations of the routes that are not generic resource
 * routes: a hand-written table (openapi_internal.h), turned into operation objects.
 */
#define _POSIX_C_SOURCE 200809L
#include "http/openapi_internal.h"

#include <stdio.h>
#include <string.h>

#include "crm/reply.h"
#include "crm/banned.h"

/*
 * One route that is not a generic resource route. To document a new route, add an entry:
 *
 *	{ .method = "GET", .pattern = "/api/v1/things/{id}/parts", .tag = "things",
 *	  .operation_id = "listThingParts", .summary = "The parts of a thing",
 *	  .params = (const struct openapi_param[]){ OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM, { NULL } },
 *	  .success = 200, .response = "{`type`:`object`, ...}", .errors = "400 404" },
 *
 * Every header the success answer carries is named in .headers (tests/api/
 * test_openapi_headers.py sends the requests and compares). Path parameters ({id}) are
 * declared by themselves (an integer for "id" and "*_id",
 * else a string) unless .params lists them with .in = "path". The error responses that
 * follow from the route need not be listed: 401 and 503 for every authenticated route,
 * 403 for its unsafe methods (CSRF token, read-only key), and 400, 413, 415 and 422 when
 * there is a request body.
 */
struct openapi_entry {
	const char *method, *pattern;
	const char *tag;
	const char *operation_id;
	const char *summary;
	const char *description;
	const struct openapi_param *params; /* {NULL}-terminated, or NULL */
	const char *request;                /* schema of the JSON body, or NULL for none */
	const char *request_type;           /* its media type; NULL for application/json */
	int success;                        /* 200, 201 or 204 */
	const char *response;               /* schema of the success body; NULL for none */
	const char *response_type;          /* its media type; NULL for application/json */
	const char *errors;                 /* further error statuses, "404 409" */
	const char *headers;                /* headers of the success answer ("ETag Location"),
					       named as in components.headers */
	bool conditional;                   /* If-None-Match: 304 when it names the ETag */
};

#define HORIZON_PARAM { "horizon_days", NULL, "{`type`:`integer`,`minimum`:1,`maximum`:3650}", \
			"Days the prediction looks ahead (default: the configured horizon, 365).", \
			false }
#define AS_OF_PARAM { "as_of", NULL, "{`type`:`string`,`examples`:[`2026-06-30`]}", \
		      "Compute as of this date or RFC 3339 time, ignoring later history.", false }

/* The words of every costly route (ROUTE_COSTLY, request_cost.h). */
#define COSTLY_REQUEST                                                                   \
	" A costly request: at most --costly-per-user (default 2) run at once per user; "  \
	"the next answers 429 with Retry-After. A statement that runs past the "           \
	"request's budget of database work is stopped: 503 with Retry-After, and a write " \
	"it was part of is rolled back."

static const struct openapi_entry openapi_entries[] = {
	/* ---- authentication */
	{ .method = "POST", .pattern = "/api/v1/auth/login", .tag = "auth",
	  .operation_id = "login", .summary = "Log in with e-mail and password",
	  .description = "Starts a browser session: sets the HttpOnly session cookie (crm_session; "
			 "__Host-crm_session when crmd serves HTTPS) and "
			 "answers the CSRF token that unsafe requests of this session must send "
			 "in X-CSRF-Token. A wrong e-mail and a wrong password get the same 401. "
			 "After 10 failures for one account within 15 minutes (or 50 from one "
			 "address) further attempts get 429 with Retry-After.",
	  .request = "LoginRequest", .success = 200,
	  .response = "{`oneOf`:[{`$ref`:`#/components/schemas/LoginAnswer`},"
		      "{`$ref`:`#/components/schemas/LoginChallenge`}]}",
	  .errors = "401 429 503",
	  .headers = "Set-Cookie" },
	{ .method = "POST", .pattern = "/api/v1/auth/login/second-factor", .tag = "auth",
	  .operation_id = "loginSecondFactor", .summary = "The second step of a login: a code",
	  .description = "When the account has two-factor sign-in, a right password answers a "
			 "LoginChallenge (second_factor totp) and no session. This call sends the "
			 "challenge with the current 6-digit code of the authenticator app (RFC "
			 "6238, 30-second steps, one step either side accepted) or one of the "
			 "recovery codes, and answers like a login: the session cookie, the user "
			 "and the CSRF token (plus recovery_codes_left after a recovery code). Each "
			 "code works once; a challenge lives 5 minutes and allows 5 attempts. Wrong "
			 "codes are throttled with the login's own limits (429 with Retry-After).",
	  .request = "SecondFactorRequest", .success = 200, .response = "LoginAnswer",
	  .errors = "401 409 429 503", .headers = "Set-Cookie" },
	{ .method = "POST", .pattern = "/api/v1/auth/login/enrol", .tag = "auth",
	  .operation_id = "loginEnrol", .summary = "Enrol in two-factor sign-in during a login",
	  .description = "When the user's role requires two-factor sign-in and the user has none, "
			 "a right password answers a LoginChallenge with second_factor enrol. This "
			 "call starts the enrolment with that challenge: a new secret, its "
			 "otpauth:// URI and the URI as a QR code (SVG). POST "
			 "/api/v1/auth/login/confirm with a current code completes it.",
	  .request = "ChallengeRequest", .success = 200, .response = "TwoFactorEnrolment",
	  .errors = "401 409 503" },
	{ .method = "POST", .pattern = "/api/v1/auth/login/confirm", .tag = "auth",
	  .operation_id = "loginConfirmEnrolment",
	  .summary = "Complete the enrolment of a login and open the session",
	  .description = "Confirms the enrolment started with POST /api/v1/auth/login/enrol by a "
			 "current code: two-factor sign-in is on, the session opens (cookie, user, "
			 "CSRF token) and the answer carries the ten recovery codes, shown this "
			 "once. A wrong code is a 422 on field code and counts toward the login "
			 "throttle.",
	  .request = "ChallengeCodeRequest", .success = 200, .response = "LoginAnswer",
	  .errors = "401 409 429 503", .headers = "Set-Cookie" },
	{ .method = "GET", .pattern = "/api/v1/auth/2fa", .tag = "auth",
	  .operation_id = "getTwoFactor", .summary = "The caller's two-factor sign-in",
	  .description = "Whether two-factor sign-in is on, an enrolment waits for its first "
			 "code, the caller's role requires it, and how many recovery codes are "
			 "left. The secret is never answered after enrolment.",
	  .success = 200, .response = "TwoFactorStatus" },
	{ .method = "POST", .pattern = "/api/v1/auth/2fa/enrol", .tag = "auth",
	  .operation_id = "enrolTwoFactor", .summary = "Start two-factor sign-in",
	  .description = "For a browser session (an API key gets 403): a new TOTP secret, its "
			 "otpauth:// URI and a QR code of the URI (SVG) for the authenticator app. "
			 "Repeating it replaces a secret not yet confirmed; 409 when two-factor "
			 "sign-in is on already (an administrator resets it with crmctl user 2fa "
			 "reset).",
	  .success = 200, .response = "TwoFactorEnrolment", .errors = "409" },
	{ .method = "POST", .pattern = "/api/v1/auth/2fa/confirm", .tag = "auth",
	  .operation_id = "confirmTwoFactor", .summary = "Turn two-factor sign-in on",
	  .description = "Confirms the enrolment with a current code of the authenticator app "
			 "(422 on field code when wrong) and answers ten one-time recovery codes, "
			 "shown this once and stored only as hashes. 409 without a started "
			 "enrolment or when it is on already.",
	  .request = "{`type`:`object`,`required`:[`code`],`additionalProperties`:false,"
		     "`properties`:{`code`:{`type`:`string`,`examples`:[`123456`]}}}",
	  .success = 200, .response = "RecoveryCodes", .errors = "409" },
	{ .method = "POST", .pattern = "/api/v1/auth/logout", .tag = "auth",
	  .operation_id = "logout", .summary = "Log out",
	  .description = "Revokes the session on the server and clears the cookie.",
	  .success = 204,
	  .headers = "Set-Cookie" },
	{ .method = "GET", .pattern = "/api/v1/auth/me", .tag = "auth", .operation_id = "getMe",
	  .summary = "The caller",
	  .description = "The authenticated user; for a cookie session also its CSRF token (so "
			 "that a reloaded page can go on), for an API key whether it is read-only; "
			 "the caller's permissions (scope per resource and action).",
	  .success = 200, .response = "Me" },
	{ .method = "GET", .pattern = "/api/v1/auth/session", .tag = "auth",
	  .operation_id = "getSession", .summary = "Whether the browser is logged in",
	  .description = "Public: the answer of /auth/me for a valid session (or key), else "
			 "{\"user\":null} and a session cookie that no longer works is cleared. "
			 "A page asks this on load, without an error when nobody is logged in.",
	  .success = 200, .response = "Session",
	  .headers = "Set-Cookie" },

	/* ---- users (administrators) */
	{ .method = "GET", .pattern = "/api/v1/users", .tag = "users", .operation_id = "listUsers",
	  .summary = "List users",
	  .description = "Administrators only (others get 403). Keyset-paged like every list.",
	  .params = (const struct openapi_param[]){
		  OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM,
		  { "sort", NULL,
		    "{`type`:`string`,`enum`:[`id`,`-id`,`email`,`-email`,`name`,`-name`,"
		    "`created_at`,`-created_at`],`default`:`id`}",
		    "Order; - for descending.", false },
		  { "role", NULL, "{`type`:`string`}", "Only users with this role.", false },
		  { "team", NULL, "{`type`:`string`}", "Only users of this team.", false },
		  { "disabled", NULL, "{`type`:`boolean`}", "Only disabled (true) or enabled users.",
		    false },
		  { NULL } },
	  .success = 200, .response = "UserList", .errors = "400 403" },
	{ .method = "POST", .pattern = "/api/v1/users", .tag = "users",
	  .operation_id = "createUser", .summary = "Create a user",
	  .description = "Administrators only. The password is write-only: it is never "
			 "answered. Audited.",
	  .request = "UserInput", .success = 201, .response = "User", .errors = "409",
	  .headers = "ETag Location" },
	{ .method = "GET", .pattern = "/api/v1/users/{id}", .tag = "users",
	  .operation_id = "getUser", .summary = "One user",
	  .description = "Administrators only. Sends ETag: \"<version>\".",
	  .success = 200, .response = "User", .errors = "403 404",
	  .headers = "ETag", .conditional = true },
	{ .method = "PATCH", .pattern = "/api/v1/users/{id}", .tag = "users",
	  .operation_id = "updateUser", .summary = "Change a user",
	  .description = "A JSON merge patch. Disabling a user ends their sessions and keys at "
			 "once; a new password ends their sessions. Administrators cannot disable "
			 "themselves or change their own role. Audited.",
	  .params = (const struct openapi_param[]){ OPENAPI_IF_MATCH_PARAM, { NULL } },
	  .request = "UserPatch", .success = 200, .response = "User",
	  .errors = "404 409 412",
	  .headers = "ETag" },
	{ .method = "GET", .pattern = "/api/v1/users/directory", .tag = "users",
	  .operation_id = "getUserDirectory", .summary = "Every user's name and team",
	  .description = "For every authenticated caller (not only administrators): each user's "
			 "id, name, team and whether they are disabled, by name, in one answer, "
			 "so that owners and assignees can be shown by name. No e-mails.",
	  .success = 200, .response = "UserDirectory", .errors = "400" },

	/* ---- API keys (own keys; administrators: everybody's) */
	{ .method = "GET", .pattern = "/api/v1/api-keys", .tag = "auth",
	  .operation_id = "listApiKeys", .summary = "List API keys",
	  .description = "The caller's own keys; administrators see every key. Never the key "
			 "text or its hash. Keyset-paged by id.",
	  .params = (const struct openapi_param[]){
		  OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM,
		  { "user_id", NULL, "{`anyOf`:[{`type`:`integer`,`minimum`:1},{`const`:`me`}]}",
		    "Only this user's keys (another user's: administrators only).", false },
		  { NULL } },
	  .success = 200, .response = "ApiKeyList", .errors = "400 403" },
	{ .method = "POST", .pattern = "/api/v1/api-keys", .tag = "auth",
	  .operation_id = "createApiKey", .summary = "Create an API key",
	  .description = "Answers the key text once, in `key` (the server keeps only a hash); "
			 "the answer is marked Cache-Control: no-store. Needs a browser session "
			 "(a key cannot create keys). user_id other than the caller, and the "
			 "key's own rate limit (rate_per_minute, rate_burst): administrators "
			 "only. Audited.",
	  .request = "ApiKeyInput", .success = 201, .response = "ApiKeyCreated",
	  .headers = "Location Cache-Control" },
	{ .method = "GET", .pattern = "/api/v1/api-keys/{id}", .tag = "auth",
	  .operation_id = "getApiKey", .summary = "One API key",
	  .description = "The caller's own key, or any key for an administrator; else 404.",
	  .success = 200, .response = "ApiKey", .errors = "404" },
	{ .method = "DELETE", .pattern = "/api/v1/api-keys/{id}", .tag = "auth",
	  .operation_id = "revokeApiKey", .summary = "Revoke an API key",
	  .description = "The key stops working at once, also for a running request's next "
			 "one. Own keys, or any for an administrator (else 404); 409 when it is "
			 "revoked already. Audited.",
	  .success = 204, .errors = "404 409" },

	/* ---- operational routes beyond the generic resources */
	{ .method = "GET", .pattern = "/api/v1/contacts/{id}/timeline", .tag = "contacts",
	  .operation_id = "getContactTimeline", .summary = "A contact's history, newest first",
	  .description = "The contact's interactions, opportunities, their stage changes, "
			 "purchases and tasks, merged and ordered by time (newest first), "
			 "keyset-paged without duplicates or gaps. Items of resources the caller "
			 "may not read are left out; 404 when the contact is not readable.",
	  .params = (const struct openapi_param[]){ OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "TimelinePage", .errors = "400 404" },
	{ .method = "GET", .pattern = "/api/v1/opportunities/{id}/stages", .tag = "opportunities",
	  .operation_id = "listOpportunityStages", .summary = "An opportunity's stage history",
	  .description = "Every stage change (the first one has from_stage null), oldest first.",
	  .params = (const struct openapi_param[]){ OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "StageChangeList", .errors = "400 404" },
	{ .method = "GET", .pattern = "/api/v1/pipeline", .tag = "opportunities",
	  .operation_id = "getPipeline", .summary = "The sales pipeline per stage",
	  .description = "All six stages in pipeline order with the count of the readable "
			 "opportunities, their total amount and the probability-weighted total "
			 "(sum of amount_cents x probability / 100). Amounts are per currency in "
			 "by_currency; the flat amount_cents are those of `currency` (the one "
			 "asked for, or the only one present), and 0 when there are several.",
	  .params = (const struct openapi_param[]){
		  { "owner_id", NULL,
		    "{`anyOf`:[{`type`:`integer`,`minimum`:1},{`const`:`me`}]}",
		    "Only opportunities of this owner (me: the caller).", false },
		  { "expected_close_from", NULL, "{`type`:`string`,`format`:`date`}",
		    "Only opportunities expected to close on or after this day.", false },
		  { "expected_close_to", NULL, "{`type`:`string`,`format`:`date`}",
		    "Only opportunities expected to close on or before this day.", false },
		  { "currency", NULL, "{`type`:`string`,`pattern`:`^[A-Z]{3}$`}",
		    "The currency of the flat amounts.", false },
		  { NULL } },
	  .success = 200, .response = "Pipeline", .errors = "400 403" },
	{ .method = "POST", .pattern = "/api/v1/segments/preview", .tag = "segments",
	  .operation_id = "previewSegment", .summary = "Count and sample the contacts of a rule",
	  .description = "Evaluates a rule now over the contacts the caller may read, without "
			 "storing anything. A bad rule is a 422 naming the faulty node "
			 "(rule.all[2].op); so is a rule that the cost model estimates to take "
			 "longer than the request's budget (--request-budget) over the stored "
			 "contacts, naming its costliest part." COSTLY_REQUEST,
	  .request = "SegmentPreviewRequest", .success = 200, .response = "SegmentPreview",
	  .errors = "403 429" },
	{ .method = "GET", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "listSegmentMembers", .summary = "The contacts of a segment",
	  .description = "Dynamic segments are evaluated now; static ones list their stored "
			 "members. Only contacts the caller may read. Keyset-paged by id. A "
			 "dynamic rule the cost model estimates over the budget answers 422 "
			 "naming its costliest part." COSTLY_REQUEST,
	  .params = (const struct openapi_param[]){ OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "ContactList", .errors = "400 404 422 429" },
	{ .method = "POST", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "addSegmentMembers", .summary = "Add contacts to a static segment",
	  .description = "Each id must name a contact the caller may read (else 422 naming "
			 "contact_ids[i]). A dynamic segment answers 409. The segment's version "
			 "goes up when its members change; audited.",
	  .params = (const struct openapi_param[]){ OPENAPI_IF_MATCH_PARAM, { NULL } },
	  .request = "SegmentMemberIds", .success = 200,
	  .response = "{`type`:`object`,`required`:[`added`],`properties`:{"
		      "`added`:{`type`:`integer`,`description`:`contacts that were not members`}}}",
	  .errors = "404 409 412",
	  .headers = "ETag" },
	{ .method = "DELETE", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "removeSegmentMembers", .summary = "Remove contacts from a static segment",
	  .description = "As adding: a dynamic segment answers 409; audited.",
	  .params = (const struct openapi_param[]){ OPENAPI_IF_MATCH_PARAM, { NULL } },
	  .request = "SegmentMemberIds", .success = 200,
	  .response = "{`type`:`object`,`required`:[`removed`],`properties`:{"
		      "`removed`:{`type`:`integer`,`description`:`contacts that were members`}}}",
	  .errors = "404 409 412",
	  .headers = "ETag" },
	{ .method = "GET", .pattern = "/api/v1/segments/{id}/export", .tag = "segments",
	  .operation_id = "exportSegment", .summary = "A segment's members as CSV",
	  .description = "The members the caller may read, as a CSV attachment for "
			 "spreadsheets: each contact's fields with its company's and owner's "
			 "names beside their ids, its tier and predicted LTV. Cells that a "
			 "spreadsheet would take for a formula (= + - @, tab, CR) start with a "
			 "single quote; a phone number such as +49 30 5 is written as the text "
			 "formula =\"+49 30 5\" (shown without a quote, never computed). Runs "
			 "with the bulk budget (--bulk-budget); a dynamic rule estimated over it "
			 "answers 422." COSTLY_REQUEST,
	  .success = 200, .response = "{`type`:`string`}", .response_type = "text/csv",
	  .errors = "404 422 429",
	  .headers = "Content-Disposition" },

	/* ---- analytics (computed on request) */
	{ .method = "GET", .pattern = "/api/v1/contacts/{id}/analytics", .tag = "analytics",
	  .operation_id = "getContactAnalytics", .summary = "A contact's value and loyalty",
	  .description = "Historical and predicted lifetime value (BG/NBD and Gamma-Gamma), "
			 "RFM, P(alive), churn risk, tier, value class, loyalty and relationship "
			 "stage, consistent with the data at this moment. Needs the read scope of "
			 "analytics and of contacts; 404 for a contact outside it.",
	  .params = (const struct openapi_param[]){ HORIZON_PARAM, AS_OF_PARAM, { NULL } },
	  .success = 200, .response = "ContactAnalytics", .errors = "400 404" },
	{ .method = "GET", .pattern = "/api/v1/analytics/ltv", .tag = "analytics",
	  .operation_id = "getLtvRanking", .summary = "Contacts ranked by predicted LTV",
	  .description = "The readable contacts with the highest predicted lifetime value, with "
			 "the fitted model's parameters.",
	  .params = (const struct openapi_param[]){
		  HORIZON_PARAM,
		  { "limit", NULL, "{`type`:`integer`,`minimum`:1,`maximum`:500,`default`:100}",
		    "Contacts in the ranking.", false },
		  AS_OF_PARAM, { NULL } },
	  .success = 200, .response = "LtvRanking", .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/analytics/tiers", .tag = "analytics",
	  .operation_id = "getTiers", .summary = "The value tiers",
	  .description = "Each tier's name, threshold, member count and revenue share, over the "
			 "contacts the caller may read.",
	  .params = (const struct openapi_param[]){ AS_OF_PARAM, { NULL } },
	  .success = 200, .response = "Tiers", .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/analytics/summary", .tag = "analytics",
	  .operation_id = "getAnalyticsSummary", .summary = "The dashboard's figures",
	  .description = "Over the contacts the caller may read: how many there are, how many "
			 "bought, the members of each value tier, loyalty, relationship stage "
			 "and value class, and the revenue of this period and the last one.",
	  .params = (const struct openapi_param[]){
		  { "period", NULL,
		    "{`type`:`string`,`enum`:[`month`,`quarter`,`year`],`default`:`month`}",
		    "The period of this_period and last_period.", false },
		  AS_OF_PARAM, { NULL } },
	  .success = 200, .response = "AnalyticsSummary", .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/analytics/revenue", .tag = "analytics",
	  .operation_id = "getRevenueOverTime", .summary = "Revenue per day, week, month, ...",
	  .description = "The purchases of the contacts the caller may read (erased contacts' "
			 "anonymous purchases included), summed per calendar bucket (UTC; weeks "
			 "from Monday) from `from` to `to`, both included. Every bucket is listed, "
			 "with zeros when empty; the first and last are clipped to the range. "
			 "Without `currency` amounts are summed as stored, in the house currency "
			 "like every analytics figure; with it, only purchases in that currency "
			 "count. At most 1000 buckets; a bad value is a 422 naming the parameter.",
	  .params = (const struct openapi_param[]){
		  { "by", NULL,
		    "{`type`:`string`,`enum`:[`day`,`week`,`month`,`quarter`,`year`],"
		    "`default`:`month`}",
		    "The size of a bucket.", false },
		  { "from", NULL, "{`type`:`string`,`format`:`date`}",
		    "The first day counted (default: the start of the twelve calendar months "
		    "up to `to`).", false },
		  { "to", NULL, "{`type`:`string`,`format`:`date`}",
		    "The last day counted (default: as_of, or today; not after as_of).", false },
		  { "currency", NULL, "{`type`:`string`,`pattern`:`^[A-Z]{3}$`}",
		    "Only purchases in this currency.", false },
		  AS_OF_PARAM, { NULL } },
	  .success = 200, .response = "RevenueOverTime", .errors = "400 403 422" },
	{ .method = "POST", .pattern = "/api/v1/analytics/refit", .tag = "analytics",
	  .operation_id = "refitModels", .summary = "Fit the LTV models again now",
	  .description = "Needs the analytics write scope all (administrators). The body is "
			 "empty or {}. Runs with the bulk budget (--bulk-budget)." COSTLY_REQUEST,
	  .success = 200,
	  .response = "{`type`:`object`,`required`:[`model`],`properties`:{"
		      "`model`:{`$ref`:`#/components/schemas/AnalyticsModel`}}}",
	  .errors = "400 415 422 429" },

	/* ---- audit log, GDPR, import (audit_api.h, gdpr.h, contacts_import.h) */
	{ .method = "GET", .pattern = "/api/v1/audit", .tag = "audit",
	  .operation_id = "listAuditEntries", .summary = "Who changed what, when",
	  .description = "Administrators only (the audit read grant with scope all; others get "
			 "403). Every create, change and delete of every resource and every "
			 "user, role and key change, through the API or crmctl (user_id null, "
			 "actor crmctl), with the record before and after. Newest first, "
			 "keyset-paged.",
	  .params = (const struct openapi_param[]){
		  { "entity", NULL, "{`type`:`string`,`examples`:[`contacts`,`users`,`api_keys`]}",
		    "Only entries about this resource or table.", false },
		  { "entity_id", NULL, "{`type`:`integer`,`minimum`:1}",
		    "Only entries about this record.", false },
		  { "user_id", NULL, "{`anyOf`:[{`type`:`integer`,`minimum`:1},{`const`:`me`}]}",
		    "Only entries made by this user (me: the caller).", false },
		  { "action", NULL,
		    "{`type`:`string`,`examples`:[`create`,`update`,`delete`,`erase`,`revoke`]}",
		    "Only entries of this action.", false },
		  { "since", NULL, OPENAPI_TIMESTAMP_SCHEMA, "Only entries at or after this time.", false },
		  { "until", NULL, OPENAPI_TIMESTAMP_SCHEMA, "Only entries before this time.", false },
		  OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "AuditPage", .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/contacts/{id}/export", .tag = "contacts",
	  .operation_id = "exportContactData", .summary = "Everything held about a person (GDPR)",
	  .description = "One JSON document: the contact, its company, interactions, tasks, "
			 "opportunities with their stage history, purchases, static segment "
			 "memberships and the audit entries about them. Needs the right to "
			 "delete the contact (administrators; managers for their team): 403 "
			 "otherwise, 404 when it is not readable.",
	  .success = 200, .response = "GdprExport", .errors = "403 404",
	  .headers = "Content-Disposition Cache-Control" },
	{ .method = "POST", .pattern = "/api/v1/contacts/{id}/erase", .tag = "contacts",
	  .operation_id = "eraseContactData", .summary = "Erase a person's data (GDPR)",
	  .description = "Removes the personal data everywhere: the contact's names, addresses, "
			 "phone, title, company, tags, custom fields and external_id, the "
			 "subjects and bodies of its interactions, the titles of its tasks, the "
			 "names of its opportunities, its segment memberships, and the same "
			 "values in the audit log; keeps consent, source and the anonymous "
			 "revenue (purchases stay with the anonymous contact, so totals and "
			 "analytics do not change). Erased contacts leave lists and searches. "
			 "Audited as action erase. Needs the right to delete the contact. No body "
			 "(or {}).",
	  .params = (const struct openapi_param[]){ OPENAPI_IF_MATCH_PARAM, { NULL } },
	  .success = 204, .errors = "400 403 404 412 415 422" },
	{ .method = "POST", .pattern = "/api/v1/contacts/import", .tag = "contacts",
	  .operation_id = "importContacts", .summary = "Import contacts from CSV",
	  .description = "RFC 4180 CSV (at most 1 MiB) with a header row naming contact fields "
			 "(or aliases such as First Name, E-mail, Company; tags separated by ;). "
			 "All or nothing: every row is checked with the contact rules first; one "
			 "bad row answers 422 with each error's line and field, and nothing is "
			 "imported. dedupe=email updates the contact with that address instead "
			 "of creating another; dry_run=true reports what would happen and writes "
			 "nothing. Each created or updated contact is audited. Runs with the bulk "
			 "budget (--bulk-budget)." COSTLY_REQUEST,
	  .params = (const struct openapi_param[]){
		  { "dedupe", NULL, "{`type`:`string`,`enum`:[`email`,`none`],`default`:`none`}",
		    "Update the contact with the same email instead of creating one.", false },
		  { "dry_run", NULL, "{`type`:`boolean`,`default`:false}",
		    "Check and report only; write nothing.", false },
		  { "map", NULL, "{`type`:`array`,`items`:{`type`:`string`,`examples`:["
		    "`E-Mail Address:email`,`Firm:company_name`]}}",
		    "Repeatable HEADER:FIELD: read that column as FIELD (a contact field, an "
		    "alias or custom.KEY). An unknown FIELD, or a header mapped twice, is 400; a "
		    "header the file does not have is a 422 row error at line 1.", false },
		  { "ignore", NULL, "{`type`:`array`,`items`:{`type`:`string`}}",
		    "Repeatable: a column to skip. Columns neither known, mapped nor ignored "
		    "are errors (422, line 1).", false },
		  { NULL } },
	  .request = "{`type`:`string`,`description`:`CSV with a header row`}",
	  .request_type = "text/csv", .success = 200, .response = "ImportReport",
	  .errors = "429" },

	/* ---- merging duplicate contacts (contacts_merge.h) */
	{ .method = "POST", .pattern = "/api/v1/contacts/{id}/merge", .tag = "contacts",
	  .operation_id = "mergeContacts", .summary = "Merge duplicate contacts into this one",
	  .description = "In one transaction: the interactions, opportunities, purchases, tasks "
			 "and static segment memberships of the `from` contacts move to this "
			 "(kept) contact; its empty fields take the value of the first `from` "
			 "contact that has one, tags are united and custom fields merged key by "
			 "key (the kept contact's win); the `from` contacts are deleted. One audit "
			 "entry (action merge) with the ids and what moved. Needs write on the "
			 "kept contact and delete on the merged ones; 422 naming from[i] for an "
			 "unknown or unreadable id, the kept contact itself, a repeated or an "
			 "erased contact.",
	  .params = (const struct openapi_param[]){ OPENAPI_IF_MATCH_PARAM, { NULL } },
	  .request = "{`type`:`object`,`required`:[`from`],`additionalProperties`:false,"
		     "`properties`:{`from`:{`type`:`array`,`minItems`:1,`maxItems`:50,"
		     "`items`:{`type`:`integer`,`minimum`:1},"
		     "`description`:`the contacts to merge into this one, in order of precedence`}}}",
	  .success = 200, .response = "Contact", .errors = "404 412",
	  .headers = "ETag" },
	{ .method = "GET", .pattern = "/api/v1/contacts/duplicates", .tag = "contacts",
	  .operation_id = "listContactDuplicates", .summary = "Groups of likely duplicate contacts",
	  .description = "Among the contacts the caller may read: the same e-mail address "
			 "(ignoring case); the same phone number (digits only, compared on the "
			 "last 9, so country codes and a trunk 0 do not matter); at the same "
			 "company, the same first and last name or one edit apart (both names at "
			 "least 5 characters). Ordered by reason (email, phone, name), then by "
			 "the smallest contact id; keyset-paged.",
	  .params = (const struct openapi_param[]){
		  OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM,
		  { "reason", NULL, "{`type`:`string`,`enum`:[`email`,`phone`,`name`]}",
		    "Only groups of this reason.", false },
		  { NULL } },
	  .success = 200, .response = "ContactDuplicates", .errors = "400 403" },

	/* ---- webhooks (webhooks.h, webhook_delivery.h) */
	{ .method = "GET", .pattern = "/api/v1/webhooks/events", .tag = "webhooks",
	  .operation_id = "listWebhookEvents", .summary = "The events webhooks can subscribe to",
	  .description = "Every event name; a webhook's events may also name \"<entity>.*\" "
			 "(contact.*) or \"*\" for all. Needs read on webhooks (administrators).",
	  .success = 200,
	  .response = "{`type`:`object`,`required`:[`data`],`properties`:{`data`:{`type`:`array`,"
		      "`items`:{`type`:`string`,`examples`:[`contact.created`]}}}}",
	  .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/webhooks/{id}/deliveries", .tag = "webhooks",
	  .operation_id = "listWebhookDeliveries", .summary = "A webhook's delivery log",
	  .description = "The deliveries to this endpoint, newest first, each with its attempts "
			 "(time, HTTP status, error, duration). Deliveries are POSTs of "
			 "{id, event, occurred_at, data, previous} signed with X-CRM-Signature: "
			 "t=<unix time>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" with the secret>, "
			 "retried with growing delays for 24 hours; finished ones are kept 30 days.",
	  .params = (const struct openapi_param[]){
		  OPENAPI_LIMIT_PARAM, OPENAPI_CURSOR_PARAM,
		  { "status", NULL,
		    "{`type`:`string`,`enum`:[`pending`,`sending`,`delivered`,`failed`]}",
		    "Only deliveries in this state.", false },
		  { "event", NULL, "{`type`:`string`,`examples`:[`contact.created`]}",
		    "Only deliveries of this event.", false },
		  { NULL } },
	  .success = 200, .response = "WebhookDeliveryList", .errors = "400 404" },
	{ .method = "GET", .pattern = "/api/v1/webhooks/{id}/deliveries/{delivery_id}",
	  .tag = "webhooks", .operation_id = "getWebhookDelivery",
	  .summary = "One delivery with its payload and attempts",
	  .description = "The delivery, the body it sends (payload) and every attempt (time, "
			 "HTTP status, error, duration). 404 when it is not a delivery of this "
			 "webhook.",
	  .success = 200, .response = "WebhookDelivery", .errors = "400 404" },
	{ .method = "POST", .pattern = "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver",
	  .tag = "webhooks", .operation_id = "redeliverWebhookDelivery",
	  .summary = "Send a delivery again now",
	  .description = "The delivery becomes pending, due now, with a new 24-hour retry window "
			 "(the same X-CRM-Delivery id, so receivers can tell). 409 while an attempt "
			 "is in flight. Needs write on webhooks. The body is empty or {}. Audited.",
	  .success = 200, .response = "WebhookDelivery", .errors = "400 404 409 415 422" },

	/* ---- what the API serves (meta.h) */
	{ .method = "GET", .pattern = "/api/v1/meta", .tag = "meta",
	  .operation_id = "getMeta", .summary = "The resources, their fields and the permissions",
	  .description = "Derived from the resource descriptors: per resource its fields (types, "
			 "flags, enum values, lengths, references), list filters, sorts, search "
			 "and event names; the permission vocabulary and the roles. Any "
			 "authenticated caller. Sends an ETag; If-None-Match naming it answers 304.",
	  .success = 200, .response = "Meta" },

	/* ---- this document */
	{ .method = "GET", .pattern = "/api/v1/openapi.json", .tag = "meta",
	  .operation_id = "getOpenApi", .summary = "This document",
	  .description = "The OpenAPI 3.1 description of the API, generated from the routes "
			 "the server serves.",
	  .success = 200, .response = "{`type`:`object`}",
	  .headers = "Cache-Control" },
};

#define ENTRY_COUNT (sizeof(openapi_entries) / sizeof(openapi_entries[0]))

static const struct openapi_entry *entry_find(const struct route *route)
{
	for (size_t i = 0; i < ENTRY_COUNT; i++)
		if (strcmp(openapi_entries[i].method, route->method) == 0 &&
		    strcmp(openapi_entries[i].pattern, route->pattern) == 0)
			return &openapi_entries[i];
	return NULL;
}

json_t *openapi_parameter(const struct openapi_param *param)
{
	const char *in = param->in ? param->in : "query";
	json_t *value = json_pack("{s:s, s:s, s:b, s:o}", "name", param->name, "in", in,
				  "required", param->required || strcmp(in, "path") == 0, "schema",
				  openapi_schema_from_text(param->schema));
	if (param->description)
		json_object_set_new(value, "description", json_string(param->description));
	return value;
}

json_t *openapi_entry_operation(const struct route *route, unsigned *errors, bool *has_body)
{
	const struct openapi_entry *entry = entry_find(route);
	if (!entry)
		return NULL;
	json_t *operation = json_pack("{s:[s], s:s?, s:s?}", "tags",
				      entry->tag ? entry->tag : "other", "operationId",
				      entry->operation_id, "summary", entry->summary);
	if (entry->description)
		json_object_set_new(operation, "description", json_string(entry->description));
	json_t *params = json_array();
	for (const struct openapi_param *param = entry->params; param && param->name; param++)
		json_array_append_new(params, openapi_parameter(param));
	if (entry->conditional)
		json_array_append_new(params, openapi_ref("parameters", "IfNoneMatch"));
	json_object_set_new(operation, "parameters", params);
	*has_body = entry->request != NULL;
	if (entry->request)
		json_object_set_new(operation, "requestBody",
				    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
					      entry->request_type ? entry->request_type
								  : "application/json",
					      "schema", openapi_schema_from_text(entry->request)));
	char status[8];
	snprintf(status, sizeof(status), "%d", entry->success ? entry->success : 200);
	json_t *success = json_pack("{s:s}", "description",
				    http_status_title(entry->success ? entry->success : 200));
	if (entry->response)
		json_object_set_new(success, "content",
				    json_pack("{s:{s:o}}",
					      entry->response_type ? entry->response_type
								   : "application/json",
					      "schema", openapi_schema_from_text(entry->response)));
	if (entry->headers)
		json_object_set_new(success, "headers", openapi_response_headers(entry->headers));
	json_t *responses = json_pack("{s:o}", status, success);
	if (entry->conditional)
		json_object_set_new(responses, "304", openapi_not_modified_response());
	json_object_set_new(operation, "responses", responses);
	openapi_errors_add_text(errors, entry->errors, operation);
	return operation;
}
