/*
 * openapi.c - generates the OpenAPI 3.1 document (openapi.h) from the route table, the
 * generic resource descriptors and the hand-written table below, and serves it.
 *
 * Schemas in the tables are written as JSON with ` in place of " (so that they read well
 * as C strings); a text that does not start with { names a schema of components.schemas
 * ("User" is {"$ref":"#/components/schemas/User"}). The schemas of generic resources are
 * named after the resource's singular: Contact (a record as sent), ContactInput (a create
 * or replace body), ContactPatch (a merge patch) and ContactList (a page of a list).
 *
 * Only the components the document refers to are included, so entries for routes that a
 * build does not have leave no trace.
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/openapi.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crm/app.h"
#include "crm/auth.h"
#include "crm/buf.h"
#include "crm/json.h"
#include "crm/reply.h"
#include "crm/openapi_webhooks.h"
#include "crm/resource.h"
#include "crm/router.h"
#include "crm/users.h"
#include "crm/version.h"
#include "crm/banned.h"

#define API_PREFIX "/api/v1/"
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* ================================================================ the hand-written table */

struct openapi_param {
	const char *name;
	const char *in;          /* "query" when NULL, or "header" or "path" */
	const char *schema;      /* schema text (see the top of the file) */
	const char *description;
	bool required;
};

/*
 * One route that is not a generic resource route. To document a new route, add an entry:
 *
 *	{ .method = "GET", .pattern = "/api/v1/things/{id}/parts", .tag = "things",
 *	  .operation_id = "listThingParts", .summary = "The parts of a thing",
 *	  .params = (const struct openapi_param[]){ LIMIT_PARAM, CURSOR_PARAM, { NULL } },
 *	  .success = 200, .response = "{`type`:`object`, ...}", .errors = "400 404" },
 *
 * Path parameters ({id}) are declared by themselves (an integer for "id" and "*_id",
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
};

#define TIMESTAMP_SCHEMA "{`type`:`string`,`format`:`date-time`}"
#define LIMIT_PARAM { "limit", NULL, "{`type`:`integer`,`minimum`:1,`maximum`:500,`default`:50}", \
		      "Records per page.", false }
#define CURSOR_PARAM { "cursor", NULL, "{`type`:`string`}", \
		       "The next_cursor of the previous page.", false }
#define HORIZON_PARAM { "horizon_days", NULL, "{`type`:`integer`,`minimum`:1,`maximum`:3650}", \
			"Days the prediction looks ahead (default: the configured horizon, 365).", \
			false }
#define AS_OF_PARAM { "as_of", NULL, "{`type`:`string`,`examples`:[`2026-06-30`]}", \
		      "Compute as of this date or RFC 3339 time, ignoring later history.", false }
#define IF_MATCH_PARAM { "If-Match", "header", "{`type`:`string`,`examples`:[`\\\"3\\\"`]}", \
			 "The version the change applies to (\"3\"); 412 when the record has another.", \
			 false }

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
	  .request = "LoginRequest", .success = 200, .response = "LoginAnswer",
	  .errors = "401 429 503" },
	{ .method = "POST", .pattern = "/api/v1/auth/logout", .tag = "auth",
	  .operation_id = "logout", .summary = "Log out",
	  .description = "Revokes the session on the server and clears the cookie.",
	  .success = 204 },
	{ .method = "GET", .pattern = "/api/v1/auth/me", .tag = "auth", .operation_id = "getMe",
	  .summary = "The caller",
	  .description = "The authenticated user; for a cookie session also its CSRF token (so "
			 "that a reloaded page can go on), for an API key whether it is read-only.",
	  .success = 200, .response = "Me" },

	/* ---- users (administrators) */
	{ .method = "GET", .pattern = "/api/v1/users", .tag = "users", .operation_id = "listUsers",
	  .summary = "List users",
	  .description = "Administrators only (others get 403). Keyset-paged like every list.",
	  .params = (const struct openapi_param[]){
		  LIMIT_PARAM, CURSOR_PARAM,
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
	  .request = "UserInput", .success = 201, .response = "User", .errors = "409" },
	{ .method = "GET", .pattern = "/api/v1/users/{id}", .tag = "users",
	  .operation_id = "getUser", .summary = "One user",
	  .description = "Administrators only. Sends ETag: \"<version>\".",
	  .success = 200, .response = "User", .errors = "403 404" },
	{ .method = "PATCH", .pattern = "/api/v1/users/{id}", .tag = "users",
	  .operation_id = "updateUser", .summary = "Change a user",
	  .description = "A JSON merge patch. Disabling a user ends their sessions and keys at "
			 "once; a new password ends their sessions. Administrators cannot disable "
			 "themselves or change their own role. Audited.",
	  .params = (const struct openapi_param[]){ IF_MATCH_PARAM, { NULL } },
	  .request = "UserPatch", .success = 200, .response = "User",
	  .errors = "404 409 412" },
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
		  LIMIT_PARAM, CURSOR_PARAM,
		  { "user_id", NULL, "{`anyOf`:[{`type`:`integer`,`minimum`:1},{`const`:`me`}]}",
		    "Only this user's keys (another user's: administrators only).", false },
		  { NULL } },
	  .success = 200, .response = "ApiKeyList", .errors = "400 403" },
	{ .method = "POST", .pattern = "/api/v1/api-keys", .tag = "auth",
	  .operation_id = "createApiKey", .summary = "Create an API key",
	  .description = "Answers the key text once, in `key` (the server keeps only a hash); "
			 "the answer is marked Cache-Control: no-store. Needs a browser session "
			 "(a key cannot create keys). user_id other than the caller: "
			 "administrators only. Audited.",
	  .request = "ApiKeyInput", .success = 201, .response = "ApiKeyCreated" },
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
	  .params = (const struct openapi_param[]){ LIMIT_PARAM, CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "TimelinePage", .errors = "400 404" },
	{ .method = "GET", .pattern = "/api/v1/opportunities/{id}/stages", .tag = "opportunities",
	  .operation_id = "listOpportunityStages", .summary = "An opportunity's stage history",
	  .description = "Every stage change (the first one has from_stage null), oldest first.",
	  .params = (const struct openapi_param[]){ LIMIT_PARAM, CURSOR_PARAM, { NULL } },
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
			 "(rule.all[2].op).",
	  .request = "SegmentPreviewRequest", .success = 200, .response = "SegmentPreview",
	  .errors = "403" },
	{ .method = "GET", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "listSegmentMembers", .summary = "The contacts of a segment",
	  .description = "Dynamic segments are evaluated now; static ones list their stored "
			 "members. Only contacts the caller may read. Keyset-paged by id.",
	  .params = (const struct openapi_param[]){ LIMIT_PARAM, CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "ContactList", .errors = "400 404" },
	{ .method = "POST", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "addSegmentMembers", .summary = "Add contacts to a static segment",
	  .description = "Each id must name a contact the caller may read (else 422 naming "
			 "contact_ids[i]). A dynamic segment answers 409. The segment's version "
			 "goes up when its members change; audited.",
	  .params = (const struct openapi_param[]){ IF_MATCH_PARAM, { NULL } },
	  .request = "SegmentMemberIds", .success = 200,
	  .response = "{`type`:`object`,`required`:[`added`],`properties`:{"
		      "`added`:{`type`:`integer`,`description`:`contacts that were not members`}}}",
	  .errors = "404 409 412" },
	{ .method = "DELETE", .pattern = "/api/v1/segments/{id}/members", .tag = "segments",
	  .operation_id = "removeSegmentMembers", .summary = "Remove contacts from a static segment",
	  .description = "As adding: a dynamic segment answers 409; audited.",
	  .params = (const struct openapi_param[]){ IF_MATCH_PARAM, { NULL } },
	  .request = "SegmentMemberIds", .success = 200,
	  .response = "{`type`:`object`,`required`:[`removed`],`properties`:{"
		      "`removed`:{`type`:`integer`,`description`:`contacts that were members`}}}",
	  .errors = "404 409 412" },
	{ .method = "GET", .pattern = "/api/v1/segments/{id}/export", .tag = "segments",
	  .operation_id = "exportSegment", .summary = "A segment's members as CSV",
	  .description = "The members the caller may read, as a CSV attachment. Cells that a "
			 "spreadsheet would take for a formula (= + - @, tab, CR) start with a "
			 "single quote.",
	  .success = 200, .response = "{`type`:`string`}", .response_type = "text/csv",
	  .errors = "404" },

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
			 "empty or {}.",
	  .success = 200,
	  .response = "{`type`:`object`,`required`:[`model`],`properties`:{"
		      "`model`:{`$ref`:`#/components/schemas/AnalyticsModel`}}}",
	  .errors = "400 415 422" },

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
		  { "since", NULL, TIMESTAMP_SCHEMA, "Only entries at or after this time.", false },
		  { "until", NULL, TIMESTAMP_SCHEMA, "Only entries before this time.", false },
		  LIMIT_PARAM, CURSOR_PARAM, { NULL } },
	  .success = 200, .response = "AuditPage", .errors = "400 403" },
	{ .method = "GET", .pattern = "/api/v1/contacts/{id}/export", .tag = "contacts",
	  .operation_id = "exportContactData", .summary = "Everything held about a person (GDPR)",
	  .description = "One JSON document: the contact, its company, interactions, tasks, "
			 "opportunities with their stage history, purchases, static segment "
			 "memberships and the audit entries about them. Needs the right to "
			 "delete the contact (administrators; managers for their team): 403 "
			 "otherwise, 404 when it is not readable.",
	  .success = 200, .response = "GdprExport", .errors = "403 404" },
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
	  .params = (const struct openapi_param[]){ IF_MATCH_PARAM, { NULL } },
	  .success = 204, .errors = "400 403 404 412 415 422" },
	{ .method = "POST", .pattern = "/api/v1/contacts/import", .tag = "contacts",
	  .operation_id = "importContacts", .summary = "Import contacts from CSV",
	  .description = "RFC 4180 CSV (at most 1 MiB) with a header row naming contact fields "
			 "(or aliases such as First Name, E-mail, Company; tags separated by ;). "
			 "All or nothing: every row is checked with the contact rules first; one "
			 "bad row answers 422 with each error's line and field, and nothing is "
			 "imported. dedupe=email updates the contact with that address instead "
			 "of creating another; dry_run=true reports what would happen and writes "
			 "nothing. Each created or updated contact is audited.",
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
	  .request_type = "text/csv", .success = 200, .response = "ImportReport" },

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
	  .params = (const struct openapi_param[]){ IF_MATCH_PARAM, { NULL } },
	  .request = "{`type`:`object`,`required`:[`from`],`additionalProperties`:false,"
		     "`properties`:{`from`:{`type`:`array`,`minItems`:1,`maxItems`:50,"
		     "`items`:{`type`:`integer`,`minimum`:1},"
		     "`description`:`the contacts to merge into this one, in order of precedence`}}}",
	  .success = 200, .response = "Contact", .errors = "404 412" },
	{ .method = "GET", .pattern = "/api/v1/contacts/duplicates", .tag = "contacts",
	  .operation_id = "listContactDuplicates", .summary = "Groups of likely duplicate contacts",
	  .description = "Among the contacts the caller may read: the same e-mail address "
			 "(ignoring case); the same phone number (digits only, compared on the "
			 "last 9, so country codes and a trunk 0 do not matter); at the same "
			 "company, the same first and last name or one edit apart (both names at "
			 "least 5 characters). Ordered by reason (email, phone, name), then by "
			 "the smallest contact id; keyset-paged.",
	  .params = (const struct openapi_param[]){
		  LIMIT_PARAM, CURSOR_PARAM,
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
		  LIMIT_PARAM, CURSOR_PARAM,
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
	  .success = 200, .response = "{`type`:`object`}" },
};

