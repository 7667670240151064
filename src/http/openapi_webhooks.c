/*
 * openapi_webhooks.c - the "webhooks" section of the OpenAPI document (openapi_webhooks.h):
 * for every event name the server emits, the POST a receiver gets. It follows what
 * webhook_delivery.c sends (its headers, the timestamp inside X-CRM-Signature, the 2xx
 * it counts as delivered) and what the emitters put into "data" and "previous".
 */
#define _POSIX_C_SOURCE 200809L
#include "crm/openapi_webhooks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crm/buf.h"
#include "crm/registry.h"
#include "crm/webhook_delivery.h"
#include "crm/webhooks.h"
#include "http/openapi_internal.h"
#include "crm/banned.h"

/* The record schema of the entity `event` starts with ("contact." -> Contact) when the
 * document has it, else a plain object. New reference. */
static json_t *record_schema(const json_t *schemas, const char *event)
{
	char *entity = xstrndup(event, strcspn(event, "."));
	struct buf name = BUF_INIT;
	openapi_add_pascal_case(&name, entity);
	free(entity);
	json_t *schema = name.len && json_object_get(schemas, name.data)
			     ? openapi_ref("schemas", name.data)
			     : json_pack("{s:s, s:s}", "type", "object", "description",
					 "the record as GET shows it");
	buf_release(&name);
	return schema;
}

static bool has_suffix(const char *text, const char *suffix)
{
	size_t length = strlen(text), suffix_length = strlen(suffix);
	return length >= suffix_length && strcmp(text + length - suffix_length, suffix) == 0;
}

/* The schema of the payload's "data" for `event`. New reference. */
static json_t *data_schema(const json_t *schemas, const char *event)
{
	if (strcmp(event, "contact.merged") == 0)
		return json_pack(
		    "{s:s, s:s, s:[s,s,s], s:{s:o, s:{s:s, s:o, s:s}, s:{s:s, s:{s:s, s:{s:s}}, "
		    "s:s}}}",
		    "type", "object", "description",
		    "The kept contact after the merge, the contacts merged into it (as they "
		    "were; they are gone now) and the ids of the records moved to it, by kind.",
		    "required", "contact", "merged", "moved", "properties", "contact",
		    record_schema(schemas, event), "merged", "type", "array", "items",
		    record_schema(schemas, event), "description",
		    "the merged contacts, deleted by the merge", "moved", "type", "object",
		    "additionalProperties", "type", "array", "items", "type", "integer",
		    "description",
		    "interactions, opportunities, purchases, tasks and segments: the ids moved "
		    "to the kept contact");
	if (strcmp(event, "contact.erased") == 0)
		return json_pack("{s:s, s:s, s:[s,s], s:b, s:{s:{s:s}, s:{s:s, s:s}}}", "type",
				 "object", "description",
				 "Only the id and the time, nothing personal: erase your copies "
				 "of this contact too.",
				 "required", "id", "erased_at", "additionalProperties", 0,
				 "properties", "id", "type", "integer", "erased_at", "type",
				 "string", "format", "date-time");
	if (strcmp(event, "segment.member_added") == 0 ||
	    strcmp(event, "segment.member_removed") == 0)
		return json_pack("{s:s, s:[s,s], s:b, s:{s:{s:s}, s:{s:s}}}", "type", "object",
				 "required", "segment_id", "contact_id", "additionalProperties", 0,
				 "properties", "segment_id", "type", "integer", "contact_id",
				 "type", "integer");
	json_t *schema = record_schema(schemas, event);
	if (has_suffix(event, ".deleted"))
		json_object_set_new(schema, "description",
				    json_string("the record as it was before the delete"));
	return schema;
}

/* The schema of "previous" for `event`, or NULL when its payloads have none. */
static json_t *previous_schema(const char *event)
{
	if (strcmp(event, "opportunity.stage_changed") == 0)
		return json_pack("{s:s, s:s, s:[s], s:{s:{s:s}}}", "type", "object", "description",
				 "the stage the opportunity left", "required", "stage",
				 "properties", "stage", "type", "string");
	if (has_suffix(event, ".updated"))
		return json_pack("{s:s, s:s}", "type", "object", "description",
				 "The former values of the members that changed (updated_at and "
				 "version left out); null for a member the record did not have.");
	return NULL;
}

