/*
 * meta.h - GET /api/v1/meta: what the API serves, derived from the registered resource
 * descriptors (resource.h) and registry.h, for clients that build forms and lists from
 * it (the web UI reads its enums and field lists here instead of copying them).
 *
 *   {"resources": [{"name": "contacts", "singular": "contact", "path": "/api/v1/contacts",
 *                   "permission": "contacts", "owner_field": "owner_id" | null,
 *                   "fields": [{"name", "type", "flags": ["required", "filter", ...],
 *                               "max_length", "minimum", "maximum", "values",
 *                               "references", "members"}],
 *                   "filters": ["email", ..., "tag", "updated_since"],
 *                   "range_filters": [{"param": "since", "field": "occurred_at",
 *                                      "op": ">="}],
 *                   "sorts": ["id", "created_at", "updated_at", "email", ...],
 *                   "search": {"param": "q", "columns": [...]} | null,
 *                   "external_id": true | false,
 *                   "events": ["contact.created", ...],
 *                   "description": "..." | null}],
 *    "permissions": {"resources": [{"name", "description"}], "actions": [...],
 *                    "scopes": [...]},
 *    "roles": [{"name", "description", "builtin"}]}
 *
 * Field types and flags are lower-case words of the descriptor's enums (RESOURCE_FIELD_
 * NOCASE is "case_insensitive"); members a field does not have are left out. Every record
 * also has id, created_at, updated_at and version, which are not listed. Any authenticated
 * caller may read it; it sends an ETag (a hash of the answer) and answers 304 to an
 * If-None-Match that names it.
 */
#ifndef CRM_META_H
#define CRM_META_H

#include <jansson.h>

struct router;
struct resource;

/* The entry of `resource` in the "resources" array above: a new reference. */
json_t *meta_resource_json(const struct resource *resource);

/* Registers GET /api/v1/meta. */
void meta_routes_register(struct router *router);

#endif