#define ENTRY_COUNT (sizeof(openapi_entries) / sizeof(openapi_entries[0]))

/* Schemas that entries refer to by name. */
struct openapi_component {
	const char *name;
	const char *schema;
};

#define USER_PROPERTIES                                                                       \
	"`email`:{`type`:`string`,`format`:`email`,`maxLength`:" STRINGIFY(USERS_EMAIL_MAX) "},"  \
	"`name`:{`type`:`string`,`minLength`:1,`maxLength`:" STRINGIFY(USERS_NAME_MAX) "},"      \
	"`role`:{`type`:`string`,`maxLength`:" STRINGIFY(USERS_ROLE_MAX) ","                      \
	"`description`:`admin, manager, rep, viewer, or a role made with crmctl role create`},"  \
	"`team`:{`type`:[`string`,`null`],`maxLength`:" STRINGIFY(USERS_TEAM_MAX) "},"           \
	"`disabled`:{`type`:`boolean`,`description`:`a disabled user cannot log in or use keys`}"

static const struct openapi_component openapi_components[] = {
	{ "Meta",
	  "{`type`:`object`,`required`:[`resources`,`permissions`,`roles`],`properties`:{"
	  "`resources`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`name`,`singular`,`path`,`permission`,`owner_field`,`fields`,`filters`,"
	  "`range_filters`,`sorts`,`search`,`external_id`,`events`],`properties`:{"
	  "`name`:{`type`:`string`},`singular`:{`type`:`string`},`path`:{`type`:`string`},"
	  "`permission`:{`type`:`string`},`owner_field`:{`type`:[`string`,`null`]},"
	  "`fields`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/MetaField`}},"
	  "`filters`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`range_filters`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`param`,`field`,`op`],`properties`:{`param`:{`type`:`string`},"
	  "`field`:{`type`:`string`},`op`:{`type`:`string`,`enum`:[`>=`,`<`,`<=`,`>`]}}}},"
	  "`sorts`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`search`:{`type`:[`object`,`null`],`properties`:{`param`:{`type`:`string`},"
	  "`columns`:{`type`:`array`,`items`:{`type`:`string`}}}},"
	  "`external_id`:{`type`:`boolean`},"
	  "`events`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`description`:{`type`:[`string`,`null`]}}}},"
	  "`permissions`:{`type`:`object`,`required`:[`resources`,`actions`,`scopes`],"
	  "`properties`:{`resources`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`name`,`resource`],`properties`:{`name`:{`type`:`string`},"
	  "`resource`:{`type`:`boolean`},`description`:{`type`:`string`}}}},"
	  "`actions`:{`type`:`array`,`items`:{`type`:`string`}},"
	  "`scopes`:{`type`:`array`,`items`:{`type`:`string`}}}},"
	  "`roles`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`name`,`builtin`],"
	  "`properties`:{`name`:{`type`:`string`},`description`:{`type`:`string`},"
	  "`builtin`:{`type`:`boolean`}}}}}}" },
	{ "MetaField",
	  "{`type`:`object`,`required`:[`name`,`type`,`flags`],`properties`:{"
	  "`name`:{`type`:`string`},`type`:{`type`:`string`,`enum`:[`string`,`text`,`email`,"
	  "`integer`,`boolean`,`timestamp`,`date`,`enum`,`currency`,`reference`,`tags`,`object`]},"
	  "`flags`:{`type`:`array`,`items`:{`type`:`string`,`enum`:[`required`,`read_only`,"
	  "`filter`,`sort`,`case_insensitive`,`lowercase`,`default_caller`,`unique`,"
	  "`default_now`,`write_only`]}},`max_length`:{`type`:`integer`},"
	  "`minimum`:{`type`:`integer`},`maximum`:{`type`:`integer`},"
	  "`values`:{`type`:`array`,`items`:{`type`:`string`}},`references`:{`type`:`string`},"
	  "`members`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/MetaField`}}}}" },
	{ "Problem",
	  "{`type`:`object`,`description`:`RFC 9457 problem details.`,"
	  "`required`:[`type`,`title`,`status`],`properties`:{"
	  "`type`:{`type`:`string`,`description`:`about:blank`},"
	  "`title`:{`type`:`string`,`description`:`the status's reason phrase`},"
	  "`status`:{`type`:`integer`},`detail`:{`type`:`string`},"
	  "`errors`:{`type`:`array`,`description`:`for 409 and 422: what is wrong with which field`,"
	  "`items`:{`type`:`object`,`required`:[`field`,`message`],`properties`:{"
	  "`field`:{`type`:`string`,`examples`:[`email`,`consent.email`]},"
	  "`message`:{`type`:`string`}}}}}}" },
	{ "User",
	  "{`type`:`object`,`required`:[`id`,`email`,`name`,`role`,`team`,`disabled`,"
	  "`has_password`,`created_at`,`updated_at`,`version`],`properties`:{"
	  "`id`:{`type`:`integer`,`readOnly`:true}," USER_PROPERTIES ","
	  "`has_password`:{`type`:`boolean`,`readOnly`:true},"
	  "`created_at`:{`type`:`string`,`format`:`date-time`,`readOnly`:true},"
	  "`updated_at`:{`type`:`string`,`format`:`date-time`,`readOnly`:true},"
	  "`version`:{`type`:`integer`,`minimum`:1,`readOnly`:true}}}" },
	{ "UserInput",
	  "{`type`:`object`,`additionalProperties`:false,`required`:[`email`,`name`,`role`],"
	  "`properties`:{" USER_PROPERTIES ","
	  "`password`:{`type`:[`string`,`null`],`writeOnly`:true,`minLength`:" STRINGIFY(
		  USERS_PASSWORD_MIN) ",`maxLength`:" STRINGIFY(USERS_PASSWORD_MAX) "}}}" },
	{ "UserPatch",
	  "{`type`:`object`,`additionalProperties`:false,`description`:`A JSON merge patch "
	  "(RFC 7396): members left out stay as they are; a null password removes it.`,"
	  "`properties`:{" USER_PROPERTIES ","
	  "`password`:{`type`:[`string`,`null`],`writeOnly`:true,`minLength`:" STRINGIFY(
		  USERS_PASSWORD_MIN) ",`maxLength`:" STRINGIFY(USERS_PASSWORD_MAX) "}}}" },
	{ "UserList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/User`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "UserDirectory",
	  "{`type`:`object`,`required`:[`data`],`properties`:{`data`:{`type`:`array`,`items`:{"
	  "`type`:`object`,`required`:[`id`,`name`,`team`,`disabled`],`properties`:{"
	  "`id`:{`type`:`integer`},`name`:{`type`:`string`},`team`:{`type`:[`string`,`null`]},"
	  "`disabled`:{`type`:`boolean`}}}}}}" },
	{ "ApiKey",
	  "{`type`:`object`,`required`:[`id`,`user_id`,`user_name`,`user_email`,`name`,`prefix`,"
	  "`read_only`,`created_at`,`expires_at`,`revoked_at`,`last_used_at`,`status`],"
	  "`properties`:{`id`:{`type`:`integer`},`user_id`:{`type`:`integer`},"
	  "`user_name`:{`type`:[`string`,`null`]},`user_email`:{`type`:[`string`,`null`]},"
	  "`name`:{`type`:`string`},"
	  "`prefix`:{`type`:`string`,`description`:`the first characters of the key`},"
	  "`read_only`:{`type`:`boolean`},`created_at`:{`type`:`string`,`format`:`date-time`},"
	  "`expires_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`revoked_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_used_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`status`:{`type`:`string`,`enum`:[`active`,`expired`,`revoked`]}}}" },
	{ "ApiKeyCreated",
	  "{`allOf`:[{`$ref`:`#/components/schemas/ApiKey`},{`type`:`object`,`required`:[`key`],"
	  "`properties`:{`key`:{`type`:`string`,`description`:`the key itself: shown this once`}}}]}" },
	{ "ApiKeyInput",
	  "{`type`:`object`,`additionalProperties`:false,`required`:[`name`],`properties`:{"
	  "`name`:{`type`:`string`,`minLength`:1,`maxLength`:100},"
	  "`read_only`:{`type`:[`boolean`,`null`],`default`:false},"
	  "`expires_days`:{`type`:[`integer`,`null`],`minimum`:1,`maximum`:3650,"
	  "`description`:`null or absent: the key never expires`},"
	  "`user_id`:{`type`:[`integer`,`null`],`description`:`whose key (default: the caller; "
	  "another user: administrators only)`}}}" },
	{ "ApiKeyList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/ApiKey`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "AuditEntry",
	  "{`type`:`object`,`required`:[`id`,`at`,`user_id`,`actor`,`entity`,`entity_id`,`action`,"
	  "`before`,`after`],`properties`:{`id`:{`type`:`integer`},"
	  "`at`:{`type`:`string`,`format`:`date-time`},`user_id`:{`type`:[`integer`,`null`]},"
	  "`actor`:{`type`:`string`,`examples`:[`api`,`crmctl`]},`entity`:{`type`:`string`},"
	  "`entity_id`:{`type`:[`integer`,`null`]},`action`:{`type`:`string`},"
	  "`before`:{`description`:`the record before the change (null on create)`},"
	  "`after`:{`description`:`the record after the change (null on delete)`}}}" },
	{ "AuditPage",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/AuditEntry`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "GdprExport",
	  "{`type`:`object`,`required`:[`format`,`exported_at`,`contact`,`company`,`interactions`,"
	  "`tasks`,`opportunities`,`purchases`,`segments`,`audit`],`properties`:{"
	  "`format`:{`const`:`crm-gdpr-export/1`},`exported_at`:{`type`:`string`,`format`:`date-time`},"
	  "`contact`:{`type`:`object`,`description`:`the contact, with erased_at`},"
	  "`company`:{`type`:[`object`,`null`]},"
	  "`interactions`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`tasks`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`opportunities`:{`type`:`array`,`items`:{`type`:`object`,`description`:"
	  "`an opportunity with its stage_changes`}},"
	  "`purchases`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`segments`:{`type`:`array`,`items`:{`type`:`object`}},"
	  "`audit`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/AuditEntry`}}}}" },
	{ "ImportReport",
	  "{`type`:`object`,`required`:[`rows`,`created`,`updated`,`unchanged`,"
	  "`companies_created`,`dry_run`,`written`,`errors`],`properties`:{"
	  "`rows`:{`type`:`integer`},`created`:{`type`:`integer`},`updated`:{`type`:`integer`},"
	  "`unchanged`:{`type`:`integer`},`companies_created`:{`type`:`integer`},"
	  "`dry_run`:{`type`:`boolean`},`written`:{`type`:`boolean`},"
	  "`errors`:{`type`:`array`,`items`:{`type`:`object`,`properties`:{"
	  "`line`:{`type`:`integer`},`field`:{`type`:`string`},`message`:{`type`:`string`}}}},"
	  "`errors_truncated`:{`type`:`boolean`}}}" },
	{ "TimelinePage",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`type`,`id`,`at`,`record`],"
	  "`properties`:{`type`:{`type`:`string`,`enum`:[`interaction`,`opportunity`,"
	  "`stage_change`,`purchase`,`task`]},`id`:{`type`:`integer`},"
	  "`at`:{`type`:`string`,`format`:`date-time`},"
	  "`record`:{`description`:`the record of that type`,`anyOf`:["
	  "{`$ref`:`#/components/schemas/Interaction`},{`$ref`:`#/components/schemas/Opportunity`},"
	  "{`$ref`:`#/components/schemas/StageChange`},{`$ref`:`#/components/schemas/Purchase`},"
	  "{`$ref`:`#/components/schemas/Task`}]}}}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "StageChange",
	  "{`type`:`object`,`required`:[`id`,`opportunity_id`,`from_stage`,`to_stage`,"
	  "`changed_at`,`user_id`],`properties`:{`id`:{`type`:`integer`},"
	  "`opportunity_id`:{`type`:`integer`},`from_stage`:{`type`:[`string`,`null`]},"
	  "`to_stage`:{`type`:`string`},`changed_at`:{`type`:`string`,`format`:`date-time`},"
	  "`user_id`:{`type`:[`integer`,`null`]}}}" },
	{ "StageChangeList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/StageChange`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "PipelineFigures",
	  "{`type`:`object`,`required`:[`currency`,`count`,`amount_cents`,"
	  "`weighted_amount_cents`],`properties`:{`currency`:{`type`:`string`},"
	  "`count`:{`type`:`integer`},`amount_cents`:{`type`:`integer`},"
	  "`weighted_amount_cents`:{`type`:`integer`}}}" },
	{ "Pipeline",
	  "{`type`:`object`,`required`:[`stages`,`by_currency`],`properties`:{"
	  "`currency`:{`type`:[`string`,`null`]},"
	  "`stages`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`stage`,"
	  "`default_probability`,`count`,`amount_cents`,`weighted_amount_cents`,`by_currency`],"
	  "`properties`:{`stage`:{`type`:`string`,`enum`:[`lead`,`qualified`,`proposal`,"
	  "`negotiation`,`won`,`lost`]},`default_probability`:{`type`:`integer`},"
	  "`count`:{`type`:`integer`},`amount_cents`:{`type`:[`integer`,`null`]},"
	  "`weighted_amount_cents`:{`type`:[`integer`,`null`]},"
	  "`by_currency`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/PipelineFigures`}}}}},"
	  "`by_currency`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/PipelineFigures`}}}}" },
	{ "SegmentPreviewRequest",
	  "{`type`:`object`,`required`:[`rule`],`additionalProperties`:false,`properties`:{"
	  "`rule`:{`type`:`object`,`description`:`a rule tree: {all:[..]}, {any:[..]}, "
	  "{not:{..}}, leaves {field, op, value}`}}}" },
	{ "SegmentPreview",
	  "{`type`:`object`,`required`:[`count`,`sample`],`properties`:{"
	  "`count`:{`type`:`integer`},`sample`:{`type`:`array`,"
	  "`items`:{`$ref`:`#/components/schemas/Contact`}}}}" },
	{ "SegmentMemberIds",
	  "{`type`:`object`,`required`:[`contact_ids`],`additionalProperties`:false,"
	  "`properties`:{`contact_ids`:{`type`:`array`,`minItems`:1,`maxItems`:1000,"
	  "`items`:{`type`:`integer`,`minimum`:1}}}}" },
	{ "AnalyticsModel",
	  "{`type`:`object`,`description`:`The fitted BG/NBD and Gamma-Gamma models: their "
	  "parameters, method, whether they converged and when they were fitted.`}" },
	{ "Rfm",
	  "{`type`:[`object`,`null`],`properties`:{`r`:{`type`:`integer`,`minimum`:1,`maximum`:5},"
	  "`f`:{`type`:`integer`,`minimum`:1,`maximum`:5},`m`:{`type`:`integer`,`minimum`:1,"
	  "`maximum`:5},`score`:{`type`:`string`,`examples`:[`545`]}}}" },
	{ "ContactAnalytics",
	  "{`type`:`object`,`required`:[`contact_id`,`historical_ltv_cents`,"
	  "`predicted_ltv_cents`,`purchases_count`],`properties`:{"
	  "`contact_id`:{`type`:`integer`},`as_of`:{`type`:`string`},"
	  "`horizon_days`:{`type`:`integer`},`historical_ltv_cents`:{`type`:`integer`},"
	  "`predicted_ltv_cents`:{`type`:`integer`},`purchases_count`:{`type`:`integer`},"
	  "`first_purchase_at`:{`type`:[`string`,`null`]},"
	  "`last_purchase_at`:{`type`:[`string`,`null`]},"
	  "`recency_days`:{`type`:[`integer`,`null`]},"
	  "`rfm`:{`$ref`:`#/components/schemas/Rfm`},"
	  "`p_alive`:{`type`:[`number`,`null`],`minimum`:0,`maximum`:1},"
	  "`churn_risk`:{`type`:[`number`,`null`],`minimum`:0,`maximum`:1},"
	  "`tier`:{`type`:[`string`,`null`]},`value_class`:{`type`:[`string`,`null`]},"
	  "`loyalty`:{`type`:`string`,`enum`:[`active`,`passive`,`none`]},"
	  "`relationship_stage`:{`type`:`string`,`enum`:[`contact`,`involvement`,`intimacy`,"
	  "`deterioration`,`repair`,`dissolution`]},"
	  "`model`:{`type`:[`object`,`null`]}}}" },
	{ "LtvRanking",
	  "{`type`:`object`,`required`:[`data`],`properties`:{`as_of`:{`type`:`string`},"
	  "`horizon_days`:{`type`:`integer`},`limit`:{`type`:`integer`},"
	  "`model`:{`type`:[`object`,`null`]},"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`contact_id`,"
	  "`predicted_ltv_cents`],`properties`:{`contact_id`:{`type`:`integer`},"
	  "`predicted_ltv_cents`:{`type`:`integer`},`historical_ltv_cents`:{`type`:`integer`},"
	  "`purchases_count`:{`type`:`integer`},`p_alive`:{`type`:[`number`,`null`]},"
	  "`churn_risk`:{`type`:[`number`,`null`]},`tier`:{`type`:[`string`,`null`]}}}}}}" },
	{ "Tiers",
	  "{`type`:`object`,`required`:[`tiers`],`properties`:{`as_of`:{`type`:`string`},"
	  "`basis`:{`type`:`string`,`enum`:[`share`,`value`]},`metric`:{`type`:`string`},"
	  "`customers`:{`type`:`integer`},`revenue_cents`:{`type`:`integer`},"
	  "`tiers`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`name`,`members`],"
	  "`properties`:{`name`:{`type`:`string`},`threshold_cents`:{`type`:[`integer`,`null`]},"
	  "`members`:{`type`:`integer`},`revenue_cents`:{`type`:`integer`},"
	  "`revenue_share`:{`type`:`number`},`member_share`:{`type`:`number`}}}}}}" },
	{ "AnalyticsSummary",
	  "{`type`:`object`,`description`:`Counts of contacts, customers, tiers, loyalty, "
	  "relationship stages and value classes, and the revenue of this and the last period.`,"
	  "`properties`:{`as_of`:{`type`:`string`},`period`:{`type`:`string`},"
	  "`contacts`:{`type`:`integer`},`tiers`:{`type`:`object`,"
	  "`additionalProperties`:{`type`:`integer`}},`this_period`:{`type`:`object`},"
	  "`last_period`:{`type`:`object`},`model`:{`type`:`object`}}}" },
	{ "RevenueOverTime",
	  "{`type`:`object`,`required`:[`by`,`from`,`to`,`as_of`,`currency`,`buckets`],"
	  "`properties`:{`by`:{`type`:`string`,`enum`:[`day`,`week`,`month`,`quarter`,`year`]},"
	  "`from`:{`type`:`string`,`format`:`date`},`to`:{`type`:`string`,`format`:`date`},"
	  "`as_of`:{`type`:`string`,`format`:`date`},`currency`:{`type`:`string`},"
	  "`buckets`:{`type`:`array`,`items`:{`type`:`object`,`required`:[`start`,`end`,"
	  "`revenue_cents`,`purchases`,`customers`],`properties`:{"
	  "`start`:{`type`:`string`,`format`:`date`},"
	  "`end`:{`type`:`string`,`format`:`date`,`description`:`the day after the bucket`},"
	  "`revenue_cents`:{`type`:`integer`},`purchases`:{`type`:`integer`},"
	  "`customers`:{`type`:`integer`,`description`:`distinct contacts who bought`}}}}}}" },
	{ "LoginRequest",
	  "{`type`:`object`,`required`:[`email`,`password`],`properties`:{"
	  "`email`:{`type`:`string`},`password`:{`type`:`string`,`writeOnly`:true}}}" },
	{ "LoginAnswer",
	  "{`type`:`object`,`required`:[`user`,`csrf_token`],`properties`:{"
	  "`user`:{`$ref`:`#/components/schemas/User`},`csrf_token`:{`type`:`string`}}}" },
	{ "ContactDuplicates",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`reason`,`key`,`count`,`contacts`],`properties`:{"
	  "`reason`:{`type`:`string`,`enum`:[`email`,`phone`,`name`]},"
	  "`key`:{`type`:`string`,`description`:`what the contacts share`},"
	  "`count`:{`type`:`integer`,`minimum`:2},"
	  "`company_id`:{`type`:`integer`,`description`:`name groups`},"
	  "`contacts`:{`type`:`array`,`maxItems`:100,"
	  "`items`:{`$ref`:`#/components/schemas/Contact`}}}}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "WebhookDelivery",
	  "{`type`:`object`,`required`:[`id`,`webhook_id`,`event_id`,`event`,`status`,`attempts`,"
	  "`created_at`,`attempt_log`],`properties`:{"
	  "`id`:{`type`:`integer`,`description`:`X-CRM-Delivery`},`webhook_id`:{`type`:`integer`},"
	  "`event_id`:{`type`:`integer`,`description`:`the payload's id`},"
	  "`event`:{`type`:`string`},"
	  "`status`:{`type`:`string`,`enum`:[`pending`,`sending`,`delivered`,`failed`]},"
	  "`attempts`:{`type`:`integer`},`created_at`:" TIMESTAMP_SCHEMA ","
	  "`next_attempt_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_attempt_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`last_status_code`:{`type`:[`integer`,`null`]},`last_error`:{`type`:[`string`,`null`]},"
	  "`last_duration_ms`:{`type`:[`integer`,`null`]},"
	  "`delivered_at`:{`type`:[`string`,`null`],`format`:`date-time`},"
	  "`payload`:{`type`:`object`,`description`:`one delivery only: the body sent`},"
	  "`attempt_log`:{`type`:`array`,`items`:{`type`:`object`,"
	  "`required`:[`attempted_at`,`status_code`,`error`,`duration_ms`],`properties`:{"
	  "`attempted_at`:" TIMESTAMP_SCHEMA ",`status_code`:{`type`:[`integer`,`null`]},"
	  "`error`:{`type`:[`string`,`null`]},`duration_ms`:{`type`:`integer`}}}}}}" },
	{ "WebhookDeliveryList",
	  "{`type`:`object`,`required`:[`data`,`next_cursor`],`properties`:{"
	  "`data`:{`type`:`array`,`items`:{`$ref`:`#/components/schemas/WebhookDelivery`}},"
	  "`next_cursor`:{`type`:[`string`,`null`]}}}" },
	{ "Me",
	  "{`type`:`object`,`required`:[`user`],`properties`:{"
	  "`user`:{`$ref`:`#/components/schemas/User`},"
	  "`csrf_token`:{`type`:`string`,`description`:`cookie sessions only`},"
	  "`read_only`:{`type`:`boolean`,`description`:`API keys only`}}}" },
};

