/*
 * openapi_webhooks.h - the top-level "webhooks" section of the OpenAPI 3.1 document: one
 * POST operation per event name (registry.h), describing the request the
 * delivery thread (webhook_delivery.c) sends: the signed headers, the payload
 * {id, event, occurred_at, data, previous} and the 2xx answer it expects.
 */
#ifndef CRM_OPENAPI_WEBHOOKS_H
#define CRM_OPENAPI_WEBHOOKS_H

#include <jansson.h>

/*
 * The "webhooks" object (new reference). `schemas` (borrowed) is components.schemas as
 * built so far: an event's data refers to its resource's record schema (Contact, ...)
 * when that schema is there, else it is described as a plain object.
 */
json_t *openapi_webhooks(const json_t *schemas);

#endif