/* The body of a delivery of `event`: payload_new() in webhooks_store.c (new reference). */
static json_t *payload_schema(const json_t *schemas, const char *event)
{
	json_t *required = json_pack("[s,s,s,s]", "id", "event", "occurred_at", "data");
	json_t *properties = json_pack(
	    "{s:{s:s, s:s}, s:{s:s, s:s}, s:{s:s, s:s, s:s}, s:o}", "id", "type", "integer",
	    "description",
	    "The event's id: the same in every delivery of this event (to every endpoint, "
	    "on every retry), so receivers can drop duplicates.",
	    "event", "type", "string", "const", event, "occurred_at", "type", "string", "format",
	    "date-time", "description", "when the change was made (RFC 3339 UTC)", "data",
	    data_schema(schemas, event));
	json_t *previous = previous_schema(event);
	if (previous) {
		json_array_append_new(required, json_string("previous"));
		json_object_set_new(properties, "previous", previous);
	}
	return json_pack("{s:s, s:o, s:b, s:o}", "type", "object", "required", required,
			 "additionalProperties", 0, "properties", properties);
}

/* A required header parameter; steals `schema`. New reference. */
static json_t *header_parameter(const char *name, const char *description, json_t *schema)
{
	return json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name, "in", "header", "required", 1,
			 "description", description, "schema", schema);
}

/* The headers webhook_delivery.c sends (Content-Type is the request body's media type),
 * as header parameters (new reference). */
static json_t *delivery_headers(const char *event)
{
	return json_pack(
	    "[o,o,o,o]",
	    header_parameter("X-CRM-Event", "The event name, as in the payload.",
			     json_pack("{s:s, s:s}", "type", "string", "const", event)),
	    header_parameter("X-CRM-Delivery",
			     "The delivery's id (GET /api/v1/webhooks/{id}/deliveries/"
			     "{delivery_id}); the same on retries and redeliveries.",
			     json_pack("{s:s, s:i}", "type", "integer", "minimum", 1)),
	    header_parameter(
		"X-CRM-Signature",
		"t=<unix time of the attempt>,v1=<hex HMAC-SHA256 of \"<t>.<raw body>\" "
		"keyed with the endpoint's secret>. The timestamp is part of the signed "
		"text (there is no separate timestamp header): recompute the HMAC over the "
		"raw body, compare in constant time, and refuse a t far from now.",
		json_pack("{s:s, s:s, s:[s]}", "type", "string", "pattern",
			  "^t=[0-9]+,v1=[0-9a-f]{64}$", "examples",
			  "t=1767225600,v1="
			  "5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")),
	    header_parameter("User-Agent", "crmd/<version>",
			     json_pack("{s:s, s:s}", "type", "string", "pattern", "^crmd/")));
}

/* The "post" of `event`: operationId webhook<Event><Name> (new reference). */
static json_t *webhook_operation(const json_t *schemas, const char *event)
{
	struct buf operation_id = BUF_INIT, summary = BUF_INIT;
	buf_adds(&operation_id, "webhook");
	openapi_add_pascal_case(&operation_id, event);
	buf_addf(&summary, "The %s event, POSTed to the endpoints subscribed to it", event);
	json_t *operation = json_pack(
	    "{s:s, s:s, s:s, s:[s], s:o, s:{s:b, s:{s:{s:o}}}, s:{s:{s:s}, s:{s:s}}}",
	    "operationId", operation_id.data, "summary", summary.data, "description",
	    "Sent by crmd's delivery thread after the change commits, to every active endpoint "
	    "whose events name it (or \"<entity>.*\" or \"*\"). No redirects are followed; an "
	    "answer other than 2xx, or none within " OPENAPI_STRINGIFY(
		WEBHOOK_DELIVERY_TIMEOUT_SECONDS) " seconds, is retried with growing "
						  "delays until the retry window ends, so the same "
						  "event may arrive more than once.",
	    "tags", "webhooks", "parameters", delivery_headers(event), "requestBody", "required", 1,
	    "content", "application/json", "schema", payload_schema(schemas, event), "responses",
	    "2XX", "description", "Received: the delivery is done (the answer's body is ignored).",
	    "default", "description", "Not received: the delivery is retried.");
	/* not unauthenticated: the receiver checks the signature (a security scheme) */
	json_object_set_new(operation, "security", json_pack("[{s:[]}]", "webhookSignature"));
	buf_release(&operation_id);
	buf_release(&summary);
	return operation;
}

json_t *openapi_webhooks(const json_t *schemas)
{
	json_t *webhooks = json_object(), *events = registry_events_json(), *event;
	size_t i;
	json_array_foreach(events, i, event)
		json_object_set_new(webhooks, json_string_value(event),
				    json_pack("{s:o}", "post",
					      webhook_operation(schemas, json_string_value(event))));
	json_decref(events);
	return webhooks;
}