#define COMPONENT_COUNT (sizeof(openapi_components) / sizeof(openapi_components[0]))

/* Descriptions of the tags, in the order the document lists them first. */
static const struct {
	const char *name, *description;
} tag_descriptions[] = {
	{ "auth", "Browser sessions. Integrations use Authorization: Bearer <key> instead "
		  "(keys come from crmctl key create)." },
	{ "users", "The people who use the CRM (administrators only)." },
	{ "contacts", "People: the customers and prospects." },
	{ "companies", "Organisations contacts work for." },
	{ "interactions", "Touch points: calls, e-mails, meetings, notes, tickets, ..." },
	{ "tasks", "Things to do, with a due time and an assignee." },
	{ "opportunities", "Deals in the sales pipeline." },
	{ "purchases", "Revenue events." },
	{ "segments", "Groups of contacts: by a rule (dynamic) or by hand (static)." },
	{ "analytics", "Customer value: lifetime value, RFM, tiers, churn risk, loyalty." },
	{ "webhooks", "Outgoing webhooks: endpoints told about changes, with a delivery log "
		      "(administrators only)." },
	{ "meta", "About the API itself." },
};

/* ================================================================ helpers */

/*
 * Parses a schema text of the tables: JSON with ` for ", or a component name. Returns a
 * new reference; a malformed text yields {"x-invalid-schema": text}, which the tests
 * refuse.
 */
static json_t *schema_from_text(const char *text)
{
	if (text[0] != '{' && text[0] != '[') {
		struct buf ref = BUF_INIT;
		buf_addf(&ref, "#/components/schemas/%s", text);
		json_t *schema = json_pack("{s:s}", "$ref", ref.data);
		buf_release(&ref);
		return schema;
	}
	char *json = xstrdup(text);
	for (char *p = json; *p; p++)
		if (*p == '`')
			*p = '"';
	json_error_t error;
	json_t *schema = json_loads(json, JSON_REJECT_DUPLICATES, &error);
	free(json);
	if (!schema)
		schema = json_pack("{s:s, s:s}", "x-invalid-schema", text, "x-error", error.text);
	return schema;
}

static json_t *ref_to(const char *section, const char *name)
{
	struct buf ref = BUF_INIT;
	buf_addf(&ref, "#/components/%s/%s", section, name);
	json_t *value = json_pack("{s:s}", "$ref", ref.data);
	buf_release(&ref);
	return value;
}

/* "stage change" -> "StageChange" appended to `out`. */
static void add_pascal_case(struct buf *out, const char *words)
{
	bool upper = true;
	for (const char *p = words; *p; p++) {
		if (!isalnum((unsigned char)*p)) {
			upper = true;
			continue;
		}
		buf_addch(out, upper ? (char)toupper((unsigned char)*p) : *p);
		upper = false;
	}
}

/* The name of a generic resource's schema: Contact, ContactInput, ... (caller frees). */
static char *resource_schema_name(const struct resource *resource, const char *suffix)
{
	struct buf name = BUF_INIT;
	add_pascal_case(&name, resource->singular);
	buf_adds(&name, suffix);
	return buf_detach(&name, NULL);
}

static bool is_safe_method(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	       strcmp(method, "OPTIONS") == 0;
}

/* "GET" -> "get" into `out` (at least 8 bytes); false for a method OpenAPI lacks. */
static bool operation_key(const char *method, char out[8])
{
	static const char *const methods[] = { "get",  "put",     "post", "delete",
					       "options", "head", "patch",   "trace" };
	size_t len = strlen(method);
	if (len >= 8)
		return false;
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)method[i]);
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i], out) == 0)
			return true;
	return false;
}

/* ================================================================ generic resources */

static bool field_is_nullable_in_record(const struct resource_field *field)
{
	if (field->flags & RESOURCE_FIELD_REQUIRED)
		return false;
	if (field->type == RESOURCE_FIELD_TAGS)
		return false;
	if (field->type == RESOURCE_FIELD_OBJECT && !field->members && !field->normalize)
		return false; /* a normalized one (a segment's rule) may be null (resource.h) */
	return true;
}

/* {"type": type} or {"type": [type, "null"]}. */
static json_t *typed(const char *type, bool nullable)
{
	if (nullable)
		return json_pack("{s:[s,s]}", "type", type, "null");
	return json_pack("{s:s}", "type", type);
}

enum schema_mode {
	SCHEMA_RECORD, /* as the server sends it */
	SCHEMA_INPUT,  /* in a create or replace body */
	SCHEMA_PATCH,  /* in a merge patch */
};

static json_t *field_schema(const struct resource_field *field, enum schema_mode mode);

/* The properties (and required list) of an OBJECT field's typed members. */
static json_t *members_schema(const struct resource_field *field, bool nullable,
			      enum schema_mode mode)
{
	json_t *schema = typed("object", nullable);
	json_t *properties = json_object();
	for (const struct resource_field *member = field->members; member->name; member++)
		json_object_set_new(properties, member->name, field_schema(member, mode));
	json_object_set_new(schema, "properties", properties);
	json_object_set_new(schema, "additionalProperties", json_false());
	return schema;
}

static int default_max_length(const struct resource_field *field)
{
	if (field->max_length > 0)
		return field->max_length;
	return field->type == RESOURCE_FIELD_TEXT ? RESOURCE_TEXT_MAX_DEFAULT
						  : RESOURCE_STRING_MAX_DEFAULT;
}

/* Appends a sentence to a description, with a space after an earlier one. */
static void add_sentence(struct buf *description, const char *sentence)
{
	if (description->len)
		buf_addch(description, ' ');
	buf_adds(description, sentence);
}

/* The JSON schema of one field's value (new reference). */
static json_t *field_schema(const struct resource_field *field, enum schema_mode mode)
{
	/* In a body, null clears a field; a required one then fails with 422. */
	bool nullable = mode == SCHEMA_RECORD ? field_is_nullable_in_record(field)
					      : !(field->flags & RESOURCE_FIELD_REQUIRED);
	json_t *schema = NULL;
	struct buf description = BUF_INIT;
	switch (field->type) {
	case RESOURCE_FIELD_STRING:
	case RESOURCE_FIELD_TEXT:
	case RESOURCE_FIELD_EMAIL:
		schema = typed("string", nullable);
		json_object_set_new(schema, "maxLength", json_integer(default_max_length(field)));
		if (field->type == RESOURCE_FIELD_EMAIL)
			json_object_set_new(schema, "format", json_string("email"));
		if (field->type == RESOURCE_FIELD_TEXT)
			buf_adds(&description, "Multi-line text; \"\" means null.");
		else
			buf_adds(&description, "A single line, trimmed; \"\" means null.");
		break;
	case RESOURCE_FIELD_INTEGER:
		schema = typed("integer", nullable);
		if (field->min || field->max) {
			json_object_set_new(schema, "minimum", json_integer(field->min));
			json_object_set_new(schema, "maximum", json_integer(field->max));
		}
		break;
	case RESOURCE_FIELD_BOOLEAN:
		schema = typed("boolean", nullable);
		break;
	case RESOURCE_FIELD_TIMESTAMP:
		schema = typed("string", nullable);
		json_object_set_new(schema, "format", json_string("date-time"));
		buf_adds(&description, "RFC 3339; stored and answered in UTC (\"2026-11-23T16:00:00Z\").");
		break;
	case RESOURCE_FIELD_DATE:
		schema = typed("string", nullable);
		json_object_set_new(schema, "format", json_string("date"));
		break;
	case RESOURCE_FIELD_ENUM: {
		schema = typed("string", nullable);
		json_t *values = json_array();
		for (const char *const *value = field->values; value && *value; value++)
			json_array_append_new(values, json_string(*value));
		if (nullable)
			json_array_append_new(values, json_null());
		json_object_set_new(schema, "enum", values);
		break;
	}
	case RESOURCE_FIELD_CURRENCY:
		schema = typed("string", nullable);
		json_object_set_new(schema, "pattern", json_string("^[A-Z]{3}$"));
		buf_adds(&description, "An ISO 4217 currency code (\"EUR\").");
		break;
	case RESOURCE_FIELD_REFERENCE:
		schema = typed("integer", nullable);
		json_object_set_new(schema, "minimum", json_integer(1));
		if (strcmp(field->references, "users") == 0)
			buf_adds(&description, "The id of a user.");
		else
			buf_addf(&description, "The id of a record of %s.", field->references);
		if (mode != SCHEMA_RECORD)
			add_sentence(&description,
				     "It must exist and be readable by the caller (else 422).");
		json_object_set_new(schema, "x-references", json_string(field->references));
		break;
	case RESOURCE_FIELD_TAGS:
		schema = typed("array", nullable);
		json_object_set_new(schema, "items",
				    json_pack("{s:s, s:i, s:i}", "type", "string", "minLength", 1,
					      "maxLength", RESOURCE_TAG_MAX_LENGTH));
		json_object_set_new(schema, "maxItems", json_integer(RESOURCE_TAGS_MAX));
		buf_adds(&description, "Trimmed; duplicates are dropped; null means [].");
		break;
	case RESOURCE_FIELD_OBJECT:
		if (field->members) {
			schema = members_schema(field, nullable, mode);
		} else {
			schema = typed("object", nullable);
			buf_addf(&description,
				 "Free-form (at most %d bytes as JSON, %d levels deep); null means {}.",
				 RESOURCE_OBJECT_MAX_BYTES, RESOURCE_OBJECT_MAX_DEPTH);
		}
		break;
	}
	if (!schema)
		schema = json_object();
	if (field->flags & RESOURCE_FIELD_UNIQUE)
		add_sentence(&description, "Unique (else 409).");
	if ((field->flags & RESOURCE_FIELD_DEFAULT_CALLER) && mode == SCHEMA_INPUT)
		add_sentence(&description, "Defaults to the caller on create.");
	if ((field->flags & RESOURCE_FIELD_DEFAULT_NOW) && mode == SCHEMA_INPUT)
		add_sentence(&description, "Defaults to now on create.");
	if ((field->flags & RESOURCE_FIELD_READ_ONLY) && mode == SCHEMA_RECORD)
		json_object_set_new(schema, "readOnly", json_true());
	if (field->flags & RESOURCE_FIELD_WRITE_ONLY) {
		json_object_set_new(schema, "writeOnly", json_true());
		if (mode == SCHEMA_RECORD)
			add_sentence(&description, "Answered only by the create that set it.");
	}
	if (description.len)
		json_object_set_new(schema, "description", json_string(description.data));
	buf_release(&description);
	return schema;
}

static bool field_is_writable(const struct resource_field *field)
{
	return !(field->flags & RESOURCE_FIELD_READ_ONLY);
}

/* The schema of a record, a create/replace body or a patch of `resource` (new reference). */
static json_t *resource_schema(const struct resource *resource, enum schema_mode mode)
{
	json_t *schema = json_pack("{s:s}", "type", "object");
	json_t *properties = json_object();
	json_t *required = json_array();
	if (mode == SCHEMA_RECORD) {
		json_object_set_new(properties, "id",
				    json_pack("{s:s, s:i, s:b}", "type", "integer", "minimum", 1,
					      "readOnly", 1));
		json_object_set_new(properties, "created_at",
				    json_pack("{s:s, s:s, s:b}", "type", "string", "format",
					      "date-time", "readOnly", 1));
		json_object_set_new(properties, "updated_at",
				    json_pack("{s:s, s:s, s:b}", "type", "string", "format",
					      "date-time", "readOnly", 1));
		json_object_set_new(properties, "version",
				    json_pack("{s:s, s:i, s:b, s:s}", "type", "integer", "minimum", 1,
					      "readOnly", 1, "description",
					      "1 on create, + 1 on each change; the ETag."));
		json_array_append_new(required, json_string("id"));
		json_array_append_new(required, json_string("created_at"));
		json_array_append_new(required, json_string("updated_at"));
		json_array_append_new(required, json_string("version"));
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (mode != SCHEMA_RECORD && !field_is_writable(field))
			continue;
		json_object_set_new(properties, field->name, field_schema(field, mode));
		if ((mode == SCHEMA_RECORD && !(field->flags & RESOURCE_FIELD_WRITE_ONLY)) ||
		    (mode == SCHEMA_INPUT && (field->flags & RESOURCE_FIELD_REQUIRED) &&
		     !(field->flags & RESOURCE_FIELD_DEFAULT_CALLER)))
			json_array_append_new(required, json_string(field->name));
	}
	json_object_set_new(schema, "properties", properties);
	if (json_array_size(required))
		json_object_set_new(schema, "required", required);
	else
		json_decref(required);
	if (mode != SCHEMA_RECORD)
		json_object_set_new(schema, "additionalProperties", json_false());
	if (mode == SCHEMA_INPUT)
		json_object_set_new(schema, "description",
				    json_string("Every writable field; the ones left out are cleared "
						"on a replacement. Unknown and read-only members are "
						"refused (422)."));
	if (mode == SCHEMA_PATCH)
		json_object_set_new(schema, "description",
				    json_string("A JSON merge patch (RFC 7396): members left out stay "
						"as they are, null clears a field, objects merge, arrays "
						"are replaced."));
	return schema;
}

/* Adds the four schemas of `resource` to `schemas` unless they are there already. */
static void add_resource_schemas(json_t *schemas, const struct resource *resource)
{
	char *record = resource_schema_name(resource, "");
	if (json_object_get(schemas, record)) {
		free(record);
		return;
	}
	char *input = resource_schema_name(resource, "Input");
	char *patch = resource_schema_name(resource, "Patch");
	char *list = resource_schema_name(resource, "List");
	json_object_set_new(schemas, record, resource_schema(resource, SCHEMA_RECORD));
	json_object_set_new(schemas, input, resource_schema(resource, SCHEMA_INPUT));
	json_object_set_new(schemas, patch, resource_schema(resource, SCHEMA_PATCH));
	json_object_set_new(schemas, list,
			    json_pack("{s:s, s:[s,s], s:{s:{s:s, s:o}, s:{s:[s,s], s:s}}}", "type",
				      "object", "required", "data", "next_cursor", "properties",
				      "data", "type", "array", "items", ref_to("schemas", record),
				      "next_cursor", "type", "string", "null", "description",
				      "pass as ?cursor= for the next page; null on the last page"));
	free(record);
	free(input);
	free(patch);
	free(list);
}

enum generic_kind {
	GENERIC_NONE,
	GENERIC_COLLECTION, /* /api/v1/<name> */
	GENERIC_ONE,        /* /api/v1/<name>/{id} */
	GENERIC_EXTERNAL,   /* /api/v1/<name>/external/{external_id} */
};

/* Whether `pattern` has the shape of a generic resource route; sets *resource. */
static enum generic_kind generic_kind_of(const char *pattern, const struct resource **resource)
{
	*resource = NULL;
	size_t prefix = strlen(API_PREFIX);
	if (strncmp(pattern, API_PREFIX, prefix) != 0)
		return GENERIC_NONE;
	const char *name = pattern + prefix;
	size_t len = strcspn(name, "/");
	if (len == 0 || len >= 64)
		return GENERIC_NONE;
	char buffer[64];
	memcpy(buffer, name, len);
	buffer[len] = '\0';
	const struct resource *found = resource_find(buffer);
	if (!found)
		return GENERIC_NONE;
	const char *rest = name + len;
	enum generic_kind kind = GENERIC_NONE;
	if (*rest == '\0')
		kind = GENERIC_COLLECTION;
	else if (strcmp(rest, "/{id}") == 0)
		kind = GENERIC_ONE;
	else if (strcmp(rest, "/external/{external_id}") == 0 &&
		 resource_field_find(found, "external_id"))
		kind = GENERIC_EXTERNAL;
	if (kind != GENERIC_NONE)
		*resource = found;
	return kind;
}

static json_t *query_param(const char *name, json_t *schema, const char *description)
{
	return json_pack("{s:s, s:s, s:b, s:o, s:s}", "name", name, "in", "query", "required", 0,
			 "schema", schema, "description", description);
}

/* The schema of a filter's value in the query string (new reference). */
static json_t *filter_schema(const struct resource_field *field)
{
	json_t *schema = field_schema(field, SCHEMA_PATCH);
	json_t *type = json_object_get(schema, "type");
	if (json_is_array(type)) /* a filter value is never null */
		json_object_set_new(schema, "type", json_incref(json_array_get(type, 0)));
	json_t *values = json_object_get(schema, "enum");
	if (values && json_array_size(values) &&
	    json_is_null(json_array_get(values, json_array_size(values) - 1)))
		json_array_remove(values, json_array_size(values) - 1);
	json_object_del(schema, "description");
	if (field->type == RESOURCE_FIELD_REFERENCE && strcmp(field->references, "users") == 0) {
		json_t *either = json_pack("{s:[o,{s:s}]}", "anyOf", schema, "const", "me");
		return either;
	}
	return schema;
}

static const char *range_description(enum resource_range range)
{
	if (range == RESOURCE_RANGE_FROM)
		return "at or after (>=)";
	if (range == RESOURCE_RANGE_BEFORE)
		return "before (<)";
	if (range == RESOURCE_RANGE_TO)
		return "at or before (<=)";
	return "after (>)";
}

/* The schema of a built-in member or a field named `name` of `resource`, for ranges. */
static json_t *range_schema(const struct resource *resource, const char *name)
{
	if (strcmp(name, "created_at") == 0 || strcmp(name, "updated_at") == 0)
		return json_pack("{s:s, s:s}", "type", "string", "format", "date-time");
	const struct resource_field *field = resource_field_find(resource, name);
	return field ? filter_schema(field) : json_pack("{s:s}", "type", "string");
}

/* The parameters of a list of `resource`. */
static json_t *list_parameters(const struct resource *resource)
{
	json_t *params = json_array();
	json_array_append_new(params, ref_to("parameters", "Limit"));
	json_array_append_new(params, ref_to("parameters", "Cursor"));
	json_t *sorts = json_pack("[s,s,s,s,s,s]", "id", "-id", "created_at", "-created_at",
				  "updated_at", "-updated_at");
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (!(field->flags & RESOURCE_FIELD_SORT))
			continue;
		struct buf descending = BUF_INIT;
		buf_addf(&descending, "-%s", field->name);
		json_array_append_new(sorts, json_string(field->name));
		json_array_append_new(sorts, json_string(descending.data));
		buf_release(&descending);
	}
	json_array_append_new(
		params, query_param("sort",
				    json_pack("{s:s, s:o, s:s}", "type", "string", "enum", sorts,
					      "default", "id"),
				    "Order of the list; - for descending. NULLs come first ascending."));
	if (resource->fts_table)
		json_array_append_new(
			params,
			query_param("q",
				    json_pack("{s:s, s:i}", "type", "string", "maxLength",
					      RESOURCE_QUERY_TEXT_MAX),
				    "Full-text search: every word must match the start of a word."));
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (field->type == RESOURCE_FIELD_TAGS) {
			json_array_append_new(
				params, query_param("tag",
						    json_pack("{s:s, s:i}", "type", "string",
							      "maxLength", RESOURCE_TAG_MAX_LENGTH),
						    "Only records with this tag."));
			break;
		}
	}
	json_array_append_new(params,
			      query_param("updated_since",
					  json_pack("{s:s, s:s}", "type", "string", "format",
						    "date-time"),
					  "Only records changed at or after this time (RFC 3339)."));
	for (const struct resource_range_filter *filter = resource->range_filters;
	     filter && filter->param; filter++) {
		struct buf description = BUF_INIT;
		buf_addf(&description, "Only records whose %s is %s this value.", filter->field,
			 range_description(filter->range));
		json_array_append_new(params, query_param(filter->param,
							  range_schema(resource, filter->field),
							  description.data));
		buf_release(&description);
	}
	for (const struct resource_field *field = resource->fields; field->name; field++) {
		if (!(field->flags & RESOURCE_FIELD_FILTER))
			continue;
		struct buf description = BUF_INIT;
		buf_addf(&description, "Only records whose %s equals this value%s.", field->name,
			 field->flags & RESOURCE_FIELD_NOCASE ? " (ignoring ASCII case)" : "");
		if (field->type == RESOURCE_FIELD_REFERENCE && strcmp(field->references, "users") == 0)
			buf_adds(&description, " \"me\" is the caller.");
		json_array_append_new(params, query_param(field->name, filter_schema(field),
							  description.data));
		buf_release(&description);
	}
	return params;
}

/* A success answer with a record body, an ETag and optionally a Location header. */
static json_t *record_response(const char *description, const char *schema, bool location)
{
	json_t *headers = json_pack("{s:o}", "ETag", ref_to("headers", "ETag"));
	if (location)
		json_object_set_new(headers, "Location", ref_to("headers", "Location"));
	return json_pack("{s:s, s:o, s:{s:{s:o}}}", "description", description, "headers",
			 headers, "content", "application/json", "schema",
			 ref_to("schemas", schema));
}

static json_t *json_body(const char *schema_name, bool merge_patch)
{
	json_t *content = json_pack("{s:{s:o}}", "application/json", "schema",
				    ref_to("schemas", schema_name));
	if (merge_patch)
		json_object_set_new(content, "application/merge-patch+json",
				    json_pack("{s:o}", "schema", ref_to("schemas", schema_name)));
	return json_pack("{s:b, s:o}", "required", 1, "content", content);
}

/* Error statuses of an operation, as a bit set over this list. */
static const int error_statuses[] = { 400, 401, 403, 404, 405, 409, 412,
				      413, 415, 422, 429, 503 };
#define ERROR_STATUS_COUNT (sizeof(error_statuses) / sizeof(error_statuses[0]))

static void errors_add(unsigned *set, int status)
{
	for (size_t i = 0; i < ERROR_STATUS_COUNT; i++)
		if (error_statuses[i] == status)
			*set |= 1u << i;
}

/* Adds the statuses of a text like "404 409"; an unknown one leaves a marker the tests
 * refuse. */
static void errors_add_text(unsigned *set, const char *text, json_t *operation)
{
	while (text && *text) {
		char *end;
		long status = strtol(text, &end, 10);
		if (end == text)
			break;
		bool known = false;
		for (size_t i = 0; i < ERROR_STATUS_COUNT; i++)
			known = known || error_statuses[i] == status;
		if (known)
			errors_add(set, (int)status);
		else
			json_object_set_new(operation, "x-invalid-error-status", json_integer(status));
		text = end;
	}
}

/* The generic operation for `route` of `resource` (new reference); sets *errors, *body. */
static json_t *generic_operation(const struct route *route, const struct resource *resource,
				 enum generic_kind kind, unsigned *errors, bool *has_body)
{
	char *record = resource_schema_name(resource, "");
	char *input = resource_schema_name(resource, "Input");
	char *patch = resource_schema_name(resource, "Patch");
	char *list = resource_schema_name(resource, "List");
	struct buf operation_id = BUF_INIT, summary = BUF_INIT;
	json_t *operation = json_object();
	json_t *params = json_array();
	json_t *responses = json_object();
	bool unique = false;
	for (const struct resource_field *field = resource->fields; field->name; field++)
		unique = unique || (field->flags & RESOURCE_FIELD_UNIQUE);
	const char *method = route->method;
	*has_body = false;
	if (kind == GENERIC_COLLECTION && strcmp(method, "GET") == 0) {
		buf_adds(&operation_id, "list");
		add_pascal_case(&operation_id, resource->name);
		buf_addf(&summary, "List %s", resource->name);
		json_decref(params);
		params = list_parameters(resource);
		json_object_set_new(responses, "200",
				    json_pack("{s:s, s:{s:{s:o}}}", "description",
					      "One page, and the cursor of the next", "content",
					      "application/json", "schema", ref_to("schemas", list)));
		errors_add(errors, 400);
		errors_add(errors, 403);
	} else if (kind == GENERIC_COLLECTION && strcmp(method, "POST") == 0) {
		buf_adds(&operation_id, "create");
		add_pascal_case(&operation_id, resource->singular);
		buf_addf(&summary, "Create a %s", resource->singular);
		json_array_append_new(params, ref_to("parameters", "IdempotencyKey"));
		json_object_set_new(operation, "requestBody", json_body(input, false));
		*has_body = true;
		json_object_set_new(responses, "201", record_response("Created", record, true));
		errors_add(errors, 403);
		if (unique)
			errors_add(errors, 409);
	} else if ((kind == GENERIC_ONE || kind == GENERIC_EXTERNAL) && strcmp(method, "GET") == 0) {
		buf_adds(&operation_id, "get");
		add_pascal_case(&operation_id, resource->singular);
		if (kind == GENERIC_EXTERNAL)
			buf_adds(&operation_id, "ByExternalId");
		buf_addf(&summary, "One %s%s", resource->singular,
			 kind == GENERIC_EXTERNAL ? ", by its external_id" : "");
		json_array_append_new(params, ref_to("parameters", "IfNoneMatch"));
		json_object_set_new(responses, "200", record_response("The record", record, false));
		json_object_set_new(responses, "304",
				    json_pack("{s:s}", "description",
					      "Not Modified: If-None-Match named the current version"));
		errors_add(errors, 404);
	} else if (kind == GENERIC_ONE && (strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0)) {
		bool is_patch = strcmp(method, "PATCH") == 0;
		buf_adds(&operation_id, is_patch ? "update" : "replace");
		add_pascal_case(&operation_id, resource->singular);
		buf_addf(&summary, "%s a %s", is_patch ? "Change" : "Replace", resource->singular);
		json_array_append_new(params, ref_to("parameters", "IfMatch"));
		json_object_set_new(operation, "requestBody",
				    json_body(is_patch ? patch : input, is_patch));
		*has_body = true;
		json_object_set_new(responses, "200",
				    record_response("The record as stored", record, false));
		errors_add(errors, 404);
		errors_add(errors, 412);
		if (unique)
			errors_add(errors, 409);
	} else if (kind == GENERIC_ONE && strcmp(method, "DELETE") == 0) {
		buf_adds(&operation_id, "delete");
		add_pascal_case(&operation_id, resource->singular);
		buf_addf(&summary, "Delete a %s", resource->singular);
		json_array_append_new(params, ref_to("parameters", "IfMatch"));
		json_object_set_new(responses, "204", json_pack("{s:s}", "description", "Deleted"));
		errors_add(errors, 404);
		errors_add(errors, 409);
		errors_add(errors, 412);
	} else if (kind == GENERIC_EXTERNAL && strcmp(method, "PUT") == 0) {
		buf_adds(&operation_id, "put");
		add_pascal_case(&operation_id, resource->singular);
		buf_adds(&operation_id, "ByExternalId");
		buf_addf(&summary, "Create or replace a %s by its external_id", resource->singular);
		json_object_set_new(operation, "description",
				    json_string("Idempotent synchronisation from another system: "
						"creates the record (201) or replaces it (200); a "
						"repeat with the same body changes nothing."));
		json_array_append_new(params, ref_to("parameters", "IfMatch"));
		json_object_set_new(operation, "requestBody", json_body(input, false));
		*has_body = true;
		json_object_set_new(responses, "200", record_response("Replaced", record, false));
		json_object_set_new(responses, "201", record_response("Created", record, true));
		errors_add(errors, 412);
		errors_add(errors, 409);
	} else {
		json_decref(operation);
		operation = NULL;
	}
	if (operation) {
		json_object_set_new(operation, "tags", json_pack("[s]", resource->name));
		json_object_set_new(operation, "operationId", json_string(operation_id.data));
		json_object_set_new(operation, "summary", json_string(summary.data));
		json_object_set_new(operation, "parameters", params);
		json_object_set_new(operation, "responses", responses);
	} else {
		json_decref(params);
		json_decref(responses);
	}
	buf_release(&operation_id);
	buf_release(&summary);
	free(record);
	free(input);
	free(patch);
	free(list);
	return operation;
}

/* ================================================================ operations */

static const struct openapi_entry *entry_find(const struct route *route)
{
	for (size_t i = 0; i < ENTRY_COUNT; i++)
		if (strcmp(openapi_entries[i].method, route->method) == 0 &&
		    strcmp(openapi_entries[i].pattern, route->pattern) == 0)
			return &openapi_entries[i];
	return NULL;
}

static json_t *entry_parameter(const struct openapi_param *param)
{
	const char *in = param->in ? param->in : "query";
	json_t *value = json_pack("{s:s, s:s, s:b, s:o}", "name", param->name, "in", in,
				  "required", param->required || strcmp(in, "path") == 0, "schema",
				  schema_from_text(param->schema));
	if (param->description)
		json_object_set_new(value, "description", json_string(param->description));
	return value;
}

static json_t *entry_operation(const struct openapi_entry *entry, unsigned *errors,
			       bool *has_body)
{
	json_t *operation = json_pack("{s:[s], s:s?, s:s?}", "tags",
				      entry->tag ? entry->tag : "other", "operationId",
				      entry->operation_id, "summary", entry->summary);
	if (entry->description)
		json_object_set_new(operation, "description", json_string(entry->description));
	json_t *params = json_array();
	for (const struct openapi_param *param = entry->params; param && param->name; param++)
		json_array_append_new(params, entry_parameter(param));
	json_object_set_new(operation, "parameters", params);
	*has_body = entry->request != NULL;
	if (entry->request)
		json_object_set_new(operation, "requestBody",
				    json_pack("{s:b, s:{s:{s:o}}}", "required", 1, "content",
					      entry->request_type ? entry->request_type
								  : "application/json",
					      "schema", schema_from_text(entry->request)));
	char status[8];
	snprintf(status, sizeof(status), "%d", entry->success ? entry->success : 200);
	json_t *success = json_pack("{s:s}", "description",
				    http_status_title(entry->success ? entry->success : 200));
	if (entry->response)
		json_object_set_new(success, "content",
				    json_pack("{s:{s:o}}",
					      entry->response_type ? entry->response_type
								   : "application/json",
					      "schema", schema_from_text(entry->response)));
	json_object_set_new(operation, "responses", json_pack("{s:o}", status, success));
	errors_add_text(errors, entry->errors, operation);
	return operation;
}

/* The declared path parameters of `pattern` that `params` does not declare already. */
static void add_path_parameters(json_t *params, const char *pattern)
{
	for (const char *p = strchr(pattern, '{'); p; p = strchr(p + 1, '{')) {
		const char *close = strchr(p, '}');
		if (!close)
			break;
		char *name = xstrndup(p + 1, (size_t)(close - p - 1));
		bool declared = false;
		size_t index;
		json_t *param;
		json_array_foreach(params, index, param) {
			declared = declared ||
				   (json_is_string(json_object_get(param, "name")) &&
				    strcmp(json_string_value(json_object_get(param, "name")), name) == 0 &&
				    strcmp(json_string_value(json_object_get(param, "in")), "path") == 0);
		}
		if (!declared) {
			size_t len = strlen(name);
			bool numeric = strcmp(name, "id") == 0 ||
				       (len > 3 && strcmp(name + len - 3, "_id") == 0 &&
					strcmp(name, "external_id") != 0);
			json_t *schema = numeric ? json_pack("{s:s, s:i}", "type", "integer",
							     "minimum", 1)
						 : json_pack("{s:s}", "type", "string");
			json_array_insert_new(params, 0,
					      json_pack("{s:s, s:s, s:b, s:o}", "name", name, "in",
							"path", "required", 1, "schema", schema));
		}
		free(name);
	}
}

/* The security requirement of a route, from its flags. */
static json_t *route_security(const struct route *route)
{
	if (route->flags & ROUTE_PUBLIC)
		return json_array();
	if (is_safe_method(route->method) || (route->flags & ROUTE_NO_CSRF))
		return json_pack("[{s:[]}, {s:[]}]", "bearerKey", "sessionCookie");
	return json_pack("[{s:[]}, {s:[], s:[]}]", "bearerKey", "sessionCookie", "csrfToken");
}

static const char *error_response_name(int status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 409: return "Conflict";
	case 412: return "PreconditionFailed";
	case 413: return "ContentTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "UnprocessableContent";
	case 429: return "TooManyRequests";
	default: return "ServiceUnavailable";
	}
}

struct build {
	json_t *paths;
	json_t *schemas;
};

static void visit_route(void *context, const struct route *route)
{
	struct build *build = context;
	char key[8];
	if (!operation_key(route->method, key))
		return;
	unsigned errors = 0;
	bool has_body = false;
	json_t *operation = NULL;
	const struct openapi_entry *entry = entry_find(route);
	const struct resource *resource;
	enum generic_kind kind = generic_kind_of(route->pattern, &resource);
	if (entry) {
		operation = entry_operation(entry, &errors, &has_body);
	} else if (kind != GENERIC_NONE) {
		operation = generic_operation(route, resource, kind, &errors, &has_body);
		if (operation)
			add_resource_schemas(build->schemas, resource);
	}
	if (!operation) {
		operation = json_pack("{s:s, s:b, s:[], s:{s:{s:s}}}", "summary",
				      "Not documented yet: add an entry to openapi_entries[] in "
				      "src/http/openapi.c",
				      "x-undocumented", 1, "parameters", "responses", "default",
				      "description", "not documented");
	}
	if (!(route->flags & ROUTE_PUBLIC)) {
		errors_add(&errors, 401);
		errors_add(&errors, 503);
		if (!is_safe_method(route->method))
			errors_add(&errors, 403);
	}
	if (has_body) {
		errors_add(&errors, 400);
		errors_add(&errors, 413);
		errors_add(&errors, 415);
		errors_add(&errors, 422);
	}
	json_t *responses = json_object_get(operation, "responses");
	for (size_t i = 0; i < ERROR_STATUS_COUNT; i++) {
		if (!(errors & (1u << i)))
			continue;
		char status[8];
		snprintf(status, sizeof(status), "%d", error_statuses[i]);
		json_object_set_new(responses, status,
				    ref_to("responses", error_response_name(error_statuses[i])));
	}
	add_path_parameters(json_object_get(operation, "parameters"), route->pattern);
	json_object_set_new(operation, "security", route_security(route));
	json_t *path = json_object_get(build->paths, route->pattern);
	if (!path) {
		path = json_object();
		json_object_set_new(build->paths, route->pattern, path);
	}
	json_object_set_new(path, key, operation);
}

/* ================================================================ components */

static json_t *problem_response(const char *description, json_t *headers)
{
	json_t *response = json_pack("{s:s, s:{s:{s:o}}}", "description", description, "content",
				     "application/problem+json", "schema",
				     ref_to("schemas", "Problem"));
	if (headers)
		json_object_set_new(response, "headers", headers);
	return response;
}

static json_t *header(const char *description, json_t *schema)
{
	return json_pack("{s:s, s:o}", "description", description, "schema", schema);
}

static json_t *error_responses(void)
{
	json_t *responses = json_object();
	json_object_set_new(responses, "BadRequest",
			    problem_response("Malformed JSON, query parameter or header", NULL));
	json_object_set_new(
		responses, "Unauthorized",
		problem_response("No valid credentials (or a revoked key, session or a disabled "
				 "user)",
				 json_pack("{s:o}", "WWW-Authenticate",
					   header("Bearer", json_pack("{s:s}", "type", "string")))));
	json_object_set_new(responses, "Forbidden",
			    problem_response("Not allowed: permissions, a read-only key, or a "
					     "missing or wrong X-CSRF-Token with a session cookie",
					     NULL));
	json_object_set_new(responses, "NotFound",
			    problem_response("No such record, or one the caller may not read",
					     NULL));
	json_object_set_new(
		responses, "MethodNotAllowed",
		problem_response("The path does not take this method",
				 json_pack("{s:o}", "Allow",
					   header("The methods the path takes",
						  json_pack("{s:s}", "type", "string")))));
	json_object_set_new(responses, "Conflict",
			    problem_response("A unique field (external_id, email) is taken, or "
					     "other records still refer to this one",
					     NULL));
	json_object_set_new(responses, "PreconditionFailed",
			    problem_response("If-Match does not name the record's version", NULL));
	json_object_set_new(responses, "ContentTooLarge",
			    problem_response("The body is larger than 1 MiB", NULL));
	json_object_set_new(responses, "UnsupportedMediaType",
			    problem_response("The body is not Content-Type: application/json",
					     NULL));
	json_object_set_new(responses, "UnprocessableContent",
			    problem_response("Validation failed; errors names each bad field",
					     NULL));
	json_object_set_new(
		responses, "TooManyRequests",
		problem_response("Too many attempts",
				 json_pack("{s:o}", "Retry-After",
					   header("Seconds to wait",
						  json_pack("{s:s}", "type", "integer")))));
	json_object_set_new(responses, "ServiceUnavailable",
			    problem_response("The database is busy, full or cannot be opened; "
					     "try again",
					     NULL));
	return responses;
}

static json_t *common_parameters(void)
{
	return json_pack(
		"{s:o, s:o, s:o, s:o, s:o}", "Limit", entry_parameter(&(struct openapi_param)LIMIT_PARAM),
		"Cursor", entry_parameter(&(struct openapi_param)CURSOR_PARAM), "IfMatch",
		entry_parameter(&(struct openapi_param)IF_MATCH_PARAM), "IfNoneMatch",
		json_pack("{s:s, s:s, s:b, s:{s:s}, s:s}", "name", "If-None-Match", "in", "header",
			  "required", 0, "schema", "type", "string", "description",
			  "An ETag from an earlier answer: 304 when it is still current."),
		"IdempotencyKey",
		json_pack("{s:s, s:s, s:b, s:{s:s, s:i, s:i}, s:s}", "name", "Idempotency-Key", "in",
			  "header", "required", 0, "schema", "type", "string", "minLength", 1,
			  "maxLength", RESOURCE_IDEMPOTENCY_KEY_MAX, "description",
			  "A repeat with the same key within 24 hours answers the first answer "
			  "again (Idempotent-Replayed: true) and creates nothing."));
}

static json_t *security_schemes(void)
{
	return json_pack(
		"{s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:s}}", "bearerKey",
		"type", "http", "scheme", "bearer", "description",
		"An API key from crmctl key create; it acts as its user. A read-only key gets 403 "
		"on every write.",
		"sessionCookie", "type", "apiKey", "in", "cookie", "name", auth_session_cookie_name(),
		"description", "The browser session from POST /api/v1/auth/login.", "csrfToken",
		"type", "apiKey", "in", "header", "name", "X-CSRF-Token", "description",
		"The session's CSRF token (from login or /auth/me); needed with the cookie on "
		"POST, PUT, PATCH and DELETE.");
}

/* Adds to `names` every "#/components/schemas/X" that `value` refers to. */
static void collect_schema_refs(const json_t *value, json_t *names)
{
	static const char prefix[] = "#/components/schemas/";
	if (json_is_object(value)) {
		const char *key;
		json_t *member;
		json_object_foreach((json_t *)value, key, member) {
			if (strcmp(key, "$ref") == 0 && json_is_string(member) &&
			    strncmp(json_string_value(member), prefix, sizeof(prefix) - 1) == 0)
				json_object_set_new(names,
						    json_string_value(member) + sizeof(prefix) - 1,
						    json_true());
			else
				collect_schema_refs(member, names);
		}
	} else if (json_is_array(value)) {
		size_t index;
		json_t *member;
		json_array_foreach(value, index, member)
			collect_schema_refs(member, names);
	}
}

/* Adds the hand-written schemas the document refers to, until nothing more is needed. */
static void add_referenced_components(json_t *document, json_t *schemas)
{
	bool added = true;
	while (added) {
		added = false;
		json_t *names = json_object();
		collect_schema_refs(document, names);
		const char *name;
		json_t *unused;
		json_object_foreach(names, name, unused) {
			if (json_object_get(schemas, name))
				continue;
			for (size_t i = 0; i < COMPONENT_COUNT; i++) {
				if (strcmp(openapi_components[i].name, name) == 0) {
					json_object_set_new(schemas, name,
							    schema_from_text(openapi_components[i].schema));
					added = true;
				}
			}
		}
		json_decref(names);
	}
}

/* The tags used by the operations, described ones first. */
static json_t *document_tags(const json_t *paths)
{
	json_t *used = json_object();
	const char *path;
	json_t *operations;
	json_object_foreach((json_t *)paths, path, operations) {
		const char *method;
		json_t *operation;
		json_object_foreach(operations, method, operation) {
			size_t index;
			json_t *tag;
			json_array_foreach(json_object_get(operation, "tags"), index, tag)
				json_object_set_new(used, json_string_value(tag), json_true());
		}
	}
	json_t *tags = json_array();
	for (size_t i = 0; i < sizeof(tag_descriptions) / sizeof(tag_descriptions[0]); i++) {
		if (!json_object_get(used, tag_descriptions[i].name))
			continue;
		json_array_append_new(tags, json_pack("{s:s, s:s}", "name", tag_descriptions[i].name,
						      "description", tag_descriptions[i].description));
		json_object_del(used, tag_descriptions[i].name);
	}
	const char *name;
	json_t *unused;
	json_object_foreach(used, name, unused) {
		const struct resource *resource = resource_find(name);
		json_array_append_new(tags, json_pack("{s:s, s:s*}", "name", name, "description",
						      resource ? resource->description : NULL));
	}
	json_decref(used);
	return tags;
}

json_t *openapi_document(const struct router *router)
{
	json_t *schemas = json_object();
	struct build build = { json_object(), schemas };
	if (router)
		router_each(router, visit_route, &build);
	json_t *components = json_pack(
		"{s:o, s:o, s:o, s:o, s:o}", "schemas", schemas, "responses", error_responses(),
		"parameters", common_parameters(), "headers",
		json_pack("{s:{s:s, s:{s:s}}, s:{s:s, s:{s:s}}}", "ETag", "description",
			  "The record's version in quotes (\"3\"), for If-Match", "schema", "type",
			  "string", "Location", "description", "The URL of the new record",
			  "schema", "type", "string"),
		"securitySchemes", security_schemes());
	json_t *document = json_pack(
		"{s:s, s:{s:s, s:s, s:s}, s:[{s:s}], s:o, s:o}", "openapi", "3.1.0", "info", "title",
		"CRM server API", "version", CRM_VERSION, "description",
		"JSON over HTTP, UTF-8. Errors are RFC 9457 problem details "
		"(application/problem+json). Records carry id, created_at, updated_at (RFC 3339 "
		"UTC) and version; GET of one record sends ETag: \"<version>\", and PATCH, PUT "
		"and DELETE honour If-Match. Lists are keyset-paged: "
		"{\"data\":[..],\"next_cursor\":..}. Authenticate with Authorization: Bearer "
		"<key>, or with the session cookie from POST /api/v1/auth/login plus the "
		"X-CSRF-Token header on unsafe methods.",
		"servers", "url", "/", "paths", build.paths, "components", components);
	json_object_set_new(document, "tags", document_tags(build.paths));
	if (json_object_get(build.paths, "/api/v1/webhooks/events")) /* a build with webhooks */
		json_object_set_new(document, "webhooks", openapi_webhooks(schemas));
	add_referenced_components(document, schemas);
	return document;
}

/* ================================================================ the route */

/*
 * The document of the served routes, made once: the route table and the settings it
 * depends on do not change after start-up, and a public route should cost little. The text
 * lives until the process ends.
 */
static char *served_text;
static size_t served_length;
static pthread_once_t served_once = PTHREAD_ONCE_INIT;

static void make_served_text(void)
{
	json_t *document = openapi_document(app_router());
	served_text = json_to_text(document, &served_length);
	json_decref(document);
}

static void handle_openapi(struct request *req, struct response *res)
{
	(void)req;
	pthread_once(&served_once, make_served_text);
	response_set_static_body(res, HTTP_OK, "application/json", served_text, served_length);
	response_set_header(res, "Cache-Control", "no-cache");
}

void openapi_routes_register(struct router *router)
{
	router_add(router, "GET", "/api/v1/openapi.json", handle_openapi, ROUTE_PUBLIC);
}
